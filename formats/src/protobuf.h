/* protobuf.h - a bounds-checked reader of protobuf wire format (internal to lq_formats).
 *
 * Wire format: a message is a sequence of fields, each a varint tag (field number << 3 |
 * wire type) followed by a value: 0 varint, 1 fixed 64 bits, 2 varint length + bytes,
 * 3/4 start/end of a (deprecated) group, 5 fixed 32 bits. Nothing is trusted: every read
 * checks the bytes left, varints are at most 10 bytes, lengths must fit in what remains.
 */
#ifndef LQ_PROTOBUF_H
#define LQ_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

enum lqi_pb_wire {
    LQI_PB_VARINT = 0,
    LQI_PB_FIXED64 = 1,
    LQI_PB_LEN = 2,
    LQI_PB_GROUP_START = 3,
    LQI_PB_GROUP_END = 4,
    LQI_PB_FIXED32 = 5,
};

/* A window over one message. `base` is the start of the whole file, so messages can give
 * absolute offsets; `name` names the file in messages. */
struct lqi_pb {
    const unsigned char *p;
    const unsigned char *end;
    const unsigned char *base;
    const char *name;
};

/* A field's tag and, for wire type LEN, its bytes as a sub-reader; for VARINT, FIXED32 and
 * FIXED64 the raw value in `u` (fixed values little-endian decoded). */
struct lqi_pb_field {
    uint32_t number;
    enum lqi_pb_wire wire;
    uint64_t offset; /* of the tag, from base */
    uint64_t u;
    struct lqi_pb sub;
};

static inline int lqi_pb_at_end(const struct lqi_pb *r)
{
    return r->p >= r->end;
}

/* Reads the next field; groups are skipped whole (and reported with wire GROUP_START).
 * Fails with LQ_E_FORMAT naming the file and offset on truncation, overlong varints, field
 * number 0, wire types 6/7 or an unmatched group end. */
lq_status lqi_pb_next(struct lqi_pb *r, struct lqi_pb_field *f, struct lq_error *err);

#endif

/* pytorch_impl.h - the two halves of the PyTorch checkpoint reader (internal to lq_formats):
 * a zip central-directory reader over a memory map, and a safe, whitelisting unpickler. */
#ifndef LQ_PYTORCH_IMPL_H
#define LQ_PYTORCH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

// ---- zip ----

struct lqi_zip_member {
    char *name;            /* NUL-terminated copy */
    uint16_t method;       /* 0 stored, 8 deflated, ... */
    uint32_t crc32;
    uint64_t comp_size;
    uint64_t size;
    uint64_t data_offset;  /* of the member's (stored) bytes in the file */
};

struct lqi_zip {
    struct lqi_zip_member *m;
    int64_t n;
};

/* Reads the central directory (zip64 included) of a zip held in memory and locates every
 * member's data through its local header. Everything is bounds-checked against size;
 * encrypted members, multi-disk archives and members running past the end are format errors.
 * Messages name `name` and the offset. */
lq_status lqi_zip_read(const unsigned char *data, uint64_t size, const char *name,
                       struct lqi_zip *z, struct lq_error *err);
void lqi_zip_free(struct lqi_zip *z);

// ---- pickle ----

/* Storage element types, as torch names them (torch.<Name>Storage). */
enum lqi_pt_storage_type {
    LQI_PT_ST_FLOAT, LQI_PT_ST_DOUBLE, LQI_PT_ST_HALF, LQI_PT_ST_BFLOAT16, LQI_PT_ST_LONG,
    LQI_PT_ST_INT, LQI_PT_ST_SHORT, LQI_PT_ST_CHAR, LQI_PT_ST_BYTE, LQI_PT_ST_BOOL,
    LQI_PT_ST_COUNT
};

#define LQI_PT_MAX_DIMS 8

/* One tensor of the state dict, as the pickle describes it. Strings point into the pickle
 * bytes (not NUL-terminated). */
struct lqi_pt_record {
    const char *name;
    size_t name_len;
    int storage_type;      /* enum lqi_pt_storage_type */
    const char *key;       /* storage key: the member archive/data/<key> */
    size_t key_len;
    uint64_t storage_numel;
    int64_t offset;        /* storage offset, in elements */
    uint32_t n_dims;
    int64_t shape[LQI_PT_MAX_DIMS];
    int64_t stride[LQI_PT_MAX_DIMS];
    uint64_t pickle_offset; /* of the dict entry's key, for messages */
};

/* Runs data.pkl through the safe unpickler and returns the state dict's tensors in insertion
 * order (*recs: lqi_malloc'd, *n entries). Only the whitelisted opcodes and globals are
 * accepted; nothing is ever executed. The top-level object must be a dict (or OrderedDict)
 * of str -> tensor. Errors name `name`, the offset, and the opcode or global. */
lq_status lqi_pt_unpickle(const unsigned char *pkl, size_t size, const char *name,
                          struct lqi_pt_record **recs, int64_t *n, struct lq_error *err);

#endif

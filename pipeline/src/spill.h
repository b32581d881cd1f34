/* spill.h - an anonymous scratch file beside a job's output: quantized tensors that must wait
 * for the output to be written go to disk instead of memory, so a job's peak memory is one
 * layer's, not the whole output's. The file is unlinked as soon as it is made: nothing is
 * left behind, whatever happens to the process. */
#ifndef LQ_PIPELINE_SPILL_H
#define LQ_PIPELINE_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

struct lqp_spill {
    int fd;        /* -1 until the first lqp_spill_put */
    uint64_t size; /* bytes written so far */
    char dir[4096];
    void *buf; /* lqp_spill_get's buffer */
    size_t buf_cap;
};

/* A spill for the output `out_path`: its file goes into the same folder (the same file
 * system, whose free space the output needs anyway), made on first use. */
lq_status lqp_spill_init(struct lqp_spill *s, const char *out_path, struct lq_error *err);

/* Appends n bytes; *offset receives where they went. */
lq_status lqp_spill_put(struct lqp_spill *s, const void *data, size_t n, uint64_t *offset,
                        struct lq_error *err);

/* Reads n bytes at offset into the spill's buffer, valid until the next get. */
lq_status lqp_spill_get(struct lqp_spill *s, uint64_t offset, size_t n, const void **data,
                        struct lq_error *err);

void lqp_spill_close(struct lqp_spill *s);

#endif

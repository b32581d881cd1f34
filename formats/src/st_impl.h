/* st_impl.h - the safetensors handle, shared by safetensors.c and st_header.c. */
#ifndef LQ_ST_IMPL_H
#define LQ_ST_IMPL_H

#include "lq/safetensors.h"

#include "file_map.h"

struct lqi_st_name {
    const char *name;
    int64_t id;
};

struct lq_st {
    char *path;                 /* or the name given to lq_st_open_memory */
    struct lqi_file_map map;    /* zeroed for memory input */
    const unsigned char *bytes; /* the whole file */
    uint64_t size;
    uint64_t header_size;              /* N */
    struct lq_st_tensor_info *tensors; /* n_tensors, sorted into data order after parsing */
    int64_t n_tensors;
    struct lqi_st_name *by_name; /* n_tensors, sorted by name, for lookups */
    char **meta;                 /* 2 * n_meta: key, value, key, ... sorted by key */
    int64_t n_meta;
};

/* Parses the JSON header (bytes 8 .. 8+N) into st->tensors (in JSON order, with shape,
 * dtype, data_offsets and nbytes checked per tensor) and st->meta_* (sorted by key).
 * Does not check the layout of the data buffer. */
lq_status lqi_st_parse_header(lq_st *st, struct lq_error *err);

#endif

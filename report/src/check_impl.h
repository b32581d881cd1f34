/* check_impl.h - the baseline as loaded (check_baseline.c), read by check_compare.c. */
#ifndef LQ_CHECK_IMPL_H
#define LQ_CHECK_IMPL_H

#include "lq/check.h"

struct bl_tensor {
    const char *name; /* borrowed from the JSON document */
    enum lq_type type;
    bool has_rmse;
    double rmse, rel_rmse;
    uint64_t xxh3;
};

struct bl_type {
    char name[64]; /* canonical job name */
    bool deterministic;
    struct lq_check_tolerance tol;
    double ppl, dppl, mean_kld, top1;
    struct bl_tensor *tensors;
    int64_t n_tensors;
};

struct lq_baseline {
    char *path;
    void *doc; /* json_t: owns the strings tensors borrow */
    int64_t n_tensors;
    uint64_t xxh3;
    int64_t n_ctx, n_chunks;
    uint64_t tokens_xxh3;
    const char *text;
    struct bl_type *types;
    int64_t n_types;
};

#endif

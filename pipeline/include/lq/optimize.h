/*
 * lq/optimize.h - the most accurate GGUF that fits a size: each block tensor's type chosen by
 * its measured effect on the output distribution (`quant optimize`).
 *
 * Method (the cost model):
 *  1. Output-error energy. Calibration text runs through the model; for every block weight
 *     W of a layer, with H = 2 X^T X / n the Hessian of its inputs, each candidate type's
 *     quantization Q(W) (GPTQ where GPTQ can target the type and params ask for it, else
 *     llama.cpp's rounding with diag(H) as importance) gets the energy
 *     E(type) = sum over rows r of (W - Q(W))_r H (W - Q(W))_r^T, the squared error the
 *     layer's output takes on the calibration inputs. token_embd and output (no Hessian)
 *     use sum (W - Q(W))^2.
 *  2. KLD response. One probe per tensor: only that tensor is quantized (probe type,
 *     llama.cpp's rounding with diag(H) importance) and the mean KL divergence of the whole
 *     model's next-token distributions against the unquantized model is measured on
 *     kld_chunks chunks of the calibration text. alpha = KLD_probe / E(probe).
 *  3. Predicted cost of a tensor in a type: alpha * E(type); a plan's predicted KLD is the
 *     sum over tensors (additivity, checked by measuring whole files).
 * Optional validation measures every tensor's single-tensor KLD in other types too and gives
 * Spearman's rank correlation of predicted against measured (and of E alone).
 *
 * The allocation is lq_opt_solve (lq/opt_solve.h) on these costs; the plan (tensor -> type,
 * predicted and measured cost, the calibration that GPTQ is to use) is written as JSON and
 * applied by lq_opt_plan_apply, the one writer both `quant optimize` and `quant quantize
 * --plan` call, so a plan reproduces its file byte for byte (same threads).
 */
#ifndef LQ_OPTIMIZE_H
#define LQ_OPTIMIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gptq.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_OPT_MAX_TYPES 24
#define LQ_OPT_MAX_CHECKS 4

/* Where a run is, for a progress bar: stage "reference", "energy", "response", "validate",
 * "gptq", "write"; done of total units. */
typedef void (*lq_opt_progress_fn)(void *user, const char *stage, int64_t done, int64_t total);

struct lq_opt_params {
    enum lq_type types[LQ_OPT_MAX_TYPES]; /* candidates; n_types 0: lq_opt_default_types */
    int n_types;
    bool gptq;                 /* GPTQ rounding (else llama.cpp's, diag(H) importance) */
    struct lq_gptq_params gp;  /* damp, act_order, n_threads (also the model's threads) */
    int64_t calib_ctx;         /* chunk length of the calibration text */
    int64_t calib_tokens;      /* tokens behind the Hessians (whole chunks, at least one) */
    int64_t kld_chunks;        /* chunks the KLD responses are measured on */
    enum lq_type checks[LQ_OPT_MAX_CHECKS]; /* validation types (single-tensor KLD of each) */
    int n_checks;
    const char *work_dir;      /* caches (reference log-probs); NULL: a temporary folder */
    lq_opt_progress_fn on_progress;
    void *user;
};

/* GPTQ on, lq_gptq_params_default(), chunks of 512, 4096 tokens, 4 KLD chunks, default
 * types, no checks. */
LQ_API struct lq_opt_params lq_opt_params_default(void);

/* The default candidates: every quantized type libquant writes and llama.cpp runs, from the
 * type table, except the ternary TQ1_0/TQ2_0 and MXFP4 (formats for models trained for
 * them). Returns how many were written (at most cap). */
LQ_API int lq_opt_default_types(enum lq_type *out, int cap);

/* One tensor the optimizer chooses a type for. */
struct lq_opt_tensor {
    char name[96];
    int64_t rows, cols;
    int n_types;
    enum lq_type types[LQ_OPT_MAX_TYPES]; /* the candidates that fit its row length */
    uint64_t bytes[LQ_OPT_MAX_TYPES];
    double energy[LQ_OPT_MAX_TYPES];
    double cost[LQ_OPT_MAX_TYPES];        /* predicted KLD: alpha * energy */
    enum lq_type probe_type;
    double probe_energy, probe_kld, alpha;
    double check_energy[LQ_OPT_MAX_CHECKS], check_kld[LQ_OPT_MAX_CHECKS];
};

struct lq_opt_table {
    int64_t n;
    struct lq_opt_tensor *t;
    double base_kld; /* KLD of the unquantized model against itself (the floor, ~0) */
    int n_checks;
    enum lq_type checks[LQ_OPT_MAX_CHECKS];
    double rho_cost[LQ_OPT_MAX_CHECKS];   /* Spearman: predicted cost vs measured KLD */
    double rho_energy[LQ_OPT_MAX_CHECKS]; /* Spearman: energy alone vs measured KLD */
    double seconds;
};

/* Measures the cost table of the model at model_path (GGUF F16/F32/BF16 or a checkpoint
 * lq_model_open_path reads) on calibration text calib_path. */
LQ_API lq_status lq_opt_measure(const char *model_path, const char *calib_path,
                                const struct lq_opt_params *p, struct lq_opt_table *out,
                                struct lq_error *err);
LQ_API void lq_opt_table_free(struct lq_opt_table *t);

/* The table as JSON with the settings it was measured with (the work folder's cache), and
 * back: read gives LQ_E_NOT_FOUND when the file is missing or was measured with other
 * settings (model, calibration, candidates, GPTQ options), LQ_E_FORMAT when it is bad. */
LQ_API lq_status lq_opt_table_write(const struct lq_opt_table *t, const char *path,
                                    const char *model_path, const char *calib_path,
                                    const struct lq_opt_params *p, struct lq_error *err);
LQ_API lq_status lq_opt_table_read(const char *path, const char *model_path,
                                   const char *calib_path, const struct lq_opt_params *p,
                                   struct lq_opt_table *t, struct lq_error *err);

/* Spearman's rank correlation of x and y (average ranks for ties); 0 for n < 2. */
LQ_API double lq_opt_spearman(const double *x, const double *y, int64_t n);

// ---- plans --------------------------------------------------------------------------------

struct lq_opt_plan_tensor {
    char name[96];
    enum lq_type type;
    uint64_t bytes;
    double predicted_kld; /* this tensor's predicted contribution */
    enum lq_type probe_type;
    double measured_kld;  /* its measured single-tensor KLD at probe_type (0: not measured) */
};

struct lq_opt_plan {
    char *model, *calib;    /* as given; calib is what GPTQ (or the Hessians) read */
    int64_t calib_ctx, calib_tokens;
    bool gptq;
    bool act_order;
    float damp;
    uint64_t target_bytes;  /* the budget */
    bool target_is_bpw;     /* the budget counts tensor bytes only (--target-bpw) */
    double target_bpw;
    uint64_t bytes;         /* the planned file's size (metadata included) */
    double predicted_kld;
    int64_t n;
    struct lq_opt_plan_tensor *t;
};

/* Solves the allocation for a budget: target_bytes of file (metadata and every tensor), or
 * with bpw > 0 bpw bits per weight over all tensors' elements (tensor bytes only, metadata
 * not counted). Fills plan (its model and calib copied from the arguments). A budget below
 * the smallest candidate file is LQ_E_RANGE naming the minimum possible size. */
LQ_API lq_status lq_opt_plan_make(const struct lq_opt_table *t, const char *model_path,
                                  const char *calib_path, const struct lq_opt_params *p,
                                  uint64_t target_bytes, double bpw, struct lq_opt_plan *plan,
                                  struct lq_error *err);

/* Writes the planned GGUF: the plan's types, GPTQ (or rounding with diag(H) importance) on
 * the plan's calibration, the plan in the metadata (key libquant.plan, compact JSON of what
 * decides the bytes). n_threads as in lq_gptq_params. */
LQ_API lq_status lq_opt_plan_apply(const struct lq_opt_plan *plan, const char *model_path,
                                   const char *out_path, int n_threads,
                                   lq_opt_progress_fn on_progress, void *user,
                                   struct lq_error *err);

/* The plan as JSON (written atomically) and back; read checks every key and type. */
LQ_API lq_status lq_opt_plan_write(const struct lq_opt_plan *plan, const char *path,
                                   struct lq_error *err);
LQ_API lq_status lq_opt_plan_read(const char *path, struct lq_opt_plan *plan,
                                  struct lq_error *err);
/* The plan JSON as a string (caller frees with free()); compact: only what decides the
 * file's bytes (the metadata value). */
LQ_API char *lq_opt_plan_json(const struct lq_opt_plan *plan, bool compact);
LQ_API void lq_opt_plan_free(struct lq_opt_plan *plan);

#ifdef __cplusplus
}
#endif
#endif /* LQ_OPTIMIZE_H */

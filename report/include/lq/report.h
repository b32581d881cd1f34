/*
 * lq/report.h - the size/accuracy trade-off of a model's quantizations, measured in one run.
 *
 * Lifecycle: lq_report_open() (prepares the reference: a GGUF model is used as it is, any
 * other checkpoint is converted to F16 first; the text is tokenized with the reference's
 * vocabulary) -> lq_report_add() per job -> lq_report_run() -> the writers and getters ->
 * lq_report_free().
 *
 * lq_report_run() evaluates the reference once, saving its distributions to a log-prob file
 * in the work folder, then for each job: makes the job's GGUF file (a llama.cpp file type is
 * quantized from the reference with lq_convert_run; an existing file is taken as given),
 * measures every tensor against the reference's (RMSE, relative RMSE, max error, XXH3-64 of
 * the stored bytes), and evaluates it against the saved distributions (PPL, KL divergence,
 * top-1 agreement, RMS Δp) exactly as `quant eval --compare` does.
 *
 * Jobs are named by llama.cpp's file types ("q8_0", "q4_k_m", ...) or "gptq-" and a file type
 * GPTQ can fill ("gptq-q4_k_m", "gptq-q4_0"; "gptq4" means "gptq-q4_k_m"): the same recipe and
 * tensor types, every block weight quantized with sequential GPTQ on the calibration text
 * (lq/gptq_gguf.h; its quantize time includes the calibration). Each kind of job is one row
 * of the job table in report_jobs.c, so a new kind (another quantization algorithm) is added
 * there and nowhere else.
 *
 * A handle is not thread-safe. Returned pointers are borrowed until lq_report_free().
 */
#ifndef LQ_REPORT_H
#define LQ_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/metrics.h"
#include "lq/quantize.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a run is (for a progress bar): `done` of `total` work units, where one unit is one
 * evaluated chunk and quantizing a model counts as half of its evaluation. */
struct lq_report_progress {
    int64_t done, total;
    const char *stage; /* "reference", "quantize", "measure", "eval" */
    const char *job;   /* the job's name ("q4_k_m"), or the reference's */
    int64_t job_index; /* 0 for the reference, 1.. for the jobs */
    int64_t n_jobs;
};

struct lq_report_params {
    const char *model;    /* MODEL: a GGUF file (used as the reference) or any checkpoint
                             lq_source_open reads (converted to F16 as the reference) */
    const char *text;     /* evaluation text */
    int64_t n_ctx;        /* chunk length (default 512) */
    int64_t n_chunks;     /* most chunks to evaluate; <= 0: all */
    int n_threads;        /* quantization and forward-pass threads; <= 0: all cores */
    const char *work_dir; /* where job files go; kept. NULL: a temporary folder, removed by
                             lq_report_free() */
    const char *imatrix;  /* importance matrix for the file-type jobs; NULL: none */
    const char *calib;    /* calibration text for the GPTQ jobs ("gptq-q4_k_m"); needed
                             before such a job is added */
    int64_t calib_ctx;    /* its chunk length (default 512) */
    int64_t calib_tokens; /* calibration tokens used, rounded down to chunks (default 4096) */
    void (*on_progress)(void *user, const struct lq_report_progress *p);
    void *user;
};

/* Defaults: n_ctx 512, all chunks, all cores, a temporary work folder, no calibration text
 * (calib_ctx 512, calib_tokens 4096). */
LQ_API struct lq_report_params lq_report_params_default(void);

/* What identifies the reference model and the evaluated text: a baseline recorded on
 * another model or text is refused by comparing these. */
struct lq_report_model {
    const char *path; /* the reference GGUF file */
    int64_t n_tensors;
    int64_t n_params;
    uint64_t xxh3;          /* XXH3-64 over every tensor's name, type, shape and data */
    int64_t n_ctx, n_chunk; /* chunks that will be evaluated */
    int64_t n_tokens;       /* tokens of the whole text */
    uint64_t tokens_xxh3;   /* XXH3-64 of the evaluated tokens (int32 little-endian) */
};

/* One tensor of a job's file, measured against the reference's tensor of the same name. */
struct lq_report_tensor {
    const char *name;
    enum lq_type type;
    int64_t n_elements;
    size_t nbytes;
    uint64_t xxh3;               /* XXH3-64 of the stored bytes */
    bool compared;               /* a reference tensor of the same shape exists */
    struct lq_quant_stats stats; /* error against the reference's values */
};

/* One row of the report: the reference (kind "base") or a job. */
struct lq_report_entry {
    const char *name; /* "q4_k_m"; the reference's file type ("f16") */
    const char *kind; /* "base", "ftype", "gptq", "file" */
    const char *path; /* the GGUF file evaluated (gone after free unless kept) */
    uint64_t file_bytes;
    uint64_t data_bytes; /* tensor data only */
    int64_t n_params;
    double bpw;              /* data_bytes * 8 / n_params */
    double quantize_seconds; /* 0 when the file was given */
    struct lq_eval_result eval;
    double dppl; /* eval.ppl - the reference's PPL */
    const struct lq_report_tensor *tensors;
    int64_t n_tensors;
    int64_t worst[3]; /* tensor indices by decreasing relative RMSE; -1: none */
    bool done;
};

typedef struct lq_report lq_report;

/* Prepares the reference and tokenizes the text (no evaluation yet). On failure *out is NULL
 * and err names the file and the problem. */
LQ_API lq_status lq_report_open(const struct lq_report_params *p, lq_report **out,
                                struct lq_error *err);

/* Adds a job by name (case-insensitive: "q8_0", "Q4_K_M"). LQ_E_INVALID_ARG naming the job
 * and listing the known names when no kind of job recognises it, or when it needs the
 * calibration text and params.calib was NULL. */
LQ_API lq_status lq_report_add(lq_report *r, const char *job, struct lq_error *err);

/* Adds an existing GGUF file of the same model as a job (named by its file name). */
LQ_API lq_status lq_report_add_file(lq_report *r, const char *path, struct lq_error *err);

/* Comma-separated names lq_report_add() accepts, for help texts. */
LQ_API const char *lq_report_job_names(void);

/* Evaluates the reference (once per handle) and every job not run yet. */
LQ_API lq_status lq_report_run(lq_report *r, struct lq_error *err);

LQ_API const struct lq_report_model *lq_report_get_model(const lq_report *r);
LQ_API const char *lq_report_text_path(const lq_report *r);
LQ_API const struct lq_report_entry *lq_report_base(const lq_report *r);
LQ_API int64_t lq_report_n_entries(const lq_report *r); /* jobs, in the order added */
LQ_API const struct lq_report_entry *lq_report_entry(const lq_report *r, int64_t i);
/* The entry named name, or NULL. */
LQ_API const struct lq_report_entry *lq_report_find(const lq_report *r, const char *name);

/* The outputs (see README.md): a Markdown table, every number as JSON, the chart of bits per
 * weight against KLD as SVG, the per-tensor relative RMSE of every type as an SVG heat map
 * (layer by tensor kind), and one HTML page with the table and both figures. Each file is
 * written to a temporary name and renamed when complete. */
LQ_API lq_status lq_report_write_md(const lq_report *r, const char *path, struct lq_error *err);
LQ_API lq_status lq_report_write_json(const lq_report *r, const char *path, struct lq_error *err);
LQ_API lq_status lq_report_write_svg(const lq_report *r, const char *path, struct lq_error *err);
LQ_API lq_status lq_report_write_tensors_svg(const lq_report *r, const char *path,
                                             struct lq_error *err);
LQ_API lq_status lq_report_write_html(const lq_report *r, const char *path, struct lq_error *err);

/* Frees the handle and removes a temporary work folder; accepts NULL. */
LQ_API void lq_report_free(lq_report *r);

#ifdef __cplusplus
}
#endif
#endif /* LQ_REPORT_H */

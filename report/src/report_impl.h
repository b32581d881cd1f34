/* report_impl.h - the report handle and what its source files share. */
#ifndef LQ_REPORT_IMPL_H
#define LQ_REPORT_IMPL_H

#include <stdio.h>

#include "lq/file_io.h"
#include "lq/report.h"

struct report_job;

/* A kind of job (report_jobs.c). */
/* Removes the optimizer's cache (cost table, reference log-probs) from an owned work
 * folder (report_optimize.c). */
void lqi_report_optimize_clean(lq_report *r);
/* The kind row of optimizer jobs ("opt@q4_k_m", "opt@3.5bpw"): report_optimize.c. */
extern const struct report_job_kind lqi_report_optimize_kind;

struct report_job_kind {
    const char *kind;
    /* Whether name (lower-case) is a job of this kind; fills *arg (kind-specific, e.g. the
     * ftype) and the job's canonical name ("q4_k" -> "q4_k_m"). NULL: not chosen by name. */
    bool (*parse)(const char *name, int *arg, char *canon, size_t cap);
    /* Whether the job needs the calibration text (lq_report_params.calib). */
    bool needs_calib;
    /* The names parse accepts, for help texts. */
    const char *(*names)(void);
    /* Writes the job's GGUF file to j->path and sets j->e.quantize_seconds; NULL when the
     * job names an existing file. */
    lq_status (*produce)(lq_report *r, struct report_job *j, struct lq_error *err);
};

struct report_job {
    const struct report_job_kind *kind;
    int arg;
    char *name;
    char *path;
    struct lq_report_tensor *tensors;
    lq_task_results *task_res; /* when the report scores a task file */
    struct lq_report_entry e;
};

struct lq_report {
    struct lq_report_params p;
    char *model_path, *text_path, *imatrix_path, *calib_path;
    char *work_dir;
    bool own_work_dir;
    char *base_path;   /* reference GGUF */
    char *logits_path; /* its saved distributions */
    bool base_converted;
    int32_t *tokens;
    struct lq_report_model model;
    struct report_job base;
    struct report_job *jobs;
    int64_t n_jobs, cap_jobs;
    int64_t units_done, units_total;
    lq_task_set *tasks; /* NULL: no task file */
    char *task_path;    /* copy of p.task_file (p.task_file points here) */
};

/* Task accuracy (report_tasks.c): reads the task file, scores one entry (after the
 * reference, so that jobs are paired with its outcomes). */
lq_status lqi_report_tasks_open(lq_report *r, struct lq_error *err);
lq_status lqi_report_tasks_score(lq_report *r, struct report_job *j, int64_t job_index,
                                 struct lq_error *err);

/* Jobs (report_jobs.c). */
const struct report_job_kind *lqi_report_find_kind(const char *name, int *arg, char *canon,
                                                   size_t cap);
extern const struct report_job_kind lqi_report_file_kind;

/* Progress (report_run.c). */
void lqi_report_progress(lq_report *r, const char *stage, const struct report_job *j,
                         int64_t job_index, int64_t units);

/* Measurement (report_measure.c). */
lq_status lqi_report_measure(const char *base_path, struct report_job *j, struct lq_error *err);
lq_status lqi_report_fingerprint(const char *path, struct lq_report_model *m, struct lq_error *err);

/* Text (report_text.c): the first n_ctx * n_chunk tokens' hash and counts. */
lq_status lqi_report_tokenize(lq_report *r, struct lq_error *err);

/* Output helpers (report_out.c): a stream over an lq_out (lq/file_io.h), so the file appears
 * complete under its name or not at all. */
struct report_out {
    FILE *f;
    lq_out *out;
    const char *path;
};
lq_status lqi_out_open(struct report_out *o, const char *path, struct lq_error *err);
lq_status lqi_out_close(struct report_out *o, struct lq_error *err);

/* Writes s with <, >, & and " escaped: safe in XML/HTML text and double-quoted attributes. */
void lqi_xml_escape(FILE *f, const char *s);
void lqi_out_abort(struct report_out *o); /* closes and removes the temporary file */
/* Renders the chart into a new string (report_svg.c). */
lq_status lqi_report_svg_string(const lq_report *r, char **out, struct lq_error *err);
/* Renders the per-tensor heat map into a new string (report_heat.c). */
lq_status lqi_report_heat_svg_string(const lq_report *r, char **out, struct lq_error *err);
/* Calls draw(f, ctx) on a memory stream; *out is what it wrote, a new string (free()). */
lq_status lqi_svg_render(void (*draw)(FILE *f, const void *ctx), const void *ctx, char **out,
                         struct lq_error *err);
/* Writes an SVG string as a standalone file (XML declaration first). */
lq_status lqi_svg_write(const char *svg, const char *path, struct lq_error *err);

/* Label placement (report_label.c). A box: top-left corner and size (pixels). */
struct lqi_box {
    double x, y, w, h;
};
struct lqi_label {
    double px, py, pr;  /* the point labelled: centre and radius */
    double w, h;        /* the label's size */
    struct lqi_box box; /* out: where it goes */
    bool leader;        /* out: far from its point, needs a leader line */
};
/* Places labels in order inside area, clear of each other, of every point and of avoid[]
 * where the room allows (else where they overlap least). */
void lqi_place_labels(struct lqi_label *ls, int n, const struct lqi_box *area,
                      const struct lqi_box *avoid, int n_avoid);
/* Where a leader line from the point meets the label's box. */
void lqi_leader_end(const struct lqi_label *l, double *x, double *y);
/* About how wide s is in a sans-serif font of font_px pixels (an upper estimate). */
double lqi_text_width(const char *s, double font_px);
/* Formats a hash as 16 lower-case hex digits. */
void lqi_hex64(uint64_t v, char out[17]);

#endif

/* report_jobs.c - the kinds of job a report runs. Each kind is one row of `kinds`: how its
 * names are recognised and how its GGUF file is made. A new quantization algorithm becomes
 * a report type by adding its row here. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lq/convert.h"
#include "lq/gptq.h"
#include "lq/gptq_gguf.h"
#include "lq/imatrix.h"
#include "lqi.h"
#include "report_impl.h"

// ---- llama.cpp file types (quantized from the reference by lq_convert_run) -----------------

static bool ftype_parse(const char *name, int *arg, char *canon, size_t cap)
{
    enum lq_ftype ft;
    if (lq_ftype_from_name(name, &ft, NULL) != LQ_OK) {
        return false;
    }
    *arg = (int)ft;
    snprintf(canon, cap, "%s", lq_ftype_name(ft));
    for (char *c = canon; *c; c++) {
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    return true;
}

/* "f32, f16, ..." from the file-type table, lower-case as report names them; with prefix
 * and only the types GPTQ can fill when gptq is set. */
static const char *names_from_table(char *buf, size_t cap, bool gptq)
{
    enum lq_ftype all[64];
    size_t n = lq_ftype_list(all, 64), off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 64 && off < cap; i++) {
        if (gptq && !lq_gptq_gguf_supported((enum lq_type)lq_ftype_default_type(all[i]))) {
            continue;
        }
        char lower[32];
        snprintf(lower, sizeof lower, "%s", lq_ftype_name(all[i]));
        for (char *c = lower; *c; c++) {
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        }
        off += (size_t)snprintf(buf + off, cap - off, "%s%s%s%s", off ? ", " : "",
                                gptq ? "gptq-" : "", lower,
                                gptq && all[i] == LQ_FTYPE_MOSTLY_Q4_K_M ? " (gptq4)" : "");
    }
    return buf;
}

static const char *ftype_names(void)
{
    static char buf[1024];
    return names_from_table(buf, sizeof buf, false);
}

struct quant_progress {
    lq_report *r;
    struct report_job *j;
    int64_t units, sent;
};

static void on_tensor(const struct lq_convert_tensor_report *t, void *user)
{
    struct quant_progress *q = user;
    int64_t due = t->n_tensors ? (t->index + 1) * q->units / t->n_tensors : q->units;
    int64_t job_index = q->j - q->r->jobs + 1;
    lqi_report_progress(q->r, "quantize", q->j, job_index, due - q->sent);
    q->sent = due;
}

static lq_status ftype_produce(lq_report *r, struct report_job *j, struct lq_error *err)
{
    struct lq_convert_params cp = lq_convert_params_default();
    cp.ftype = (enum lq_ftype)j->arg;
    cp.nthreads = r->p.n_threads;
    struct quant_progress q = {.r = r, .j = j, .units = (r->model.n_chunk + 1) / 2};
    cp.on_tensor = on_tensor;
    cp.on_tensor_user = &q;
    lq_imatrix *im = NULL;
    lq_source *src = NULL;
    struct lq_convert_summary sum = {0};
    lq_status s = r->imatrix_path ? lq_imatrix_load(r->imatrix_path, &im, err) : LQ_OK;
    cp.imatrix = im;
    cp.imatrix_path = r->imatrix_path;
    if (s == LQ_OK) {
        s = lq_source_open(r->base_path, &src, err);
    }
    if (s == LQ_OK) {
        s = lq_convert_run(src, j->path, &cp, &sum, err);
    }
    j->e.quantize_seconds = sum.seconds;
    lq_source_free(src);
    lq_imatrix_free(im);
    return s;
}

// ---- GPTQ into a file type's blocks (lq_gptq_gguf_file on the calibration text) -----------

/* "gptq-q4_k_m" (and "gptq4", the same): a file type whose default block type GPTQ fills. */
static bool gptq_parse(const char *name, int *arg, char *canon, size_t cap)
{
    const char *ft_name = strcmp(name, "gptq4") == 0       ? "q4_k_m"
                          : strncmp(name, "gptq-", 5) == 0 ? name + 5
                                                           : NULL;
    enum lq_ftype ft;
    if (!ft_name || lq_ftype_from_name(ft_name, &ft, NULL) != LQ_OK ||
        !lq_gptq_gguf_supported((enum lq_type)lq_ftype_default_type(ft))) {
        return false;
    }
    char lower[32];
    ftype_parse(ft_name, arg, lower, sizeof lower);
    snprintf(canon, cap, "gptq-%s", lower);
    return true;
}

static const char *gptq_names(void)
{
    static char buf[1024];
    names_from_table(buf, sizeof buf - 16, true);
    strcat(buf, " (with --calib)");
    return buf;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_gptq_weight(void *user, const struct lq_gptq_gguf_weight *w)
{
    struct quant_progress *q = user;
    int64_t due = w->n_weights ? (w->index + 1) * q->units / w->n_weights : q->units;
    due = due < q->units ? due : q->units;
    lqi_report_progress(q->r, "quantize", q->j, q->j - q->r->jobs + 1, due - q->sent);
    q->sent = due;
}

static lq_status gptq_produce(lq_report *r, struct report_job *j, struct lq_error *err)
{
    struct quant_progress q = {.r = r, .j = j, .units = (r->model.n_chunk + 1) / 2};
    struct lq_gptq_gguf_params gp = lq_gptq_gguf_params_default();
    gp.ftype = (enum lq_ftype)j->arg;
    gp.gp.n_threads = r->p.n_threads;
    gp.on_weight = on_gptq_weight;
    gp.user = &q;
    const double t0 = now_seconds();
    lq_status s = lq_gptq_gguf_file(r->base_path, r->calib_path, r->p.calib_ctx, r->p.calib_tokens,
                                    j->path, &gp, NULL, err);
    j->e.quantize_seconds = now_seconds() - t0;
    lqi_report_progress(r, "quantize", j, j - r->jobs + 1, q.units - q.sent);
    return s;
}

// ---- the table ------------------------------------------------------------------------------

static const struct report_job_kind kinds[] = {
    {.kind = "ftype", .parse = ftype_parse, .names = ftype_names, .produce = ftype_produce},
    {.kind = "gptq",
     .parse = gptq_parse,
     .needs_calib = true,
     .names = gptq_names,
     .produce = gptq_produce},
};

static const struct report_job_kind *const all_kinds[] = {&kinds[0], &kinds[1],
                                                          &lqi_report_optimize_kind};

/* Existing files (lq_report_add_file): nothing to make, not chosen by name. */
const struct report_job_kind lqi_report_file_kind = {.kind = "file"};

const struct report_job_kind *lqi_report_find_kind(const char *name, int *arg, char *canon,
                                                   size_t cap)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof all_kinds[0]; i++) {
        if (all_kinds[i]->parse(name, arg, canon, cap)) {
            return all_kinds[i];
        }
    }
    return NULL;
}

const char *lq_report_job_names(void)
{
    static char buf[1024];
    size_t off = 0;
    for (size_t i = 0; i < sizeof all_kinds / sizeof all_kinds[0] && off < sizeof buf; i++) {
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? ", " : "",
                                all_kinds[i]->names());
    }
    return buf;
}

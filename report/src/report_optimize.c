/* report_optimize.c - `quant optimize` as a report job: "opt@q4_k_m" is the optimizer's file at
 * the size llama.cpp's Q4_K_M recipe file of the reference would have, "opt@3.5bpw" at 3.5
 * bits per weight. The cost table is measured once per report and shared by its jobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lq/convert.h"
#include "lq/optimize.h"
#include "lqi.h"
#include "report_impl.h"

#define COSTS "optimize-costs.json"
#define REF_LOGITS "optimize-reference.logits"

/* "opt@q4_k_m" -> arg = the file type; "opt@3.5bpw" -> arg = -3500 (milli-bits). */
static bool optimize_parse(const char *name, int *arg, char *canon, size_t cap)
{
    if (strncmp(name, "opt@", 4) != 0) {
        return false;
    }
    const char *t = name + 4;
    enum lq_ftype ft;
    char *end = NULL;
    const double bpw = strtod(t, &end);
    if (end != t && strcmp(end, "bpw") == 0 && bpw >= 0.5 && bpw <= 32.0) {
        *arg = -(int)lround(bpw * 1000.0);
        snprintf(canon, cap, "opt@%gbpw", -*arg / 1000.0);
        return true;
    }
    if (lq_ftype_from_name(t, &ft, NULL) != LQ_OK || ft == LQ_FTYPE_ALL_F32) {
        return false;
    }
    *arg = (int)ft;
    snprintf(canon, cap, "opt@%s", lq_ftype_name(ft));
    for (char *c = canon; *c; c++) {
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    return true;
}

static const char *optimize_names(void)
{
    return "opt@FTYPE (the optimizer at that recipe's size), opt@Nbpw (with --calib)";
}

/* The size of the file llama.cpp's recipe for ft makes of the reference. */
static lq_status recipe_size(const char *base, enum lq_ftype ft, uint64_t *size,
                             struct lq_error *err)
{
    lq_source *src = NULL;
    LQ_TRY(lq_source_open(base, &src, err));
    const int64_t n = lq_source_n_tensors(src);
    enum lq_type *types = lqi_calloc((size_t)(n ? n : 1), sizeof *types);
    struct lq_convert_params cp = lq_convert_params_default();
    cp.ftype = ft;
    cp.importance_supplied = true; /* sizes only: an imatrix changes no tensor's type */
    int n_fallback = 0;
    lq_status rc = types ? lq_convert_plan(src, &cp, types, &n_fallback, err)
                         : lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    if (rc == LQ_OK) {
        rc = lq_convert_file_size(src, &cp, types, size, err);
    }
    lqi_free(types);
    lq_source_free(src);
    return rc;
}

static char *work_file(const lq_report *r, const char *name)
{
    const size_t n = strlen(r->work_dir) + strlen(name) + 2;
    char *p = lqi_malloc(n);
    if (p) {
        snprintf(p, n, "%s/%s", r->work_dir, name);
    }
    return p;
}

static lq_status cost_table(lq_report *r, const struct lq_opt_params *p, struct lq_opt_table *t,
                            struct lq_error *err)
{
    char *cache = work_file(r, COSTS);
    LQ_FAIL_IF(!cache, err, LQ_E_NOMEM, "out of memory");
    lq_status rc = lq_opt_table_read(cache, r->base_path, r->calib_path, p, t, NULL);
    if (rc != LQ_OK) {
        rc = lq_opt_measure(r->base_path, r->calib_path, p, t, err);
        if (rc == LQ_OK) {
            rc = lq_opt_table_write(t, cache, r->base_path, r->calib_path, p, err);
        }
    }
    lqi_free(cache);
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static lq_status optimize_produce(lq_report *r, struct report_job *j, struct lq_error *err)
{
    const double t0 = now_seconds();
    struct lq_opt_params p = lq_opt_params_default();
    p.calib_ctx = r->p.calib_ctx;
    p.calib_tokens = r->p.calib_tokens;
    p.gp.n_threads = r->p.n_threads;
    p.work_dir = r->work_dir;
    struct lq_opt_table t = {0};
    struct lq_opt_plan plan = {0};
    uint64_t target = 0;
    const double bpw = j->arg < 0 ? -j->arg / 1000.0 : 0.0;
    lq_status rc = j->arg >= 0 ? recipe_size(r->base_path, (enum lq_ftype)j->arg, &target, err)
                               : LQ_OK;
    if (rc == LQ_OK) {
        rc = cost_table(r, &p, &t, err);
    }
    if (rc == LQ_OK) {
        rc = lq_opt_plan_make(&t, r->base_path, r->calib_path, &p, target, bpw, &plan, err);
    }
    if (rc == LQ_OK) {
        rc = lq_opt_plan_apply(&plan, r->base_path, j->path, r->p.n_threads, NULL, NULL, err);
    }
    lq_opt_plan_free(&plan);
    lq_opt_table_free(&t);
    j->e.quantize_seconds = now_seconds() - t0;
    lqi_report_progress(r, "quantize", j, j - r->jobs + 1, (r->model.n_chunk + 1) / 2);
    return rc;
}

void lqi_report_optimize_clean(lq_report *r)
{
    if (!r->own_work_dir || !r->work_dir) {
        return;
    }
    const char *names[] = {COSTS, REF_LOGITS};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *p = work_file(r, names[i]);
        if (p) {
            unlink(p);
        }
        lqi_free(p);
    }
}

const struct report_job_kind lqi_report_optimize_kind = {.kind = "optimize",
                                                         .parse = optimize_parse,
                                                         .needs_calib = true,
                                                         .names = optimize_names,
                                                         .produce = optimize_produce};

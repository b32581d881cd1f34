/* report_run.c - the report handle: preparing the reference, adding jobs, running the
 * matrix (reference once, then quantize / measure / evaluate each job). */
#include "lq/report.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lq/convert.h"
#include "lq/file_io.h"
#include "lq/sniff.h"
#include "lqi.h"
#include "report_impl.h"

struct lq_report_params lq_report_params_default(void)
{
    struct lq_report_params p = {.n_ctx = 512, .calib_ctx = 512, .calib_tokens = 4096};
    return p;
}

// ---- work folder ----------------------------------------------------------------------------

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = lqi_malloc(n);
    if (s) {
        snprintf(s, n, "%s/%s", dir, name);
    }
    return s;
}

static lq_status make_work_dir(lq_report *r, struct lq_error *err)
{
    if (r->p.work_dir) {
        LQ_FAIL_IF(mkdir(r->p.work_dir, 0777) != 0 && errno != EEXIST, err, LQ_E_IO,
                   "report: cannot create %s: %s", r->p.work_dir, strerror(errno));
        r->work_dir = lqi_strdup(r->p.work_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        r->work_dir = path_join(tmp && *tmp ? tmp : "/tmp", "lq-report-XXXXXX");
        LQ_FAIL_IF(r->work_dir && !mkdtemp(r->work_dir), err, LQ_E_IO,
                   "report: cannot create a temporary folder %s: %s", r->work_dir, strerror(errno));
        r->own_work_dir = true;
        /* an interrupted report must not leave its quantized models behind */
        lq_tmp_register_dir(r->work_dir);
    }
    LQ_FAIL_IF(!r->work_dir, err, LQ_E_NOMEM, "out of memory");
    return LQ_OK;
}

static void remove_if_owned(const lq_report *r, const char *path)
{
    if (r->own_work_dir && path) {
        unlink(path);
    }
}

/* Removes what the handle wrote into a temporary work folder, then the folder. */
static void clean_work_dir(lq_report *r)
{
    if (!r->own_work_dir || !r->work_dir) {
        return;
    }
    for (int64_t i = 0; i < r->n_jobs; i++) {
        if (r->jobs[i].kind != &lqi_report_file_kind) {
            unlink(r->jobs[i].path);
        }
    }
    remove_if_owned(r, r->logits_path);
    lqi_report_optimize_clean(r);
    if (r->base_converted) {
        unlink(r->base_path);
    }
    lq_tmp_unregister(r->work_dir);
    rmdir(r->work_dir);
}

// ---- the reference --------------------------------------------------------------------------

/* A GGUF model is the reference as it is; anything else is converted to F16 first. */
static lq_status prepare_base(lq_report *r, struct lq_error *err)
{
    enum lq_file_kind kind;
    LQ_TRY(lq_sniff_path(r->model_path, &kind, err));
    if (kind == LQ_FILE_GGUF) {
        r->base_path = lqi_strdup(r->model_path);
        LQ_FAIL_IF(!r->base_path, err, LQ_E_NOMEM, "out of memory");
        return LQ_OK;
    }
    r->base_path = path_join(r->work_dir, "reference-f16.gguf");
    LQ_FAIL_IF(!r->base_path, err, LQ_E_NOMEM, "out of memory");
    lq_source *src = NULL;
    LQ_TRY(lq_source_open(r->model_path, &src, err));
    struct lq_convert_params cp = lq_convert_params_default();
    cp.ftype = LQ_FTYPE_MOSTLY_F16;
    cp.nthreads = r->p.n_threads;
    lq_status s = lq_convert_run(src, r->base_path, &cp, NULL, err);
    lq_source_free(src);
    r->base_converted = s == LQ_OK;
    return s;
}

static lq_status copy_params(lq_report *r, const struct lq_report_params *p, struct lq_error *err)
{
    LQ_FAIL_IF(!p || !p->model || !p->text, err, LQ_E_INVALID_ARG,
               "report: a model and a text are needed");
    LQ_FAIL_IF(p->n_ctx < 4, err, LQ_E_INVALID_ARG, "report: context %lld is too small",
               (long long)p->n_ctx);
    LQ_FAIL_IF(p->n_chunks == 1, err, LQ_E_INVALID_ARG,
               "report: evaluating needs at least 2 chunks (as llama-perplexity)");
    LQ_FAIL_IF(p->calib && (p->calib_ctx < 2 || p->calib_tokens < p->calib_ctx), err,
               LQ_E_INVALID_ARG,
               "report: calibration needs chunks of at least 2 tokens and at least one chunk "
               "(calib_ctx %lld, calib_tokens %lld)",
               (long long)p->calib_ctx, (long long)p->calib_tokens);
    r->p = *p;
    r->p.n_threads = p->n_threads > 0 ? p->n_threads : omp_get_num_procs();
    r->model_path = lqi_strdup(p->model);
    r->text_path = lqi_strdup(p->text);
    r->imatrix_path = p->imatrix ? lqi_strdup(p->imatrix) : NULL;
    r->calib_path = p->calib ? lqi_strdup(p->calib) : NULL;
    r->task_path = p->task_file ? lqi_strdup(p->task_file) : NULL;
    r->p.task_file = r->task_path;
    LQ_FAIL_IF(p->task_file && !r->task_path, err, LQ_E_NOMEM, "out of memory");
    LQ_FAIL_IF(!r->model_path || !r->text_path || (p->imatrix && !r->imatrix_path) ||
                   (p->calib && !r->calib_path),
               err, LQ_E_NOMEM, "out of memory");
    return LQ_OK;
}

static lq_status open_steps(lq_report *r, const struct lq_report_params *p, struct lq_error *err)
{
    LQ_TRY(copy_params(r, p, err));
    LQ_TRY(make_work_dir(r, err));
    r->logits_path = path_join(r->work_dir, "reference.logits");
    LQ_FAIL_IF(!r->logits_path, err, LQ_E_NOMEM, "out of memory");
    LQ_TRY(prepare_base(r, err));
    LQ_TRY(lqi_report_fingerprint(r->base_path, &r->model, err));
    r->model.path = r->model_path;
    r->base.path = lqi_strdup(r->base_path);
    LQ_FAIL_IF(!r->base.path, err, LQ_E_NOMEM, "out of memory");
    r->base.e.path = r->base.path;
    r->base.e.kind = "base";
    LQ_TRY(lqi_report_tasks_open(r, err));
    return lqi_report_tokenize(r, err);
}

lq_status lq_report_open(const struct lq_report_params *p, lq_report **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "report: NULL output handle");
    *out = NULL;
    lq_report *r = lqi_calloc(1, sizeof *r);
    LQ_FAIL_IF(!r, err, LQ_E_NOMEM, "out of memory");
    lq_status s = open_steps(r, p, err);
    if (s != LQ_OK) {
        lq_report_free(r);
        return s;
    }
    *out = r;
    return LQ_OK;
}

// ---- jobs -----------------------------------------------------------------------------------

static lq_status push_job(lq_report *r, const struct report_job_kind *kind, int arg,
                          const char *name, const char *path, struct lq_error *err)
{
    for (int64_t i = 0; i < r->n_jobs; i++) {
        LQ_FAIL_IF(strcmp(r->jobs[i].name, name) == 0, err, LQ_E_INVALID_ARG,
                   "report: job '%s' given twice", name);
    }
    if (r->n_jobs == r->cap_jobs) {
        int64_t cap = r->cap_jobs ? 2 * r->cap_jobs : 8;
        struct report_job *j = lqi_realloc(r->jobs, (size_t)cap * sizeof *j);
        LQ_FAIL_IF(!j, err, LQ_E_NOMEM, "out of memory");
        r->jobs = j;
        r->cap_jobs = cap;
    }
    struct report_job *j = &r->jobs[r->n_jobs];
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->arg = arg;
    j->name = lqi_strdup(name);
    j->path = path ? lqi_strdup(path) : NULL;
    if (!path && j->name) {
        char file[128];
        snprintf(file, sizeof file, "%.100s.gguf", name);
        j->path = path_join(r->work_dir, file);
    }
    r->n_jobs++;
    LQ_FAIL_IF(!j->name || !j->path, err, LQ_E_NOMEM, "out of memory");
    j->e.name = j->name;
    j->e.path = j->path;
    j->e.kind = kind->kind;
    return LQ_OK;
}

lq_status lq_report_add(lq_report *r, const char *job, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !job, err, LQ_E_INVALID_ARG, "report: NULL argument");
    char name[64];
    size_t n = strlen(job);
    LQ_FAIL_IF(n == 0 || n >= sizeof name, err, LQ_E_INVALID_ARG,
               "report: unknown type '%s' (known: %s)", job, lq_report_job_names());
    for (size_t i = 0; i <= n; i++) {
        name[i] = (char)(job[i] >= 'A' && job[i] <= 'Z' ? job[i] - 'A' + 'a' : job[i]);
    }
    int arg = 0;
    char canon[64];
    const struct report_job_kind *kind = lqi_report_find_kind(name, &arg, canon, sizeof canon);
    LQ_FAIL_IF(!kind, err, LQ_E_INVALID_ARG, "report: unknown type '%s' (known: %s)", job,
               lq_report_job_names());
    LQ_FAIL_IF(kind->needs_calib && !r->calib_path, err, LQ_E_INVALID_ARG,
               "report: type '%s' needs a calibration text (quant report --calib FILE; quant check "
               "baselines do not record one)",
               canon);
    return push_job(r, kind, arg, canon, NULL, err);
}

lq_status lq_report_add_file(lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[64];
    snprintf(name, sizeof name, "%s", base);
    char *dot = strstr(name, ".gguf");
    if (dot && dot != name) {
        *dot = '\0';
    }
    return push_job(r, &lqi_report_file_kind, 0, name, path, err);
}

// ---- running --------------------------------------------------------------------------------

void lqi_report_progress(lq_report *r, const char *stage, const struct report_job *j,
                         int64_t job_index, int64_t units)
{
    r->units_done += units;
    if (!r->p.on_progress) {
        return;
    }
    struct lq_report_progress pr = {
        .done = r->units_done,
        .total = r->units_total,
        .stage = stage,
        .job = j->e.name,
        .job_index = job_index,
        .n_jobs = r->n_jobs,
    };
    r->p.on_progress(r->p.user, &pr);
}

struct eval_ctx {
    lq_report *r;
    const struct report_job *j;
    int64_t job_index;
};

static void on_chunk(void *user, const struct lq_eval_progress *p)
{
    struct eval_ctx *c = user;
    lqi_report_progress(c->r, c->job_index ? "eval" : "reference", c->j, c->job_index, 1);
    (void)p;
}

/* Evaluates j's file: the reference saves its distributions, jobs compare against them. */
static lq_status evaluate(lq_report *r, struct report_job *j, int64_t job_index,
                          struct lq_error *err)
{
    struct lq_model_params mp = lq_model_params_default();
    mp.n_threads = r->p.n_threads;
    mp.n_ctx = r->model.n_ctx;
    mp.n_batch = r->model.n_ctx;
    lq_model *m = NULL;
    LQ_TRY(lq_model_open(j->path, &mp, &m, err));
    struct eval_ctx c = {.r = r, .j = j, .job_index = job_index};
    struct lq_eval_params ep = lq_eval_params_default();
    ep.n_ctx = r->model.n_ctx;
    ep.n_chunks = r->model.n_chunk;
    ep.on_chunk = on_chunk;
    ep.user = &c;
    if (job_index == 0) {
        ep.save_logits = r->logits_path;
    } else {
        ep.compare = r->logits_path;
    }
    lq_status s =
        lq_eval_perplexity(m, job_index ? NULL : r->tokens,
                           job_index ? 0 : r->model.n_chunk * r->model.n_ctx, &ep, &j->e.eval, err);
    lq_model_free(m);
    if (s == LQ_OK && job_index > 0) {
        j->e.dppl = j->e.eval.ppl - r->base.e.eval.ppl;
    }
    return s;
}

static lq_status run_job(lq_report *r, struct report_job *j, int64_t job_index,
                         struct lq_error *err)
{
    if (j->kind->produce) {
        LQ_TRY(j->kind->produce(r, j, err));
    }
    lqi_report_progress(r, "measure", j, job_index, 0);
    LQ_TRY(lqi_report_measure(r->base_path, j, err));
    LQ_TRY(evaluate(r, j, job_index, err));
    LQ_TRY(lqi_report_tasks_score(r, j, job_index, err));
    j->e.done = true;
    return LQ_OK;
}

/* Units of the work left: one per evaluated chunk, half a model's chunks per quantization. */
static void count_units(lq_report *r)
{
    const int64_t per_eval = r->model.n_chunk;
    int64_t total = r->base.e.done ? 0 : per_eval;
    for (int64_t i = 0; i < r->n_jobs; i++) {
        if (!r->jobs[i].e.done) {
            total += per_eval + (r->jobs[i].kind->produce ? (per_eval + 1) / 2 : 0);
        }
    }
    r->units_done = 0;
    r->units_total = total;
}

lq_status lq_report_run(lq_report *r, struct lq_error *err)
{
    LQ_FAIL_IF(!r, err, LQ_E_INVALID_ARG, "report: NULL handle");
    count_units(r);
    if (!r->base.e.done) {
        LQ_TRY(lqi_report_measure(r->base_path, &r->base, err));
        LQ_TRY(evaluate(r, &r->base, 0, err));
        LQ_TRY(lqi_report_tasks_score(r, &r->base, 0, err));
        r->base.e.done = true;
    }
    for (int64_t i = 0; i < r->n_jobs; i++) {
        if (!r->jobs[i].e.done) {
            LQ_TRY(run_job(r, &r->jobs[i], i + 1, err));
        }
    }
    return LQ_OK;
}

// ---- getters --------------------------------------------------------------------------------

const struct lq_report_model *lq_report_get_model(const lq_report *r)
{
    return &r->model;
}

const char *lq_report_text_path(const lq_report *r)
{
    return r->text_path;
}

const struct lq_report_entry *lq_report_base(const lq_report *r)
{
    return &r->base.e;
}

int64_t lq_report_n_entries(const lq_report *r)
{
    return r ? r->n_jobs : 0;
}

const struct lq_report_entry *lq_report_entry(const lq_report *r, int64_t i)
{
    return r && i >= 0 && i < r->n_jobs ? &r->jobs[i].e : NULL;
}

const struct lq_report_entry *lq_report_find(const lq_report *r, const char *name)
{
    for (int64_t i = 0; r && name && i < r->n_jobs; i++) {
        if (strcmp(r->jobs[i].name, name) == 0) {
            return &r->jobs[i].e;
        }
    }
    return NULL;
}

static void job_free(struct report_job *j)
{
    lqi_free(j->name);
    lqi_free(j->path);
    lqi_free(j->tensors);
    lq_task_results_free(j->task_res);
}

void lq_report_free(lq_report *r)
{
    if (!r) {
        return;
    }
    clean_work_dir(r);
    for (int64_t i = 0; i < r->n_jobs; i++) {
        job_free(&r->jobs[i]);
    }
    job_free(&r->base);
    lqi_free(r->jobs);
    lqi_free(r->tokens);
    lqi_free(r->model_path);
    lqi_free(r->text_path);
    lqi_free(r->imatrix_path);
    lqi_free(r->calib_path);
    lqi_free(r->work_dir);
    lqi_free(r->base_path);
    lqi_free(r->logits_path);
    lq_tasks_free(r->tasks);
    lqi_free(r->task_path);
    lqi_free(r);
}

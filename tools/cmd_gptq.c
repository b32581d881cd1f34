/* cmd_gptq.c - `quant gptq MODEL --calib FILE -o OUT`: sequential GPTQ on the CPU, written as
 * llama.cpp GGUF blocks (lq/gptq_gguf.h) or as a GPTQ safetensors folder (lq/gptq_folder.h):
 * the options, the progress and the JSON log; the jobs are the pipeline library's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_cli.h"
#include "cli.h"
#include "cli_opts.h"
#include "json_out.h"
#include "lq/file_io.h"
#include "lq/gptq_folder.h"
#include "lq/gptq_gguf.h"
#include "progress.h"

struct gptq_opts {
    const char *model, *calib, *out, *log;
    bool safetensors;
    bool force;          /* replace an existing non-empty output folder (safetensors) */
    enum lq_ftype ftype; /* GGUF output */
    bool pure;
    bool rtn; /* baseline: round to nearest on GPTQ's grid (identity Hessian, one chunk) */
    struct lq_gptq_params gp;
    int64_t calib_tokens, calib_ctx, threads, first_layer, n_layers;
    bool json, quiet;
};

struct gptq_job {
    struct gptq_opts o;
    int64_t n_weights; /* quantized, for the summary */
    json_t *log_layers;
    double loss_sum;
    struct progress bar;
    bool weight_lines;  /* a line per weight on stderr (not under a bar on the terminal) */
    int64_t n_unrouted; /* expert matrices no calibration token reached (rounded plainly) */
};

/* --layers A:B with 0 <= A < B. */
static int parse_layers(const char *s, struct gptq_opts *o)
{
    const char *colon = strchr(s, ':');
    char first[24];
    int64_t x, y;
    const size_t n = colon ? (size_t)(colon - s) : 0;
    if (!colon || n >= sizeof first) {
        return cli_usage_error("gptq", "--layers: A:B with 0 <= A < B, not '%s'", s);
    }
    snprintf(first, sizeof first, "%.*s", (int)n, s);
    if (!cli_value_int(first, 0, INT64_MAX - 1, &x) ||
        !cli_value_int(colon + 1, x + 1, INT64_MAX, &y)) {
        return cli_usage_error("gptq", "--layers: A:B with 0 <= A < B, not '%s'", s);
    }
    o->first_layer = x;
    o->n_layers = y - x;
    return 0;
}

/* Outputs that would overwrite an input, or a folder that is not ours to replace, are refused
 * before anything runs. */
static int check_outputs(const struct gptq_opts *o)
{
    int rc = cli_refuse_input_as_output("gptq", o->out, o->model, o->calib, (const char *)NULL);
    rc = rc ? rc
            : cli_refuse_input_as_output("gptq", o->log, o->model, o->calib, o->out,
                                         (const char *)NULL);
    struct lq_error err = { 0 };
    if (rc == 0 && o->safetensors && lq_out_dir_check(o->out, o->force, &err) != LQ_OK) {
        rc = cli_usage_error("gptq", "%s", err.msg);
    }
    return rc;
}

static int parse(int argc, char **argv, struct gptq_opts *o)
{
    struct cli_args a;
    const int rc = cli_parse(CLI_GPTQ, argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    struct lq_error err;
    o->model = a.pos[0];
    o->calib = cli_str(&a, OPT_CALIB);
    o->out = cli_str(&a, OPT_OUTPUT);
    o->log = cli_str(&a, OPT_LOG);
    o->pure = cli_has(&a, OPT_PURE);
    o->rtn = cli_has(&a, OPT_RTN);
    o->quiet = cli_has(&a, OPT_QUIET);
    o->json = cli_has(&a, OPT_JSON);
    o->force = cli_has(&a, OPT_FORCE);
    o->safetensors = strcmp(cli_str(&a, OPT_FORMAT), "safetensors") == 0;
    if (lq_ftype_from_name(cli_str(&a, OPT_TYPE), &o->ftype, &err) != LQ_OK) {
        return cli_usage_error("gptq", "--type: %s", err.msg);
    }
    int64_t bits = 4;
    cli_value_int(cli_str(&a, OPT_BITS), 2, 8, &bits); /* one of the table's choices */
    o->gp.bits = (int)bits;
    o->gp.group_size = cli_num(&a, OPT_GROUP_SIZE);
    if (o->gp.group_size != -1 && (o->gp.group_size < 32 || o->gp.group_size % 32 != 0)) {
        return cli_usage_error("gptq", "--group-size: a multiple of 32, or -1");
    }
    /* --sym is the default; the last of --sym and --asym wins */
    o->gp.sym = !cli_has(&a, OPT_ASYM) ||
                (cli_has(&a, OPT_SYM) && a.last[OPT_SYM] > a.last[OPT_ASYM]);
    o->gp.act_order = cli_has(&a, OPT_ACT_ORDER);
    o->gp.static_groups = cli_has(&a, OPT_STATIC_GROUPS);
    o->gp.damp = (float)cli_real(&a, OPT_DAMP);
    o->calib_tokens = cli_num(&a, OPT_CALIB_TOKENS);
    o->calib_ctx = cli_num(&a, OPT_CALIB_CTX);
    o->threads = cli_num(&a, OPT_THREADS);
    o->gp.n_threads = (int)o->threads;
    const int lrc = cli_has(&a, OPT_LAYERS) ? parse_layers(cli_str(&a, OPT_LAYERS), o) : 0;
    return lrc ? lrc : check_outputs(o);
}

/* OpenBLAS reads OPENBLAS_CORETYPE when it is loaded, so the choice needs a fresh process. */
static void maybe_reexec(char **argv)
{
#if defined(__x86_64__) && defined(__linux__)
    if (getenv("OPENBLAS_CORETYPE") || getenv("LQ_NO_REEXEC")) {
        return;
    }
    __builtin_cpu_init();
    const char *core = __builtin_cpu_supports("avx512f")  ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    if (core && setenv("OPENBLAS_CORETYPE", core, 1) == 0) {
        execv("/proc/self/exe", argv); /* on failure carry on with OpenBLAS's own choice */
    }
#else
    (void)argv;
#endif
}

/* One weight done: printed (or shown on the bar) and appended to the JSON log. */
static void log_weight(struct gptq_job *j, const struct lq_gptq_gguf_weight *w, int64_t done,
                       int64_t total)
{
    const char *type = j->o.safetensors ? "gptq" : lq_type_name(w->type);
    char name[112];
    if (w->expert >= 0) {
        snprintf(name, sizeof name, "%.90s#%lld", w->name, (long long)w->expert);
    } else {
        snprintf(name, sizeof name, "%.90s", w->name);
    }
    if (j->weight_lines) {
        fprintf(stderr, "  %-28s %-6s %-5s loss %12.6g  %6.2f s\n", name,
                j->o.safetensors ? "int" : type, w->method, w->loss, w->seconds);
    }
    char label[96];
    snprintf(label, sizeof label, "%.72s loss %.4g", name, w->loss); /* fits: no truncation */
    progress_units(&j->bar, done, total, label);
    json_t *entry = json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:I}", "name", w->name,
                              "type", type, "method", w->method, "loss", w->loss, "seconds",
                              w->seconds, "samples", (json_int_t)w->samples, "rows",
                              (json_int_t)w->rows, "cols", (json_int_t)w->cols);
    if (w->expert >= 0) {
        json_object_set_new(entry, "expert", json_integer(w->expert));
        j->n_unrouted += w->samples == 0;
    }
    json_array_append_new(j->log_layers, entry);
}

static void on_weight(void *user, const struct lq_gptq_gguf_weight *w)
{
    log_weight(user, w, w->index + 1, w->n_weights);
}

/* Every setting and the per-weight results, for --log and --json. */
static json_t *job_json(const struct gptq_job *j, double secs, int64_t tokens)
{
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:f, s:b, s:b, s:f, s:f, s:O}", "model", j->o.model, "calib",
        j->o.calib, "format", j->o.safetensors ? "safetensors" : "gguf", "calib_tokens",
        (json_int_t)tokens, "calib_ctx", (json_int_t)j->o.calib_ctx, "damp", (double)j->o.gp.damp,
        "act_order", j->o.gp.act_order, "static_groups", j->o.gp.static_groups, "seconds", secs,
        "loss_total", j->loss_sum, "weights", j->log_layers);
    if (j->o.safetensors) {
        json_object_set_new(root, "bits", json_integer(j->o.gp.bits));
        json_object_set_new(root, "group_size", json_integer(j->o.gp.group_size));
        json_object_set_new(root, "sym", json_boolean(j->o.gp.sym));
    } else {
        json_object_set_new(root, "ftype", json_string(lq_ftype_name(j->o.ftype)));
    }
    return root;
}

static int write_log(const struct gptq_job *j, double secs, int64_t tokens)
{
    if (!j->o.log) {
        return 0;
    }
    json_t *root = job_json(j, secs, tokens);
    struct lq_error err = { 0 };
    lq_out *out = NULL;
    lq_status st = lq_out_open(j->o.log, &out, &err);
    if (st == LQ_OK && json_dumpfd(root, lq_out_fd(out), JSON_INDENT(2)) != 0) {
        lq_out_abort(out);
        st = cli_set_error(&err, LQ_E_IO, "%s: cannot write", j->o.log);
    } else if (st == LQ_OK) {
        st = lq_out_commit(out, &err);
    }
    json_decref(root);
    return st == LQ_OK ? 0 : cli_fail("gptq", &err);
}

/* The --json document: the common keys, then the log's (keys in README.md). */
static int print_json(const struct gptq_job *j, double secs, int64_t tokens)
{
    json_t *doc = json_out_new("gptq");
    json_out_input(doc, "model", j->o.model);
    json_out_input(doc, "calib", j->o.calib);
    json_t *out = json_out_output(doc, j->o.out, j->o.safetensors ? "gptq-folder" : "gguf");
    if (!j->o.safetensors) {
        json_out_gguf_sizes(out, j->o.out);
    }
    json_t *log = job_json(j, secs, tokens);
    json_object_del(log, "model");
    json_object_del(log, "calib");
    json_object_del(log, "seconds");
    json_out_int(doc, "n_weights", j->n_weights);
    json_object_update(doc, log);
    json_decref(log);
    return json_out_emit(doc, secs, LQ_EXIT_OK);
}

static lq_status run_st(struct gptq_job *j, struct calib_cli *c, struct lq_error *err)
{
    struct lq_gptq_folder_params p = lq_gptq_folder_params_default();
    p.gp = j->o.gp;
    p.rtn = j->o.rtn;
    p.force = j->o.force;
    p.first_layer = j->o.first_layer;
    p.n_layers = j->o.n_layers;
    p.on_weight = on_weight;
    p.user = j;
    struct lq_gptq_folder_summary sum = { 0 };
    lq_status st = lq_gptq_folder_run(c->model, &c->calib, j->o.model, j->o.out, &p, &sum, err);
    j->n_weights = sum.n_weights;
    j->loss_sum = sum.loss;
    return st;
}

static lq_status run_gguf(struct gptq_job *j, struct calib_cli *c, struct lq_error *err)
{
    struct lq_gptq_gguf_params p = lq_gptq_gguf_params_default();
    p.ftype = j->o.ftype;
    p.pure = j->o.pure;
    p.rtn = j->o.rtn;
    p.gp = j->o.gp;
    p.first_layer = j->o.first_layer;
    p.n_layers = j->o.n_layers;
    p.on_weight = on_weight;
    p.user = j;
    struct lq_gptq_gguf_summary sum = { 0 };
    lq_status st = lq_gptq_gguf_run(c->model, &c->calib, j->o.model, j->o.out, &p, &sum, err);
    j->n_weights = sum.n_weights;
    j->loss_sum = sum.loss;
    return st;
}

int cmd_gptq(int argc, char **argv)
{
    struct gptq_job j = { .o = { .gp = lq_gptq_params_default() } }; /* options: parse() */
    int rc = parse(argc, argv, &j.o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    maybe_reexec(argv - 1); /* argv - 1: the whole command line main() was given */
    const int64_t max_chunks = j.o.calib_tokens / j.o.calib_ctx > 0 && !j.o.rtn
                                   ? j.o.calib_tokens / j.o.calib_ctx : 1;
    struct calib_cli c;
    rc = calib_cli_open(&c, "gptq", j.o.model, j.o.calib, j.o.calib_ctx, 1, max_chunks,
                        (int)j.o.threads);
    if (rc != 0) {
        return rc;
    }
    struct lq_error err = { 0 };
    j.log_layers = json_array();
    double t0 = progress_now();
    if (!j.o.quiet) {
        fprintf(stderr, "gptq: %lld chunks of %lld tokens, OPENBLAS_CORETYPE=%s\n",
                (long long)c.calib.n_chunks, (long long)c.calib.n_ctx,
                getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
    }
    progress_start(&j.bar, "gptq", 0);
    j.bar.unit = "weights";
    j.weight_lines = !j.o.quiet && !(j.bar.enabled && !j.bar.plain);
    lq_status st = j.o.safetensors ? run_st(&j, &c, &err) : run_gguf(&j, &c, &err);
    progress_end(&j.bar);
    const double secs = progress_now() - t0;
    const int64_t tokens = c.calib.n_chunks * c.calib.n_ctx;
    if (st != LQ_OK) {
        rc = cli_fail("gptq", &err);
    } else {
        if (!j.o.quiet && !j.o.json) {
            fprintf(stderr, "gptq: %lld weights, total loss %.6g, %.1f s, written to %s\n",
                    (long long)j.n_weights, j.loss_sum, secs, j.o.out);
        }
        if (!j.o.quiet && j.n_unrouted > 0) { /* the documented rule, said where it applied */
            fprintf(stderr,
                    "gptq: %lld expert matrices got no calibration tokens from the router and "
                    "were rounded as quant quantize rounds them (\"method\": \"round\", "
                    "\"samples\": 0 in the log); more calibration text routes tokens to them\n",
                    (long long)j.n_unrouted);
        }
        rc = write_log(&j, secs, tokens);
        rc = rc ? rc : j.o.json ? print_json(&j, secs, tokens) : 0;
    }
    json_decref(j.log_layers);
    calib_cli_close(&c);
    return rc;
}

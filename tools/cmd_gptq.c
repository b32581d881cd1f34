/* cmd_gptq.c - `quant gptq MODEL --calib FILE -o OUT`: sequential GPTQ on the CPU, written as
 * llama.cpp GGUF blocks or as a GPTQ safetensors folder. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_cli.h"
#include "cli.h"
#include "gptq_job.h"
#include "json_out.h"
#include "lq/file_io.h"
#include "progress.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: quant gptq MODEL --calib FILE -o OUT [options]\n\n"
        "GPTQ (Frantar et al. 2022) layer by layer, true-sequential as AutoGPTQ: for q/k/v, then\n"
        "o, then gate/up, then down, the calibration text is run through the already quantized\n"
        "weights of earlier groups and layers, the inputs' Hessian H = 2 X^T X / n is taken and\n"
        "each weight is quantized column by column with error feedback. MODEL: GGUF file\n"
        "(F16/F32/BF16) or Hugging Face folder.\n\n"
        "output:\n"
        "  --format gguf    (default) a GGUF file of llama.cpp's own block types: --type\n"
        "                   Q4_0|Q4_1|Q5_0|Q5_1|Q8_0|Q4_K(_M/_S)|Q5_K(_M/_S)|Q6_K picks the file\n"
        "                   type; llama.cpp's recipe decides every tensor's type (output.weight\n"
        "                   Q6_K, norms F32, ...), GPTQ fills the block weights; --pure uses the\n"
        "                   type for all block weights. Other types are rounded as llama.cpp.\n"
        "  --format safetensors  a GPTQ v1 folder (transformers, vLLM, AutoGPTQ) at OUT:\n"
        "                   --bits 2|3|4|8 (4), --group-size 32|64|128|-1 (128), --sym (default)\n"
        "                   or --asym. MODEL must be a Hugging Face folder (config.json and\n"
        "                   tokenizer files are copied). OUT must not exist or be an empty\n"
        "                   folder; --force replaces it as a whole. The folder is built\n"
        "                   beside OUT as .OUT.tmp.XXXXXX and renamed into place.\n\n"
        "GPTQ options:\n"
        "  --act-order      quantize columns by decreasing Hessian diagonal (desc_act); for GGUF\n"
        "                   blocks this implies --static-groups\n"
        "  --static-groups  fix each group's scale from the original weights first\n"
        "  --rtn            baseline: round to nearest on the same grid (GPTQ with an identity\n"
        "                   Hessian, so no error feedback), for comparisons\n"
        "  --damp F         dampening, fraction of the mean Hessian diagonal (0.01)\n"
        "  --calib FILE     calibration text      --calib-ctx N  tokens per chunk (512)\n"
        "  --calib-tokens N use the first N tokens (rounded down to chunks; default 16384)\n"
        "  --layers A:B     only layers A .. B-1 (others keep the recipe's rounding); for tests\n"
        "  -t, --threads N  threads (default: all)\n"
        "  --log FILE.json  per-weight losses and times as JSON\n"
        "  --json           print the result (with the per-weight log) as JSON on stdout\n"
        "  --progress       progress lines even when stderr is not a terminal\n"
        "  -q, --quiet      no progress, no per-weight lines\n\n"
        "OpenBLAS picks slow kernels on some virtual machines; when OPENBLAS_CORETYPE is unset\n"
        "and the CPU has AVX-512 (AVX2), gptq restarts itself with it set to SkylakeX (Haswell).\n"
        "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input file.\n");
}

enum { O_CALIB = 256, O_FORMAT, O_TYPE, O_PURE, O_BITS, O_GROUP, O_SYM, O_ASYM, O_ACT,
       O_STATIC, O_RTN, O_DAMP, O_TOKENS, O_CTX, O_LOG, O_LAYERS, O_JSON, O_PROGRESS,
       O_FORCE };

static int parse_opt(struct gptq_opts *o, int opt, const char *a)
{
    struct lq_error err;
    int64_t v;
    char *end;
    switch (opt) {
    case O_CALIB: o->calib = a; return 0;
    case 'o': o->out = a; return 0;
    case O_LOG: o->log = a; return 0;
    case O_JSON: o->json = true; return 0;
    case O_PROGRESS: progress_set_mode(PROGRESS_FORCE); return 0;
    case 'q': o->quiet = true; progress_set_mode(PROGRESS_QUIET); return 0;
    case O_PURE: o->pure = true; return 0;
    case O_RTN: o->rtn = true; return 0;
    case O_FORCE: o->force = true; return 0;
    case O_SYM: o->gp.sym = true; return 0;
    case O_ASYM: o->gp.sym = false; return 0;
    case O_ACT: o->gp.act_order = true; return 0;
    case O_STATIC: o->gp.static_groups = true; return 0;
    case O_FORMAT:
        if (strcmp(a, "gguf") != 0 && strcmp(a, "safetensors") != 0) {
            return cli_usage_error("gptq", "--format: gguf or safetensors, not '%s'", a);
        }
        o->safetensors = strcmp(a, "safetensors") == 0;
        return 0;
    case O_TYPE:
        return lq_ftype_from_name(a, &o->ftype, &err) == LQ_OK
                   ? 0 : cli_usage_error("gptq", "--type: %s", err.msg);
    case O_BITS:
        if (!calib_cli_int("gptq", "--bits", a, 2, &v) || (v != 2 && v != 3 && v != 4 && v != 8)) {
            return cli_usage_error("gptq", "--bits: 2, 3, 4 or 8");
        }
        o->gp.bits = (int)v;
        return 0;
    case O_GROUP:
        if (strcmp(a, "-1") == 0) {
            o->gp.group_size = -1;
            return 0;
        }
        if (!calib_cli_int("gptq", "--group-size", a, 32, &v) || v % 32 != 0) {
            return cli_usage_error("gptq", "--group-size: a multiple of 32, or -1");
        }
        o->gp.group_size = v;
        return 0;
    case O_DAMP:
        o->gp.damp = strtof(a, &end);
        return *end || !(o->gp.damp >= 0.0f && o->gp.damp < 1.0f)
                   ? cli_usage_error("gptq", "--damp: a fraction in [0, 1), not '%s'", a) : 0;
    case O_TOKENS: return calib_cli_int("gptq", "--calib-tokens", a, 2, &o->calib_tokens) ? 0 : 2;
    case O_CTX: return calib_cli_int("gptq", "--calib-ctx", a, 2, &o->calib_ctx) ? 0 : 2;
    case 't': return calib_cli_int("gptq", "--threads", a, 0, &o->threads) ? 0 : 2;
    case O_LAYERS: {
        long long x, y;
        if (sscanf(a, "%lld:%lld", &x, &y) != 2 || x < 0 || y <= x) {
            return cli_usage_error("gptq", "--layers: A:B with 0 <= A < B, not '%s'", a);
        }
        o->first_layer = x;
        o->n_layers = y - x;
        return 0;
    }
    default: usage(stderr); return LQ_EXIT_USAGE;
    }
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
    static const struct option lo[] = {
        { "calib", required_argument, NULL, O_CALIB }, { "output", required_argument, NULL, 'o' },
        { "format", required_argument, NULL, O_FORMAT }, { "type", required_argument, NULL, O_TYPE },
        { "pure", no_argument, NULL, O_PURE }, { "bits", required_argument, NULL, O_BITS },
        { "group-size", required_argument, NULL, O_GROUP }, { "sym", no_argument, NULL, O_SYM },
        { "asym", no_argument, NULL, O_ASYM }, { "act-order", no_argument, NULL, O_ACT },
        { "static-groups", no_argument, NULL, O_STATIC }, { "rtn", no_argument, NULL, O_RTN },
        { "damp", required_argument, NULL, O_DAMP },
        { "calib-tokens", required_argument, NULL, O_TOKENS },
        { "calib-ctx", required_argument, NULL, O_CTX }, { "threads", required_argument, NULL, 't' },
        { "log", required_argument, NULL, O_LOG }, { "layers", required_argument, NULL, O_LAYERS },
        { "json", no_argument, NULL, O_JSON }, { "progress", no_argument, NULL, O_PROGRESS },
        { "quiet", no_argument, NULL, 'q' },
        { "force", no_argument, NULL, O_FORCE },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:t:hq", lo, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        int rc = parse_opt(o, opt, optarg);
        if (rc != 0) {
            return rc;
        }
    }
    if (argc - optind != 1 || !o->calib || !o->out) {
        return cli_usage_error("gptq", "expected MODEL, --calib FILE and -o OUT");
    }
    o->model = argv[optind];
    o->gp.n_threads = (int)o->threads;
    return check_outputs(o);
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
    if (j->weight_lines) {
        fprintf(stderr, "  %-28s %-6s %-5s loss %12.6g  %6.2f s\n", w->name,
                j->o.safetensors ? "int" : type, w->method, w->loss, w->seconds);
    }
    char label[96];
    snprintf(label, sizeof label, "%s loss %.4g", w->name, w->loss);
    progress_units(&j->bar, done, total, label);
    json_array_append_new(j->log_layers,
                          json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:I}", "name", w->name,
                                    "type", type, "method", w->method, "loss", w->loss,
                                    "seconds", w->seconds, "samples", (json_int_t)w->samples,
                                    "rows", (json_int_t)w->rows, "cols", (json_int_t)w->cols));
}

static void on_gguf_weight(void *user, const struct lq_gptq_gguf_weight *w)
{
    log_weight(user, w, w->index + 1, w->n_weights);
}

/* Safetensors output: GPTQ integers per weight (GGUF output is lq_gptq_gguf_run's). */
static lq_status on_st_weight(void *user, int64_t layer, enum lq_layer_weight which,
                              const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                              struct lq_model_tensor *use, struct lq_error *err)
{
    struct gptq_job *j = user;
    struct gptq_kept *nk = realloc(j->kept, (size_t)(j->n_kept + 1) * sizeof *nk);
    if (!nk) {
        return cli_set_error(err, LQ_E_NOMEM, "gptq: out of memory");
    }
    j->kept = nk;
    struct gptq_kept *k = &j->kept[j->n_kept];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "blk.%lld.%s.weight", (long long)layer,
             lq_layer_weight_name(which));
    double t0 = progress_now(), loss = 0.0;
    lq_hessian *eye = NULL;
    if (j->o.rtn) {
        lq_status rc = lq_hessian_new_identity(ncols, &eye, err);
        if (rc != LQ_OK) {
            return rc;
        }
        h = eye;
    }
    const int64_t samples = lq_hessian_nsamples(h);
    lq_status rc = gptq_st_weight(j, layer, which, w, nrows, ncols, h, k, &loss, err);
    lq_hessian_free(eye);
    j->n_kept += k->data != NULL;
    if (rc != LQ_OK) {
        return rc;
    }
    *use = (struct lq_model_tensor){ .type = k->type, .ne = { ncols, nrows, 1, 1 },
                                     .data = k->data, .nbytes = k->nbytes };
    j->loss_sum += loss;
    const struct lq_gptq_gguf_weight r = {
        .name = k->name, .method = j->o.rtn ? "rtn" : "gptq", .loss = loss,
        .seconds = progress_now() - t0, .samples = samples, .rows = nrows, .cols = ncols };
    log_weight(j, &r, j->n_kept, j->n_total);
    return LQ_OK;
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

static lq_status prepare_st(struct gptq_job *j, struct lq_error *err)
{
    lq_status rc = lq_source_open(j->o.model, &j->src, err);
    if (rc != LQ_OK) {
        return rc;
    }
    const enum lq_source_kind kind = lq_source_get_kind(j->src);
    if (kind != LQ_SOURCE_HF_SAFETENSORS && kind != LQ_SOURCE_HF_PYTORCH) {
        return cli_set_error(err, LQ_E_INVALID_ARG,
                             "%s: --format safetensors needs a Hugging Face folder (its "
                             "config.json and tokenizer are copied), not %s", j->o.model,
                             lq_source_describe(j->src));
    }
    LQ_TRY_CLI(gptq_st_check_inputs(j, err));
    struct lq_gptq_st_config cfg = lq_gptq_st_config_from_params(&j->o.gp);
    cfg.true_sequential = true;
    return lq_gptq_st_new(&cfg, &j->stw, err);
}

static lq_status run_st(struct gptq_job *j, struct calib_cli *c, struct lq_error *err)
{
    const int64_t n_layer = lq_model_get_hparams(c->model)->n_layer;
    int64_t layers = n_layer - j->o.first_layer;
    layers = j->o.n_layers > 0 && j->o.n_layers < layers ? j->o.n_layers : layers;
    j->n_total = (layers > 0 ? layers : 0) * LQ_LW_COUNT;
    lq_status st = prepare_st(j, err);
    if (st == LQ_OK) {
        st = lq_calib_gptq(c->model, &c->calib, j->o.first_layer, j->o.n_layers, on_st_weight,
                           j, err);
    }
    j->n_weights = j->n_kept;
    return st == LQ_OK ? gptq_st_write(j, err) : st;
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
    p.on_weight = on_gguf_weight;
    p.user = j;
    struct lq_gptq_gguf_summary sum = { 0 };
    lq_status st = lq_gptq_gguf_run(c->model, &c->calib, j->o.model, j->o.out, &p, &sum, err);
    j->n_weights = sum.n_weights;
    j->loss_sum = sum.loss;
    return st;
}

static void job_free(struct gptq_job *j)
{
    for (int64_t i = 0; i < j->n_kept; i++) {
        free(j->kept[i].data);
    }
    free(j->kept);
    lq_gptq_st_free(j->stw);
    lq_source_free(j->src);
    json_decref(j->log_layers);
}

int cmd_gptq(int argc, char **argv)
{
    struct gptq_job j = { .o = { .ftype = LQ_FTYPE_MOSTLY_Q4_0, .gp = lq_gptq_params_default(),
                                 .calib_tokens = 16384, .calib_ctx = 512 } };
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
        rc = write_log(&j, secs, tokens);
        rc = rc ? rc : j.o.json ? print_json(&j, secs, tokens) : 0;
    }
    job_free(&j);
    calib_cli_close(&c);
    return rc;
}

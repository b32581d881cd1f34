/* convert_cli.c - shared options and the run of `quant convert` / `quant quantize`. */
#include "convert_cli.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cli.h"
#include "json_out.h"
#include "progress.h"

static int parse_type(struct convert_cli *c, const char *arg, int *out)
{
    enum lq_type t;
    struct lq_error err;
    if (lq_type_from_name(arg, &t, &err) != LQ_OK) {
        return cli_usage_error(c->cmd, "%s", err.msg);
    }
    *out = (int)t;
    return 0;
}

static int add_rule(struct convert_cli *c, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg || c->n_rules == MAX_TYPE_RULES) {
        return cli_usage_error(c->cmd, "--tensor-type expects REGEX=TYPE (at most %d)",
                               MAX_TYPE_RULES);
    }
    struct type_rule *r = &c->rules[c->n_rules];
    int rc = parse_type(c, eq + 1, &r->type);
    if (rc) {
        return rc;
    }
    r->pattern = strndup(arg, (size_t)(eq - arg));
    int ecode;
    PCRE2_SIZE eoff;
    r->code = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, 0, &ecode, &eoff, NULL);
    if (!r->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        int ret = cli_usage_error(c->cmd, "--tensor-type '%s': %s at offset %zu", r->pattern,
                                  (const char *)msg, (size_t)eoff);
        free(r->pattern);
        return ret;
    }
    c->n_rules++;
    return 0;
}

/* First rule whose regex is found in the name wins, as llama.cpp's regex_search. */
static int rule_type(const char *name, void *user)
{
    struct convert_cli *c = user;
    for (int i = 0; i < c->n_rules; i++) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->rules[i].code, NULL);
        int m = pcre2_match(c->rules[i].code, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md,
                            NULL);
        pcre2_match_data_free(md);
        if (m >= 0) {
            return c->rules[i].type;
        }
    }
    return -1;
}

int convert_cli_from_args(struct convert_cli *c, const struct cli_args *a)
{
    int rc = 0;
    c->params.pure = cli_has(a, OPT_PURE);
    if (cli_has(a, OPT_OUTPUT_TENSOR_TYPE)) {
        rc = parse_type(c, cli_str(a, OPT_OUTPUT_TENSOR_TYPE), &c->params.output_tensor_type);
    }
    if (rc == 0 && cli_has(a, OPT_TOKEN_EMBEDDING_TYPE)) {
        rc = parse_type(c, cli_str(a, OPT_TOKEN_EMBEDDING_TYPE), &c->params.token_embedding_type);
    }
    for (int i = 0; rc == 0 && i < a->n_rep; i++) {
        rc = a->rep[i].id == OPT_TENSOR_TYPE ? add_rule(c, a->rep[i].arg) : 0;
    }
    c->imatrix_path = cli_str(a, OPT_IMATRIX);
    c->params.nthreads = (int)cli_num(a, OPT_THREADS);
    c->stats = c->params.stats = cli_has(a, OPT_STATS);
    c->params.allow_requantize = cli_has(a, OPT_ALLOW_REQUANTIZE);
    c->params.allow_nonfinite = cli_has(a, OPT_ALLOW_NONFINITE);
    c->quiet = cli_has(a, OPT_QUIET);
    c->json = cli_has(a, OPT_JSON);
    return rc;
}

void convert_cli_free(struct convert_cli *c)
{
    for (int i = 0; i < c->n_rules; i++) {
        pcre2_code_free(c->rules[i].code);
        free(c->rules[i].pattern);
    }
    json_decref(c->tensors);
    c->tensors = NULL;
}

struct run_state {
    struct convert_cli *c;
    struct progress bar;
    uint64_t done;
};

static void shape_str(const struct lq_convert_tensor_report *r, char *buf, size_t cap)
{
    size_t off = 0;
    for (int d = 0; d < r->n_dims && off < cap; d++) {
        off += (size_t)snprintf(buf + off, cap - off, d ? "x%lld" : "%lld", (long long)r->ne[d]);
    }
}

/* --json: one tensor's summary (shape in GGUF order, types, sizes, error when measured). */
static void add_tensor_json(json_t *arr, const struct lq_convert_tensor_report *r)
{
    json_t *shape = json_array();
    for (int d = 0; d < r->n_dims; d++) {
        json_array_append_new(shape, json_integer((json_int_t)r->ne[d]));
    }
    json_t *t = json_pack("{s:s, s:o, s:s, s:s, s:I, s:I, s:b}", "name", r->name, "shape",
                          shape, "from", lq_type_name(r->from), "to", lq_type_name(r->to),
                          "bytes_in", (json_int_t)r->bytes_in, "bytes_out",
                          (json_int_t)r->bytes_out, "quantized", r->quantized);
    if (r->have_stats) {
        json_out_real(t, "rmse", r->stats.rmse);
        json_out_real(t, "rel_rmse", r->stats.rel_rmse);
        json_out_real(t, "max_err", r->stats.max_abs_err);
        json_out_real(t, "snr_db", r->stats.snr_db);
    }
    if (r->used_imatrix) {
        json_object_set_new(t, "imatrix", json_true());
    }
    json_array_append_new(arr, t);
}

static void on_tensor(const struct lq_convert_tensor_report *r, void *user)
{
    struct run_state *st = user;
    st->done += r->bytes_in;
    progress_update(&st->bar, r->index + 1, r->n_tensors, st->done, r->name);
    if (st->c->json) {
        add_tensor_json(st->c->tensors, r);
        return; /* stdout holds the JSON document only */
    }
    if (!st->c->stats) {
        return;
    }
    if (r->index == 0) {
        progress_end(&st->bar);
        printf("%-32s %-14s %-6s %-6s %11s %11s %9s %8s\n", "tensor", "shape", "from", "to",
               "rmse", "max_err", "rel_rmse", "snr_db");
    }
    char shape[48] = "", nm[256];
    shape_str(r, shape, sizeof shape);
    if (r->have_stats) {
        printf("%-32s %-14s %-6s %-6s %11.4e %11.4e %9.5f %8.2f%s\n", cli_esc(r->name, nm, sizeof nm), shape,
               lq_type_name(r->from), lq_type_name(r->to), r->stats.rmse, r->stats.max_abs_err,
               r->stats.rel_rmse, r->stats.snr_db, r->used_imatrix ? " (imatrix)" : "");
    } else {
        printf("%-32s %-14s %-6s %-6s %11s %11s %9s %8s\n", cli_esc(r->name, nm, sizeof nm), shape,
               lq_type_name(r->from), lq_type_name(r->to), "copied", "-", "-", "-");
    }
}

/* The --json document of convert / quantize (keys in README.md). */
static int print_json(struct convert_cli *c, const lq_source *src,
                      const struct lq_convert_summary *sum)
{
    json_t *doc = json_out_new(c->cmd);
    json_out_input(doc, "model", c->in);
    if (c->imatrix_path) {
        json_out_input(doc, "imatrix", c->imatrix_path);
    }
    json_out_gguf_sizes(json_out_output(doc, c->out, "gguf"), c->out);
    json_out_str(doc, "source", lq_source_describe(src));
    json_out_str(doc, "ftype", lq_ftype_name(c->params.ftype));
    json_out_int(doc, "n_tensors", sum->n_tensors);
    json_out_int(doc, "n_params", sum->n_params);
    json_out_int(doc, "bytes_in", (int64_t)sum->bytes_in);
    json_out_int(doc, "bytes_out", (int64_t)sum->bytes_out);
    json_out_real(doc, "bpw", sum->n_params ? sum->bytes_out * 8.0 / (double)sum->n_params : 0);
    json_out_int(doc, "n_fallback", sum->n_fallback);
    json_object_set(doc, "tensors", c->tensors);
    return json_out_emit(doc, sum->seconds, LQ_EXIT_OK);
}

static int load_imatrix(struct convert_cli *c, lq_imatrix **im)
{
    *im = NULL;
    if (!c->imatrix_path) {
        return 0;
    }
    struct lq_error err;
    if (lq_imatrix_load(c->imatrix_path, im, &err) != LQ_OK) {
        return cli_fail(c->cmd, &err);
    }
    c->params.imatrix = *im;
    c->params.imatrix_path = c->imatrix_path;
    return 0;
}

int convert_cli_run(struct convert_cli *c)
{
    struct lq_error err;
    lq_error_clear(&err);
    lq_source *src = NULL;
    lq_imatrix *im = NULL;
    int refused = cli_refuse_input_as_output(c->cmd, c->out, c->in,
                                             c->imatrix_path ? c->imatrix_path : "",
                                             (const char *)NULL);
    if (refused) {
        return refused;
    }
    if (c->params.nthreads <= 0) {
        c->params.nthreads = omp_get_num_procs();
    }
    if (c->n_rules) {
        c->params.type_override = rule_type;
        c->params.type_override_user = c;
    }
    int rc = load_imatrix(c, &im);
    if (rc) {
        return rc;
    }
    if (lq_source_open(c->in, &src, &err) != LQ_OK) {
        lq_imatrix_free(im);
        return cli_fail(c->cmd, &err);
    }
    struct run_state st = { .c = c };
    uint64_t total = 0;
    for (int64_t i = 0; i < lq_source_n_tensors(src); i++) {
        total += lq_source_tensor(src, i)->nbytes;
    }
    progress_start(&st.bar, c->cmd, total);
    c->params.on_tensor = on_tensor;
    c->params.on_tensor_user = &st;
    c->tensors = c->json ? json_array() : NULL;
    struct lq_convert_summary sum;
    lq_status s = lq_convert_run(src, c->out, &c->params, &sum, &err);
    progress_end(&st.bar);
    if (s == LQ_OK && c->json) {
        rc = print_json(c, src, &sum);
    } else if (s == LQ_OK && !c->quiet) {
        fprintf(stderr,
                "%s: %s (%s) -> %s (%s): %lld tensors, %.2f MiB -> %.2f MiB, %.3f bits per "
                "weight, %.2f s%s\n",
                c->cmd, c->in, lq_source_describe(src), c->out, lq_ftype_name(c->params.ftype),
                (long long)sum.n_tensors, sum.bytes_in / 1048576.0, sum.bytes_out / 1048576.0,
                sum.n_params ? sum.bytes_out * 8.0 / (double)sum.n_params : 0.0, sum.seconds,
                sum.n_fallback ? " (some tensors fell back to other types: row length)" : "");
    }
    lq_source_free(src);
    lq_imatrix_free(im);
    return s == LQ_OK ? rc : cli_fail(c->cmd, &err);
}

/* cmd_report.c - `quant report`: quantize a model to several types (or take existing files),
 * evaluate each against the reference, and write report.md, report.json, report.svg and
 * report-tensors.svg. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_opts.h"
#include "json_out.h"
#include "report_cli.h"

struct report_opts {
    struct lq_report_params p;
    const char *types, *optimize, *out, *base;
    bool keep, html, files, json, quiet;
    char *work_dir;
    const char *const *files_list;
    int n_files;
};

/* MODEL, or with --files the files to compare and --base. */
static int check_args(const char *const *pos, int n_pos, struct report_opts *o)
{
    if (o->files) {
        if (!o->base) {
            return cli_usage_error("report", "--files needs files and --base REF.gguf");
        }
        o->p.model = o->base;
        o->files_list = pos;
        o->n_files = n_pos;
        return 0;
    }
    if (o->base || n_pos != 1) {
        return cli_usage_error("report", "expected one MODEL (or --files ... --base REF)");
    }
    o->p.model = pos[0];
    return 0;
}

/* None of the files the report writes into OUT may be one of its inputs. */
static int refuse_inputs_as_outputs(const struct report_opts *o)
{
    static const char *const names[] = {"report.md", "report.json", "report.svg", "report.html",
                                        "report-tensors.svg"};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof names / sizeof names[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", o->out, names[i]);
        rc = cli_refuse_input_as_output("report", path, o->p.model ? o->p.model : "",
                                        o->p.text ? o->p.text : "",
                                        o->p.imatrix ? o->p.imatrix : "",
                                        o->p.calib ? o->p.calib : "", (const char *)NULL);
    }
    return rc;
}

/* a holds the parsed line; o points into it (the --files list). */
static int parse_opts(int argc, char **argv, struct cli_args *a, struct report_opts *o)
{
    const int rc = cli_parse(CLI_REPORT, argc, argv, a);
    if (rc != 0) {
        return rc;
    }
    o->p.text = cli_str(a, OPT_TEXT);
    o->types = cli_str(a, OPT_TYPES);
    o->optimize = cli_str(a, OPT_OPTIMIZE);
    o->out = cli_str(a, OPT_OUTPUT);
    o->keep = cli_has(a, OPT_KEEP);
    o->html = cli_has(a, OPT_HTML);
    o->json = cli_has(a, OPT_JSON);
    o->quiet = cli_has(a, OPT_QUIET);
    o->p.imatrix = cli_str(a, OPT_IMATRIX);
    o->p.calib = cli_str(a, OPT_CALIB);
    o->files = cli_has(a, OPT_FILES);
    o->base = cli_str(a, OPT_BASE);
    o->p.n_ctx = cli_num(a, OPT_CTX);
    o->p.n_chunks = cli_num(a, OPT_CHUNKS);
    o->p.calib_ctx = cli_num(a, OPT_CALIB_CTX);
    o->p.calib_tokens = cli_num(a, OPT_CALIB_TOKENS);
    o->p.n_threads = (int)cli_num(a, OPT_THREADS);
    if (cli_has(a, OPT_TASK)) {
        o->p.task_kind = report_cli_task_kind(cli_str(a, OPT_TASK));
        o->p.task_file = cli_str2(a, OPT_TASK);
    }
    return check_args(a->pos, a->n_pos, o);
}

/* OUT exists (created when missing); with --keep the job files go to OUT/models. */
static int prepare_out(struct report_opts *o)
{
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "quant report: cannot create %s: %s\n", o->out, strerror(errno));
        return LQ_EXIT_FAIL;
    }
    if (o->keep) {
        size_t n = strlen(o->out) + 8;
        o->work_dir = malloc(n);
        if (!o->work_dir) {
            return LQ_EXIT_FAIL;
        }
        snprintf(o->work_dir, n, "%s/models", o->out);
        o->p.work_dir = o->work_dir;
    }
    return LQ_EXIT_OK;
}

/* Writes DIR/NAME and, for --json, lists it in doc's outputs (doc may be NULL). */
static int write_one(const lq_report *r, const struct report_opts *o, const char *name, json_t *doc,
                     lq_status (*fn)(const lq_report *, const char *, struct lq_error *))
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->out, name);
    struct lq_error err = {0};
    if (fn(r, path, &err) != LQ_OK) {
        return cli_fail("report", &err);
    }
    if (doc) {
        json_out_output(doc, path, strchr(name, '.') + 1);
    } else if (!o->quiet) {
        fprintf(stderr, "report: wrote %s\n", path);
    }
    return LQ_EXIT_OK;
}

static int write_all(const lq_report *r, const struct report_opts *o, json_t *doc)
{
    int rc = write_one(r, o, "report.md", doc, lq_report_write_md);
    rc = rc ? rc : write_one(r, o, "report.json", doc, lq_report_write_json);
    rc = rc ? rc : write_one(r, o, "report.svg", doc, lq_report_write_svg);
    rc = rc ? rc : write_one(r, o, "report-tensors.svg", doc, lq_report_write_tensors_svg);
    if (rc == 0 && o->html) {
        rc = write_one(r, o, "report.html", doc, lq_report_write_html);
    }
    return rc;
}

/* The --json document: inputs, the files written, the settings and every row. */
static json_t *report_doc(const lq_report *r, const struct report_opts *o)
{
    json_t *doc = json_out_new("report");
    json_out_input(doc, o->files ? "base" : "model", o->p.model);
    json_out_input(doc, "text", o->p.text);
    if (o->p.imatrix) {
        json_out_input(doc, "imatrix", o->p.imatrix);
    }
    if (o->p.calib) {
        json_out_input(doc, "calib", o->p.calib);
    }
    const struct lq_report_model *m = lq_report_get_model(r);
    json_out_int(doc, "n_ctx", m->n_ctx);
    json_out_int(doc, "n_chunk", m->n_chunk);
    if (o->keep) {
        for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
            json_out_gguf_sizes(json_out_output(doc, lq_report_entry(r, i)->path, "gguf"),
                                lq_report_entry(r, i)->path);
        }
    }
    return doc;
}

/* --optimize q4_k_m,3.5bpw: the optimizer's jobs opt@q4_k_m, opt@3.5bpw. */
static int add_optimize_jobs(lq_report *r, const char *list)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    int rc = LQ_EXIT_OK;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && rc == LQ_EXIT_OK;
         t = strtok_r(NULL, ",", &save)) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", strncmp(t, "opt@", 4) == 0 ? "" : "opt@", t);
        rc = report_cli_add_types("report", r, name);
    }
    return rc;
}

static int add_jobs(lq_report *r, const struct report_opts *o)
{
    if (!o->files) {
        const int rc = report_cli_add_types("report", r, o->types);
        return rc == LQ_EXIT_OK && o->optimize ? add_optimize_jobs(r, o->optimize) : rc;
    }
    for (int i = 0; i < o->n_files; i++) {
        struct lq_error err = {0};
        if (lq_report_add_file(r, o->files_list[i], &err) != LQ_OK) {
            return cli_usage_error("report", "%s", err.msg);
        }
    }
    return LQ_EXIT_OK;
}

/* bar is the progress struct the handle reports to (restarted: the ETA counts from here). */
static int run(lq_report *r, const struct report_opts *o, struct progress *bar)
{
    struct lq_error err = {0};
    const double t0 = progress_now();
    progress_start(bar, "report", 0);
    bar->unit = "chunks";
    lq_status s = lq_report_run(r, &err);
    progress_end(bar);
    if (s != LQ_OK) {
        return cli_fail("report", &err);
    }
    report_cli_print_table(r, o->json ? stderr : stdout);
    fflush(stdout);
    if (o->keep && !o->json && !o->quiet) {
        fprintf(stderr, "report: quantized files kept in %s\n", o->work_dir);
    }
    json_t *doc = o->json ? report_doc(r, o) : NULL;
    int rc = write_all(r, o, doc);
    if (doc && rc == 0) {
        report_cli_json_entries(r, doc);
        return json_out_emit(doc, progress_now() - t0, rc);
    }
    json_decref(doc);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    struct report_opts o = {.p = lq_report_params_default()};
    struct cli_args a;
    struct progress bar;
    int rc = parse_opts(argc, argv, &a, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    rc = refuse_inputs_as_outputs(&o);
    rc = rc ? rc : prepare_out(&o);
    lq_report *r = NULL;
    struct lq_error err = {0};
    progress_start(&bar, "report", 0);
    o.p.on_progress = report_cli_progress;
    o.p.user = &bar;
    if (rc == 0 && lq_report_open(&o.p, &r, &err) != LQ_OK) {
        rc = cli_fail("report", &err);
    }
    rc = rc ? rc : add_jobs(r, &o);
    rc = rc ? rc : run(r, &o, &bar);
    lq_report_free(r);
    free(o.work_dir);
    return rc;
}

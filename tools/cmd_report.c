/* cmd_report.c - `quant report`: quantize a model to several types (or take existing files),
 * evaluate each against the reference, and write report.md, report.json, report.svg and
 * report-tensors.svg. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "json_out.h"
#include "report_cli.h"

#define DEFAULT_TYPES "q8_0,q6_k,q4_k_m,q4_0"

struct report_opts {
    struct lq_report_params p;
    const char *types, *out, *base;
    bool keep, html, files, json;
    char *work_dir;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: quant report MODEL --text FILE [options]\n"
        "       quant report --files A.gguf B.gguf ... --base REF.gguf --text FILE [options]\n\n"
        "Quantizes MODEL to each type (from an F16 reference: a GGUF MODEL is the reference\n"
        "as it is, any other checkpoint is converted to F16 first), evaluates every type\n"
        "against the reference on the text, and writes OUT/report.md (table), report.json\n"
        "(every number), report.svg (bits per weight against KL divergence, Pareto front)\n"
        "and report-tensors.svg (each type's per-tensor relative RMSE by layer).\n\n"
        "  --text FILE      evaluation text (tokenized with the reference's vocabulary)\n"
        "  --types LIST     comma-separated types (default " DEFAULT_TYPES ")\n"
        "                   known: %s\n"
        "  --files          the arguments are existing GGUF files to compare (needs --base)\n"
        "  --base FILE      the reference for --files\n"
        "  --ctx N          chunk length in tokens (default 512)\n"
        "  --chunks N       evaluate at most N chunks (default: the whole text; N >= 2)\n"
        "  --threads N      threads (default: all cores)\n"
        "  --imatrix FILE   importance matrix for the quantized types\n"
        "  --calib FILE     calibration text for the gptq-* types (needed by them): the\n"
        "                   file type's recipe, block weights quantized with sequential GPTQ\n"
        "                   (as `quant gptq --format gguf`); quantize time includes it\n"
        "  --calib-tokens N calibration tokens, rounded down to chunks (default 4096)\n"
        "  --calib-ctx N    calibration chunk length (default 512)\n"
        "  --out DIR        where the report goes (default: .)\n"
        "  --keep           keep the quantized files in OUT/models (default: a temporary\n"
        "                   folder, removed at the end)\n"
        "  --html           also write OUT/report.html (table and both figures in one page)\n"
        "  --json           print the result as JSON on stdout (README.md)\n"
        "  --progress       progress lines even when stderr is not a terminal\n"
        "  -q, --quiet      no progress\n\n"
        "Exit codes: 0 ok, 1 failure, 2 usage error, 3 bad input file.\n",
        lq_report_job_names());
}

static int parse_num_opt(int c, const char *arg, struct report_opts *o)
{
    long long v;
    const char *name = c == 'c'   ? "ctx"
                       : c == 'n' ? "chunks"
                       : c == 'C' ? "calib-ctx"
                       : c == 'N' ? "calib-tokens"
                                  : "threads";
    int rc = report_cli_number("report", name, arg, c == 'n' || c == 'C' ? 2 : 1, &v);
    if (rc == 0) {
        if (c == 'C') {
            o->p.calib_ctx = v;
        } else if (c == 'N') {
            o->p.calib_tokens = v;
        } else if (c == 'c') {
            o->p.n_ctx = v;
        } else if (c == 'n') {
            o->p.n_chunks = v;
        } else {
            o->p.n_threads = (int)(v > 1024 ? 1024 : v);
        }
    }
    return rc;
}

static int parse_opts(int argc, char **argv, struct report_opts *o)
{
    static const struct option longs[] = {
        {"text", required_argument, NULL, 't'},
        {"types", required_argument, NULL, 'T'},
        {"ctx", required_argument, NULL, 'c'},
        {"chunks", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'o'},
        {"keep", no_argument, NULL, 'k'},
        {"html", no_argument, NULL, 'H'},
        {"imatrix", required_argument, NULL, 'i'},
        {"calib", required_argument, NULL, 'g'},
        {"calib-ctx", required_argument, NULL, 'C'},
        {"calib-tokens", required_argument, NULL, 'N'},
        {"files", no_argument, NULL, 'F'},
        {"base", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'J'},
        {"progress", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "hq", longs, NULL)) != -1) {
        switch (c) {
        case 't':
            o->p.text = optarg;
            break;
        case 'J':
            o->json = true;
            break;
        case 'P':
            progress_set_mode(PROGRESS_FORCE);
            break;
        case 'q':
            progress_set_mode(PROGRESS_QUIET);
            break;
        case 'T':
            o->types = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'k':
            o->keep = true;
            break;
        case 'H':
            o->html = true;
            break;
        case 'i':
            o->p.imatrix = optarg;
            break;
        case 'g':
            o->p.calib = optarg;
            break;
        case 'F':
            o->files = true;
            break;
        case 'b':
            o->base = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'c':
        case 'n':
        case 'j':
        case 'C':
        case 'N':
            rc = parse_num_opt(c, optarg, o);
            break;
        default:
            return cli_usage_error("report", "unknown option");
        }
    }
    return rc;
}

static int check_args(int argc, char **argv, struct report_opts *o)
{
    if (!o->p.text) {
        return cli_usage_error("report", "--text FILE is needed");
    }
    if (o->files) {
        if (!o->base || optind >= argc) {
            return cli_usage_error("report", "--files needs files and --base REF.gguf");
        }
        o->p.model = o->base;
        return 0;
    }
    if (o->base || optind != argc - 1) {
        return cli_usage_error("report", "expected one MODEL (or --files ... --base REF)");
    }
    o->p.model = argv[optind];
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
static int write_one(const lq_report *r, const char *dir, const char *name, json_t *doc,
                     lq_status (*fn)(const lq_report *, const char *, struct lq_error *))
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct lq_error err = {0};
    if (fn(r, path, &err) != LQ_OK) {
        return cli_fail("report", &err);
    }
    if (doc) {
        json_out_output(doc, path, strchr(name, '.') + 1);
    } else {
        fprintf(stderr, "report: wrote %s\n", path);
    }
    return LQ_EXIT_OK;
}

static int write_all(const lq_report *r, const struct report_opts *o, json_t *doc)
{
    int rc = write_one(r, o->out, "report.md", doc, lq_report_write_md);
    rc = rc ? rc : write_one(r, o->out, "report.json", doc, lq_report_write_json);
    rc = rc ? rc : write_one(r, o->out, "report.svg", doc, lq_report_write_svg);
    rc = rc ? rc : write_one(r, o->out, "report-tensors.svg", doc, lq_report_write_tensors_svg);
    if (rc == 0 && o->html) {
        rc = write_one(r, o->out, "report.html", doc, lq_report_write_html);
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

static int add_jobs(lq_report *r, int argc, char **argv, const struct report_opts *o)
{
    if (!o->files) {
        return report_cli_add_types("report", r, o->types);
    }
    for (int i = optind; i < argc; i++) {
        struct lq_error err = {0};
        if (lq_report_add_file(r, argv[i], &err) != LQ_OK) {
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
    if (o->keep && !o->json) {
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
    struct report_opts o = {.p = lq_report_params_default(), .types = DEFAULT_TYPES, .out = "."};
    struct progress bar;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    rc = check_args(argc, argv, &o);
    rc = rc ? rc : refuse_inputs_as_outputs(&o);
    rc = rc ? rc : prepare_out(&o);
    lq_report *r = NULL;
    struct lq_error err = {0};
    progress_start(&bar, "report", 0);
    o.p.on_progress = report_cli_progress;
    o.p.user = &bar;
    if (rc == 0 && lq_report_open(&o.p, &r, &err) != LQ_OK) {
        rc = cli_fail("report", &err);
    }
    rc = rc ? rc : add_jobs(r, argc, argv, &o);
    rc = rc ? rc : run(r, &o, &bar);
    lq_report_free(r);
    free(o.work_dir);
    return rc;
}

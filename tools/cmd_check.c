/* cmd_check.c - `quant check`: re-run what a baseline lists and fail on regressions (a CI
 * gate for quantizers); --update writes the baseline from a new run. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json_out.h"
#include "lq/check.h"
#include "report_cli.h"

struct check_opts {
    struct lq_check_params p;
    const char *junit, *types;
    long long ctx, chunks;
    bool update, quiet, json;
    double t0;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: quant check --baseline FILE MODEL [--text FILE] [--junit FILE] [--update]\n\n"
        "Quantizes MODEL to every type the baseline lists, evaluates each on the baseline's\n"
        "chunks of the text and compares with the baseline's tolerances: ΔPPL, mean KLD,\n"
        "top-1 agreement, each tensor's type and RMSE, and (types marked deterministic)\n"
        "each tensor's XXH3-64.\n\n"
        "  --baseline FILE  the baseline (JSON, see README.md)\n"
        "  --text FILE      evaluation text (default: the baseline's eval.text)\n"
        "  --junit FILE     also write the cases as JUnit XML\n"
        "  --threads N      threads (default: all cores)\n"
        "  --update         run and rewrite the baseline (keeping its tolerances) instead of\n"
        "                   failing; a new baseline also needs --text, --types, --ctx, --chunks\n"
        "  --types LIST     (new baseline) comma-separated types\n"
        "  --ctx N          (new baseline) chunk length\n"
        "  --chunks N       (new baseline) chunks to evaluate (>= 2)\n"
        "  -q, --quiet      print failures only, no progress\n"
        "  --json           print the result as JSON on stdout (README.md); exit codes stay\n"
        "  --progress       progress lines even when stderr is not a terminal\n\n"
        "Exit codes: 0 every tolerance held, 1 a regression (or a failed run), 2 a bad\n"
        "baseline (missing keys, unknown types, another model or text) or usage, 3 a\n"
        "baseline or model that is no regular file (a FIFO, a device).\n");
}

static int parse_opts(int argc, char **argv, struct check_opts *o)
{
    static const struct option longs[] = {
        {"baseline", required_argument, NULL, 'B'},
        {"text", required_argument, NULL, 't'},
        {"junit", required_argument, NULL, 'J'},
        {"threads", required_argument, NULL, 'j'},
        {"update", no_argument, NULL, 'U'},
        {"types", required_argument, NULL, 'T'},
        {"ctx", required_argument, NULL, 'c'},
        {"chunks", required_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j' + 256},
        {"progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    long long v;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "hq", longs, NULL)) != -1) {
        switch (c) {
        case 'B':
            o->p.baseline = optarg;
            break;
        case 't':
            o->p.text = optarg;
            break;
        case 'J':
            o->junit = optarg;
            break;
        case 'U':
            o->update = true;
            break;
        case 'T':
            o->types = optarg;
            break;
        case 'q':
            o->quiet = true;
            progress_set_mode(PROGRESS_QUIET);
            break;
        case 'j' + 256:
            o->json = true;
            break;
        case 'P':
            progress_set_mode(PROGRESS_FORCE);
            break;
        case 'c':
            rc = report_cli_number("check", "ctx", optarg, 4, &o->ctx);
            break;
        case 'n':
            rc = report_cli_number("check", "chunks", optarg, 2, &o->chunks);
            break;
        case 'j':
            rc = report_cli_number("check", "threads", optarg, 1, &v);
            o->p.n_threads = (int)(v > 1024 ? 1024 : v);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error("check", "unknown option");
        }
    }
    if (rc == 0 && (!o->p.baseline || optind != argc - 1)) {
        rc = cli_usage_error("check", "expected --baseline FILE and one MODEL");
    }
    if (rc == 0 && !o->update && (o->types || o->ctx || o->chunks)) {
        rc = cli_usage_error("check", "--types, --ctx and --chunks only make a new baseline "
                                      "(with --update); a check runs what the baseline lists");
    }
    o->p.model = rc == 0 ? argv[optind] : NULL;
    if (rc == 0) {
        rc = cli_refuse_input_as_output("check", o->junit, o->p.model, o->p.baseline,
                                        o->p.text ? o->p.text : "", (const char *)NULL);
    }
    return rc;
}

static void print_cases(const lq_check *c, bool quiet, FILE *f)
{
    for (int64_t i = 0; i < lq_check_n_cases(c); i++) {
        const struct lq_check_case *k = lq_check_case(c, i);
        if (!k->passed || !quiet) {
            fprintf(f, "%-4s %-10s %-13s %s\n", k->passed ? "ok" : "FAIL", k->type, k->name,
                    k->message);
        }
    }
}

/* The --json document of a check: verdict and every case (keys in README.md). */
static int print_json(const struct check_opts *o, const lq_check *c, enum lq_check_verdict v,
                      int rc)
{
    json_t *doc = json_out_new("check");
    json_out_input(doc, "baseline", o->p.baseline);
    json_out_input(doc, "model", o->p.model);
    if (o->p.text) {
        json_out_input(doc, "text", o->p.text);
    }
    if (o->junit) {
        json_out_output(doc, o->junit, "junit");
    }
    json_out_str(doc, "verdict", v == LQ_CHECK_PASS ? "pass" : "regression");
    json_out_int(doc, "n_cases", lq_check_n_cases(c));
    json_out_int(doc, "n_failed", lq_check_n_failed(c));
    json_t *arr = json_array();
    for (int64_t i = 0; i < lq_check_n_cases(c); i++) {
        const struct lq_check_case *k = lq_check_case(c, i);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "type", k->type, "name",
                                             k->name, "passed", k->passed, "message",
                                             k->message ? k->message : ""));
    }
    json_object_set_new(doc, "cases", arr);
    return json_out_emit(doc, progress_now() - o->t0, rc);
}

static int finish(const struct check_opts *o, lq_check *c, enum lq_check_verdict v)
{
    struct lq_error err = {0};
    print_cases(c, o->quiet, o->json ? stderr : stdout);
    if (o->junit && lq_check_write_junit(c, o->junit, &err) != LQ_OK) {
        return cli_fail("check", &err);
    }
    if (o->json) {
        if (v == LQ_CHECK_REGRESSION) {
            fprintf(stderr, "quant check: %lld of %lld checks regressed against %s\n",
                    (long long)lq_check_n_failed(c), (long long)lq_check_n_cases(c),
                    o->p.baseline);
        }
        return print_json(o, c, v, v == LQ_CHECK_REGRESSION ? LQ_EXIT_FAIL : LQ_EXIT_OK);
    }
    if (v == LQ_CHECK_REGRESSION) {
        fprintf(stderr, "quant check: %lld of %lld checks regressed against %s\n",
                (long long)lq_check_n_failed(c), (long long)lq_check_n_cases(c), o->p.baseline);
        return LQ_EXIT_FAIL;
    }
    printf("quant check: all %lld checks hold\n", (long long)lq_check_n_cases(c));
    return LQ_EXIT_OK;
}

static int check(struct check_opts *o, struct progress *bar)
{
    struct lq_error err = {0};
    lq_check *c = NULL;
    progress_start(bar, "check", 0);
    bar->unit = "chunks";
    enum lq_check_verdict v = lq_check_run(&o->p, &c, &err);
    progress_end(bar);
    int rc;
    if (v == LQ_CHECK_BAD_BASELINE) {
        fprintf(stderr, "quant check: bad baseline: %s\n", err.msg);
        /* a baseline that is no file at all (a FIFO, a device) is a refused input */
        rc = err.code == LQ_E_UNSUPPORTED ? LQ_EXIT_BADINPUT : LQ_EXIT_USAGE;
    } else if (v == LQ_CHECK_ERROR) {
        fprintf(stderr, "quant check: %s\n", err.msg);
        rc = LQ_EXIT_FAIL;
    } else {
        rc = finish(o, c, v);
    }
    lq_check_free(c);
    return rc;
}

/* The settings of a rewritten baseline: the options, else the old baseline's. */
static int update_params(const struct check_opts *o, const lq_baseline *old,
                         struct lq_report_params *rp)
{
    *rp = lq_report_params_default();
    rp->model = o->p.model;
    rp->text = o->p.text ? o->p.text : old ? lq_baseline_text(old) : NULL;
    rp->n_ctx = o->ctx ? o->ctx : old ? lq_baseline_n_ctx(old) : 0;
    rp->n_chunks = o->chunks ? o->chunks : old ? lq_baseline_n_chunks(old) : 0;
    rp->n_threads = o->p.n_threads;
    rp->on_progress = o->p.on_progress;
    rp->user = o->p.user;
    if (!rp->text || !rp->n_ctx || !rp->n_chunks || (!old && !o->types)) {
        return cli_usage_error("check", "a new baseline needs --text, --types, --ctx and "
                                        "--chunks");
    }
    return 0;
}

static int add_old_types(lq_report *r, const lq_baseline *old)
{
    for (int64_t i = 0; i < lq_baseline_n_types(old); i++) {
        struct lq_error err = {0};
        if (lq_report_add(r, lq_baseline_type(old, i), &err) != LQ_OK) {
            return cli_fail("check", &err);
        }
    }
    return 0;
}

static int update_run(const struct check_opts *o, const lq_baseline *old,
                      const struct lq_report_params *rp, struct progress *bar)
{
    lq_report *r = NULL;
    struct lq_error err = {0};
    int rc = lq_report_open(rp, &r, &err) == LQ_OK ? 0 : cli_fail("check", &err);
    if (rc == 0) {
        rc = o->types ? report_cli_add_types("check", r, o->types) : add_old_types(r, old);
    }
    if (rc == 0) {
        progress_start(bar, "check", 0);
        bar->unit = "chunks";
        lq_status s = lq_report_run(r, &err);
        progress_end(bar);
        rc = s == LQ_OK ? 0 : cli_fail("check", &err);
    }
    if (rc == 0 && lq_baseline_write(r, old, NULL, rp->text, o->p.baseline, &err) != LQ_OK) {
        rc = cli_fail("check", &err);
    }
    if (rc == 0 && o->json) {
        json_t *doc = json_out_new("check");
        json_out_input(doc, "model", o->p.model);
        json_out_input(doc, "text", rp->text);
        json_out_output(doc, o->p.baseline, "baseline");
        json_out_str(doc, "verdict", "updated");
        report_cli_json_entries(r, doc);
        rc = json_out_emit(doc, progress_now() - o->t0, rc);
    } else if (rc == 0) {
        report_cli_print_table(r, stdout);
        printf("quant check: wrote %s (%lld types)\n", o->p.baseline,
               (long long)lq_report_n_entries(r));
    }
    lq_report_free(r);
    return rc;
}

/* --update: a run with the old baseline's settings (or the options for a new one), then
 * the baseline rewritten with the old tolerances. */
static int update(const struct check_opts *o, struct progress *bar)
{
    lq_baseline *old = NULL;
    struct lq_error err = {0};
    if (access(o->p.baseline, F_OK) == 0 && lq_baseline_load(o->p.baseline, &old, &err) != LQ_OK) {
        fprintf(stderr, "quant check: bad baseline: %s\n", err.msg);
        return err.code == LQ_E_UNSUPPORTED ? LQ_EXIT_BADINPUT : LQ_EXIT_USAGE;
    }
    struct lq_report_params rp;
    int rc = update_params(o, old, &rp);
    rc = rc ? rc : update_run(o, old, &rp, bar);
    lq_baseline_free(old);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    struct check_opts o = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    struct progress bar;
    o.t0 = progress_now();
    progress_start(&bar, "check", 0);
    o.p.on_progress = report_cli_progress;
    o.p.user = &bar;
    return o.update ? update(&o, &bar) : check(&o, &bar);
}

/* cmd_optimize.c - `quant optimize MODEL --calib FILE (--target-size S | --target-bpw B) -o OUT`:
 * measure every tensor's cost in every candidate type, solve the allocation under the
 * budget, write the file (lq/optimize.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_opts.h"
#include "json_out.h"
#include "lq/optimize.h"
#include "progress.h"

struct opt_cli {
    const char *model, *calib, *out, *plan_out, *work;
    bool dry_run, resume, json, quiet;
    uint64_t target_bytes;
    double target_bpw;
    int threads;
    struct lq_opt_params p;
    struct progress bar;
    const char *stage;
};

/* "q4_k,q6_k" into types (at most cap); a usage error names a bad one. */
static int parse_types(const char *list, const char *opt, enum lq_type *types, int *n, int cap)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct lq_error err = {0};
        enum lq_type t;
        if (lq_type_from_name(tok, &t, &err) != LQ_OK || !lq_type_traits_get(t)->is_quantized ||
            !lq_type_traits_get(t)->quantize) {
            return cli_usage_error("optimize", "%s: '%s' is not a block type libquant writes",
                                   opt, tok);
        }
        if (*n == cap) {
            return cli_usage_error("optimize", "%s: at most %d types", opt, cap);
        }
        types[(*n)++] = t;
    }
    return *n > 0 ? 0 : cli_usage_error("optimize", "%s: no types given", opt);
}

static int parse(int argc, char **argv, struct opt_cli *o)
{
    struct cli_args a;
    int rc = cli_parse(CLI_OPTIMIZE, argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    o->model = a.pos[0];
    o->calib = cli_str(&a, OPT_CALIB);
    o->out = cli_str(&a, OPT_OUTPUT);
    o->plan_out = cli_str(&a, OPT_PLAN_OUT);
    o->work = cli_str(&a, OPT_WORK);
    o->dry_run = cli_has(&a, OPT_DRY_RUN);
    o->resume = cli_has(&a, OPT_RESUME);
    o->json = cli_has(&a, OPT_JSON);
    o->quiet = cli_has(&a, OPT_QUIET);
    o->threads = (int)cli_num(&a, OPT_THREADS);
    if (cli_has(&a, OPT_TARGET_SIZE) == cli_has(&a, OPT_TARGET_BPW)) {
        return cli_usage_error("optimize", "give one of --target-size and --target-bpw");
    }
    o->target_bytes = cli_has(&a, OPT_TARGET_SIZE) ? (uint64_t)cli_num(&a, OPT_TARGET_SIZE) : 0;
    o->target_bpw = cli_has(&a, OPT_TARGET_BPW) ? cli_real(&a, OPT_TARGET_BPW) : 0.0;
    if (!o->out && !o->dry_run) {
        return cli_usage_error("optimize", "-o OUT.gguf is needed (or --dry-run)");
    }
    if (o->resume && !o->work) {
        return cli_usage_error("optimize", "--resume needs --work DIR");
    }
    o->p = lq_opt_params_default();
    o->p.gptq = !cli_has(&a, OPT_NO_GPTQ);
    o->p.gp.act_order = cli_has(&a, OPT_ACT_ORDER);
    o->p.gp.damp = (float)cli_real(&a, OPT_DAMP);
    o->p.gp.n_threads = o->threads;
    o->p.calib_ctx = cli_num(&a, OPT_CALIB_CTX);
    o->p.calib_tokens = cli_num(&a, OPT_CALIB_TOKENS);
    o->p.kld_chunks = cli_num(&a, OPT_KLD_CHUNKS);
    o->p.work_dir = o->work;
    if (cli_has(&a, OPT_TYPES)) {
        rc = parse_types(cli_str(&a, OPT_TYPES), "--types", o->p.types, &o->p.n_types,
                         LQ_OPT_MAX_TYPES);
    }
    if (rc == 0 && cli_has(&a, OPT_VALIDATE)) {
        rc = parse_types(cli_str(&a, OPT_VALIDATE), "--validate", o->p.checks, &o->p.n_checks,
                         LQ_OPT_MAX_CHECKS);
    }
    rc = rc ? rc
            : cli_refuse_input_as_output("optimize", o->out, o->model, o->calib,
                                         (const char *)NULL);
    return rc ? rc
              : cli_refuse_input_as_output("optimize", o->plan_out, o->model, o->calib,
                                           o->out ? o->out : "", (const char *)NULL);
}

static void on_progress(void *user, const char *stage, int64_t done, int64_t total)
{
    struct opt_cli *o = user;
    if (o->stage != stage) { /* each stage gets its own bar and ETA */
        progress_end(&o->bar);
        o->stage = stage;
        static char what[64];
        snprintf(what, sizeof what, "optimize: %s", stage);
        progress_start(&o->bar, what, 0);
        o->bar.unit = "tensors";
    }
    progress_units(&o->bar, done, total, stage);
}

static void print_plan(const struct opt_cli *o, const struct lq_opt_plan *plan,
                       const struct lq_opt_table *tab)
{
    if (o->quiet || o->json) {
        return;
    }
    for (int64_t i = 0; i < plan->n; i++) {
        const struct lq_opt_plan_tensor *t = &plan->t[i];
        fprintf(stderr, "  %-28s %-8s %10llu bytes  predicted KLD %.3g  (%s alone: %.3g)\n",
                t->name, lq_type_name(t->type), (unsigned long long)t->bytes, t->predicted_kld,
                lq_type_name(t->probe_type), t->measured_kld);
    }
    for (int k = 0; k < tab->n_checks; k++) {
        fprintf(stderr, "optimize: validation in %s: Spearman rho %.3f (energy alone %.3f)\n",
                lq_type_name(tab->checks[k]), tab->rho_cost[k], tab->rho_energy[k]);
    }
    fprintf(stderr, "optimize: plan of %llu bytes (target %llu), predicted mean KLD %.6f\n",
            (unsigned long long)plan->bytes, (unsigned long long)plan->target_bytes,
            plan->predicted_kld);
}

static int print_json(const struct opt_cli *o, const struct lq_opt_plan *plan,
                      const struct lq_opt_table *tab, double secs)
{
    json_t *doc = json_out_new("optimize");
    json_out_input(doc, "model", o->model);
    json_out_input(doc, "calib", o->calib);
    if (!o->dry_run) {
        json_t *out = json_out_output(doc, o->out, "gguf");
        json_out_gguf_sizes(out, o->out);
    }
    json_out_int(doc, "target_bytes", (int64_t)plan->target_bytes);
    json_out_int(doc, "bytes", (int64_t)plan->bytes);
    json_out_real(doc, "predicted_kld", plan->predicted_kld);
    json_t *types = json_object();
    for (int64_t i = 0; i < plan->n; i++) {
        json_object_set_new(types, plan->t[i].name, json_string(lq_type_name(plan->t[i].type)));
    }
    json_object_set_new(doc, "types", types);
    json_t *val = json_array();
    for (int k = 0; k < tab->n_checks; k++) {
        json_array_append_new(val, json_pack("{s:s, s:f, s:f}", "type",
                                             lq_type_name(tab->checks[k]), "spearman",
                                             tab->rho_cost[k], "spearman_energy",
                                             tab->rho_energy[k]));
    }
    json_object_set_new(doc, "validation", val);
    return json_out_emit(doc, secs, LQ_EXIT_OK);
}

static int make_work_dir(const char *dir)
{
    if (dir && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        return cli_usage_error("optimize", "--work: cannot create '%s': %s", dir,
                               strerror(errno));
    }
    return 0;
}

static lq_status measure(struct opt_cli *o, struct lq_opt_table *tab, struct lq_error *err)
{
    char cache[4200];
    if (o->work) {
        snprintf(cache, sizeof cache, "%s/costs.json", o->work);
        if (o->resume && lq_opt_table_read(cache, o->model, o->calib, &o->p, tab, NULL) == LQ_OK) {
            if (!o->quiet && !o->json) {
                fprintf(stderr, "optimize: reusing the measurements in %s\n", cache);
            }
            return LQ_OK;
        }
    }
    LQ_TRY_CLI(lq_opt_measure(o->model, o->calib, &o->p, tab, err));
    return o->work ? lq_opt_table_write(tab, cache, o->model, o->calib, &o->p, err) : LQ_OK;
}

int cmd_optimize(int argc, char **argv)
{
    struct opt_cli o = {0};
    int rc = parse(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    rc = make_work_dir(o.work);
    if (rc != 0) {
        return rc;
    }
    const double t0 = progress_now();
    o.p.on_progress = o.quiet ? NULL : on_progress;
    o.p.user = &o;
    struct lq_error err = {0};
    struct lq_opt_table tab = {0};
    struct lq_opt_plan plan = {0};
    lq_status st = measure(&o, &tab, &err);
    progress_end(&o.bar);
    o.stage = NULL;
    if (st == LQ_OK) {
        st = lq_opt_plan_make(&tab, o.model, o.calib, &o.p, o.target_bytes, o.target_bpw, &plan,
                              &err);
        if (st == LQ_E_RANGE) { /* a target no plan can meet is the caller's to change */
            const bool prefixed = strncmp(err.msg, "optimize: ", 10) == 0;
            rc = cli_usage_error("optimize", "%s", err.msg + (prefixed ? 10 : 0));
            goto out;
        }
    }
    if (st == LQ_OK) {
        print_plan(&o, &plan, &tab);
    }
    if (st == LQ_OK && o.plan_out) {
        st = lq_opt_plan_write(&plan, o.plan_out, &err);
    }
    if (st == LQ_OK && !o.dry_run) {
        st = lq_opt_plan_apply(&plan, o.model, o.out, o.threads, o.p.on_progress, &o, &err);
        progress_end(&o.bar);
        struct stat sb = {0};
        if (st == LQ_OK && (stat(o.out, &sb) != 0 || (uint64_t)sb.st_size != plan.bytes)) {
            st = err.code = LQ_E_RANGE; /* the plan's size is exact: anything else is a bug */
            snprintf(err.msg, sizeof err.msg, "%s: %lld bytes written, the plan said %llu",
                     o.out, (long long)sb.st_size, (unsigned long long)plan.bytes);
        }
    }
    if (st != LQ_OK) {
        rc = cli_fail("optimize", &err);
        goto out;
    }
    const double secs = progress_now() - t0;
    if (!o.quiet && !o.json) {
        fprintf(stderr, "optimize: %s%s in %.1f s\n", o.dry_run ? "planned (dry run)" : "written to ",
                o.dry_run ? "" : o.out, secs);
    }
    rc = o.json ? print_json(&o, &plan, &tab, secs) : 0;
out:
    lq_opt_plan_free(&plan);
    lq_opt_table_free(&tab);
    return rc;
}

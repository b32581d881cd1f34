/* cmd_quantize.c - `quant quantize IN OUT TYPE`: llama-quantize's file types and recipes, in one
 * streaming pass over IN (a GGUF file or any checkpoint `quant convert` reads). */
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "cli_opts.h"
#include "convert_cli.h"
#include "lq/optimize.h"

/* --plan PLAN.json IN OUT (or -o OUT IN): the types and calibration of a `quant optimize`
 * plan, written by the same code as optimize's own file. */
static int quantize_plan(const struct cli_args *a)
{
    const bool out_opt = cli_has(a, OPT_OUTPUT);
    if (a->n_pos != (out_opt ? 1 : 2)) {
        return cli_usage_error("quantize", "with --plan, expected IN OUT (or -o OUT IN), no TYPE");
    }
    const char *in = a->pos[0], *out = out_opt ? cli_str(a, OPT_OUTPUT) : a->pos[1];
    const char *plan_path = cli_str(a, OPT_PLAN);
    int rc = cli_refuse_input_as_output("quantize", out, in, plan_path, (const char *)NULL);
    if (rc != 0) {
        return rc;
    }
    struct lq_error err = {0};
    struct lq_opt_plan plan;
    lq_status st = lq_opt_plan_read(plan_path, &plan, &err);
    if (st == LQ_OK) {
        rc = cli_refuse_input_as_output("quantize", out, plan.calib, (const char *)NULL);
        if (rc == 0) {
            st = lq_opt_plan_apply(&plan, in, out, (int)cli_num(a, OPT_THREADS), NULL, NULL,
                                   &err);
        }
        lq_opt_plan_free(&plan);
    }
    if (st != LQ_OK) {
        return cli_fail("quantize", &err);
    }
    if (rc == 0 && !cli_has(a, OPT_QUIET)) {
        fprintf(stderr, "quantize: %s written with the plan %s\n", out, plan_path);
    }
    return rc;
}

int cmd_quantize(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(CLI_QUANTIZE, argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    if (cli_has(&a, OPT_PLAN)) {
        return quantize_plan(&a);
    }
    struct convert_cli c = {.cmd = "quantize", .params = lq_convert_params_default()};
    rc = convert_cli_from_args(&c, &a);
    if (rc != 0) {
        goto out;
    }
    /* IN OUT TYPE as llama-quantize, or -o OUT IN TYPE as every other command writes */
    const bool out_opt = cli_has(&a, OPT_OUTPUT);
    if (a.n_pos != (out_opt ? 2 : 3)) {
        rc = cli_usage_error("quantize", out_opt ? "with -o OUT, expected IN TYPE"
                                                 : "expected IN OUT TYPE (or -o OUT IN TYPE)");
        goto out;
    }
    c.in = a.pos[0];
    c.out = out_opt ? cli_str(&a, OPT_OUTPUT) : a.pos[1];
    struct lq_error err;
    if (lq_ftype_from_name(a.pos[out_opt ? 1 : 2], &c.params.ftype, &err) != LQ_OK) {
        rc = cli_usage_error("quantize", "%s", err.msg);
        goto out;
    }
    rc = convert_cli_run(&c);
out:
    convert_cli_free(&c);
    return rc;
}

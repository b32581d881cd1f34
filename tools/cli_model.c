/* cli_model.c - the command-line options that become model parameters. */
#include "cli.h"
#include "cli_opts.h"
#include "lq/model.h"

int cli_model_params(const struct cli_args *a, const char *cmd, struct lq_model_params *mp)
{
    *mp = lq_model_params_default();
    mp->n_threads = (int)cli_num(a, OPT_THREADS);
    const char *w = cli_str(a, OPT_WEIGHTS);
    if (w && !lq_weights_memory_from_name(w, &mp->weights)) {
        char buf[256];
        return cli_usage_error(cmd, "--weights: '%s' is not one of %s",
                               cli_esc(w, buf, sizeof buf), lq_weights_memory_names());
    }
    return 0;
}

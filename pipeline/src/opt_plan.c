/* opt_plan.c - from a cost table and a budget to a plan, and from a plan to the file
 * (lq/optimize.h). */
#include "lq/optimize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/calib.h"
#include "lq/convert.h"
#include "lq/gptq_gguf.h"
#include "lq/model_open_any.h"
#include "lq/opt_solve.h"
#include "lq/source.h"
#include "lqi.h"

/* The type a plan gives a tensor, or -1 (the base recipe's). */
static int plan_type(const char *name, void *user)
{
    const struct lq_opt_plan *plan = user;
    for (int64_t i = 0; i < plan->n; i++) {
        if (strcmp(plan->t[i].name, name) == 0) {
            return (int)plan->t[i].type;
        }
    }
    return -1;
}

static lq_status add_plan_metadata(lq_gguf_writer *w, void *user, struct lq_error *err)
{
    char *json = lq_opt_plan_json(user, true);
    LQ_FAIL_IF(!json, err, LQ_E_NOMEM, "optimize: out of memory");
    lq_status rc = lq_gguf_writer_set_str(w, "libquant.plan", json, err);
    free(json);
    return rc;
}

/* general.file_type: the file type whose default type holds the most planned bytes (the
 * number llama.cpp prints as the file's type; every tensor's own type is in its info). */
static enum lq_ftype plan_ftype(const struct lq_opt_plan *plan)
{
    enum lq_ftype all[64];
    const size_t n = lq_ftype_list(all, 64);
    enum lq_ftype best = LQ_FTYPE_MOSTLY_Q8_0;
    uint64_t best_bytes = 0;
    for (size_t f = 0; f < n && f < 64; f++) {
        uint64_t sum = 0;
        if (lq_ftype_needs_imatrix(all[f])) { /* its recipe rules assume one */
            continue;
        }
        for (int64_t i = 0; i < plan->n; i++) {
            sum += (int)plan->t[i].type == lq_ftype_default_type(all[f]) ? plan->t[i].bytes : 0;
        }
        if (sum > best_bytes) {
            best_bytes = sum;
            best = all[f];
        }
    }
    return best;
}

static struct lq_convert_params plan_convert_params(const struct lq_opt_plan *plan)
{
    struct lq_convert_params cp = lq_convert_params_default();
    cp.ftype = plan_ftype(plan);
    cp.importance_supplied = true; /* lq_opt_plan_apply's GPTQ driver rounds with diag(H) */
    cp.type_override = plan_type;
    cp.type_override_user = (void *)plan;
    cp.add_metadata = add_plan_metadata;
    cp.add_metadata_user = (void *)plan;
    return cp;
}

/* The planned file's exact size (metadata included) and its tensor bytes. */
static lq_status plan_size(const lq_source *src, const struct lq_opt_plan *plan,
                           uint64_t *file, uint64_t *tensors, struct lq_error *err)
{
    const int64_t n = lq_source_n_tensors(src);
    enum lq_type *types = lqi_calloc((size_t)(n ? n : 1), sizeof *types);
    LQ_FAIL_IF(!types, err, LQ_E_NOMEM, "optimize: out of memory");
    const struct lq_convert_params cp = plan_convert_params(plan);
    int n_fallback = 0;
    lq_status rc = lq_convert_plan(src, &cp, types, &n_fallback, err);
    if (rc == LQ_OK) {
        rc = lq_convert_file_size(src, &cp, types, file, err);
    }
    *tensors = 0;
    for (int64_t i = 0; rc == LQ_OK && i < n; i++) {
        const struct lq_source_tensor *t = lq_source_tensor(src, i);
        int64_t rows = 1;
        for (int d = 1; d < t->n_dims; d++) {
            rows *= t->ne[d];
        }
        *tensors += lq_row_size(types[i], t->ne[0]) * (uint64_t)rows;
    }
    lqi_free(types);
    return rc;
}

static uint64_t source_elements(const lq_source *src)
{
    uint64_t n = 0;
    for (int64_t i = 0; i < lq_source_n_tensors(src); i++) {
        const struct lq_source_tensor *t = lq_source_tensor(src, i);
        uint64_t e = 1;
        for (int d = 0; d < t->n_dims; d++) {
            e *= (uint64_t)t->ne[d];
        }
        n += e;
    }
    return n;
}

static void fill_plan(const struct lq_opt_table *tab, const int *pick, struct lq_opt_plan *plan)
{
    plan->predicted_kld = 0.0;
    for (int64_t i = 0; i < tab->n; i++) {
        const struct lq_opt_tensor *t = &tab->t[i];
        struct lq_opt_plan_tensor *o = &plan->t[i];
        snprintf(o->name, sizeof o->name, "%s", t->name);
        o->type = t->types[pick[i]];
        o->bytes = t->bytes[pick[i]];
        o->predicted_kld = t->cost[pick[i]];
        o->probe_type = t->probe_type;
        o->measured_kld = t->probe_kld;
        plan->predicted_kld += o->predicted_kld;
    }
}

/* Solves with the budget for the items lowered by what the rest of the file takes; the
 * rest (metadata with the plan in it, padding) depends a little on the choice, so the exact
 * size is checked and the items' budget lowered by any excess until it fits. */
static lq_status solve_to_fit(const struct lq_opt_table *tab, const lq_source *src,
                              uint64_t budget, bool bpw, struct lq_opt_item *items, int *pick,
                              struct lq_opt_plan *plan, struct lq_error *err)
{
    /* the file with every tensor in its smallest candidate: the fixed part and the minimum */
    struct lq_opt_problem pr = {.n_items = tab->n, .items = items, .budget = UINT64_MAX};
    const uint64_t items_min = lq_opt_min_bytes(&pr);
    LQ_TRY(lq_opt_solve(&(struct lq_opt_problem){.n_items = tab->n, .items = items,
                                                 .budget = items_min},
                        pick, NULL, err));
    fill_plan(tab, pick, plan);
    uint64_t file = 0, tensors = 0;
    LQ_TRY(plan_size(src, plan, &file, &tensors, err));
    const uint64_t min_total = bpw ? tensors : file;
    LQ_FAIL_IF(budget < min_total, err, LQ_E_RANGE,
               "optimize: the target of %llu bytes%s is below the smallest possible file, "
               "%llu bytes%s (every tensor in its smallest candidate type)",
               (unsigned long long)budget, bpw ? " of tensors" : "",
               (unsigned long long)min_total, bpw ? " of tensors" : "");
    pr.fixed_bytes = min_total - items_min;
    pr.budget = budget;
    for (int tries = 0; tries < 16; tries++) {
        LQ_TRY(lq_opt_solve(&pr, pick, NULL, err));
        fill_plan(tab, pick, plan);
        LQ_TRY(plan_size(src, plan, &file, &tensors, err));
        plan->bytes = file;
        const uint64_t used = bpw ? tensors : file;
        if (used <= budget) {
            return LQ_OK;
        }
        pr.fixed_bytes += used - budget;
    }
    return lqi_set_error(err, LQ_E_RANGE, "optimize: no plan fits %llu bytes",
                         (unsigned long long)budget);
}

lq_status lq_opt_plan_make(const struct lq_opt_table *tab, const char *model_path,
                           const char *calib_path, const struct lq_opt_params *p,
                           uint64_t target_bytes, double bpw, struct lq_opt_plan *plan,
                           struct lq_error *err)
{
    LQ_FAIL_IF(!tab || !model_path || !calib_path || !p || !plan || tab->n < 1, err,
               LQ_E_INVALID_ARG, "optimize: NULL argument or empty table");
    memset(plan, 0, sizeof *plan);
    plan->model = lqi_strdup(model_path);
    plan->calib = lqi_strdup(calib_path);
    plan->t = lqi_calloc((size_t)tab->n, sizeof *plan->t);
    struct lq_opt_item *items = lqi_calloc((size_t)tab->n, sizeof *items);
    struct lq_opt_choice *ch = lqi_calloc((size_t)tab->n * LQ_OPT_MAX_TYPES, sizeof *ch);
    int *pick = lqi_calloc((size_t)tab->n, sizeof *pick);
    lq_source *src = NULL;
    lq_status rc = plan->model && plan->calib && plan->t && items && ch && pick
                       ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "optimize: out of memory");
    plan->n = tab->n;
    plan->calib_ctx = p->calib_ctx;
    plan->calib_tokens = p->calib_tokens;
    plan->gptq = p->gptq;
    plan->act_order = p->gp.act_order;
    plan->damp = p->gp.damp;
    plan->target_is_bpw = bpw > 0.0;
    plan->target_bpw = bpw;
    for (int64_t i = 0; rc == LQ_OK && i < tab->n; i++) {
        for (int k = 0; k < tab->t[i].n_types; k++) {
            ch[i * LQ_OPT_MAX_TYPES + k] = (struct lq_opt_choice){tab->t[i].bytes[k],
                                                                  tab->t[i].cost[k]};
        }
        items[i] = (struct lq_opt_item){tab->t[i].n_types, ch + i * LQ_OPT_MAX_TYPES};
    }
    if (rc == LQ_OK) {
        rc = lq_source_open(model_path, &src, err);
    }
    if (rc == LQ_OK && bpw > 0.0) {
        target_bytes = (uint64_t)(bpw * (double)source_elements(src) / 8.0);
    }
    plan->target_bytes = target_bytes;
    if (rc == LQ_OK) {
        rc = solve_to_fit(tab, src, target_bytes, bpw > 0.0, items, pick, plan, err);
    }
    lq_source_free(src);
    lqi_free(items);
    lqi_free(ch);
    lqi_free(pick);
    if (rc != LQ_OK) {
        lq_opt_plan_free(plan);
    }
    return rc;
}

struct apply_progress {
    lq_opt_progress_fn fn;
    void *user;
};

static void on_gptq_weight(void *user, const struct lq_gptq_gguf_weight *w)
{
    const struct apply_progress *ap = user;
    if (ap->fn) {
        ap->fn(ap->user, "gptq", w->index + 1, w->n_weights);
    }
}

lq_status lq_opt_plan_apply(const struct lq_opt_plan *plan, const char *model_path,
                            const char *out_path, int n_threads, lq_opt_progress_fn on_progress,
                            void *user, struct lq_error *err)
{
    LQ_FAIL_IF(!plan || !model_path || !out_path || !plan->calib, err, LQ_E_INVALID_ARG,
               "optimize: NULL argument");
    lq_source *src = NULL; /* a plan names tensors of its model: any other is refused */
    LQ_TRY(lq_source_open(model_path, &src, err));
    lq_status rc = LQ_OK;
    for (int64_t i = 0; rc == LQ_OK && i < plan->n; i++) {
        if (lq_source_find_tensor(src, plan->t[i].name) < 0) {
            rc = lqi_set_error(err, LQ_E_NOT_FOUND, "%s: the plan's tensor '%s' is not in %s",
                               plan->model ? plan->model : "plan", plan->t[i].name, model_path);
        }
    }
    lq_source_free(src);
    LQ_TRY(rc);
    struct apply_progress ap = {on_progress, user};
    struct lq_gptq_gguf_params gp = lq_gptq_gguf_params_default();
    const struct lq_convert_params cp = plan_convert_params(plan);
    gp.ftype = cp.ftype;
    gp.gp.damp = plan->damp;
    gp.gp.act_order = plan->act_order;
    gp.gp.n_threads = n_threads;
    gp.type_override = plan_type;
    gp.add_metadata = add_plan_metadata;
    gp.plan_user = (void *)plan;
    gp.round_importance = true;
    gp.round_all = !plan->gptq;
    gp.on_weight = on_gptq_weight;
    gp.user = &ap;
    return lq_gptq_gguf_file(model_path, plan->calib, plan->calib_ctx, plan->calib_tokens,
                             out_path, &gp, NULL, err);
}

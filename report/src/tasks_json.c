/* tasks_json.c - per-task results to and from JSON (lq/tasks_json.h). */
#include "lq/tasks_json.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lqi.h"

static json_t *outcome_json(const struct lq_task_outcome *o)
{
    json_t *s = json_array();
    for (int32_t i = 0; i < o->n_choice; i++) {
        json_array_append_new(s, json_real(o->scores[i]));
    }
    return json_pack("{s:i,s:i,s:b,s:o}", "chosen", (int)o->chosen, "gold", (int)o->gold, "correct",
                     o->correct, "scores", s);
}

static json_t *compare_json(const struct lq_task_compare *c, const char *base)
{
    return json_pack("{s:s?,s:f,s:f,s:f,s:[f,f],s:s,s:I,s:I,s:I,s:I,s:f}", "base", base, "acc",
                     c->acc_a, "acc_base", c->acc_b, "diff", c->diff, "ci95", c->lo, c->hi,
                     "interval", "newcombe-paired-score", "gained", (json_int_t)c->gained, "lost",
                     (json_int_t)c->lost, "both", (json_int_t)c->both, "neither",
                     (json_int_t)c->neither, "p_mcnemar", c->p_mcnemar);
}

char *lq_task_results_to_json(const lq_task_results *r, const char *file, const char *model,
                              const struct lq_task_compare *cmp, const char *base)
{
    const int64_t n = lq_task_results_count(r), k = lq_task_results_correct(r);
    const double sec = lq_task_results_seconds(r);
    double lo, hi;
    lq_wilson95(k, n, &lo, &hi);
    json_t *tasks = json_array();
    for (int64_t i = 0; i < n; i++) {
        json_array_append_new(tasks, outcome_json(lq_task_results_get(r, i)));
    }
    json_t *j = json_pack("{s:s,s:i,s:s,s:I,s:I,s:f,s:[f,f],s:f,s:f}", "format", "libquant-tasks",
                          "version", 1, "task", lq_task_kind_name(lq_task_results_kind(r)),
                          "n_task", (json_int_t)n, "correct", (json_int_t)k, "accuracy",
                          n ? (double)k / (double)n : 0.0, "ci95", lo, hi, "seconds", sec,
                          "tasks_per_second", sec > 0 ? (double)n / sec : 0.0);
    if (!j) {
        json_decref(tasks);
        return NULL;
    }
    json_object_set_new(j, "file", file ? json_string(file) : json_null());
    json_object_set_new(j, "model", model ? json_string(model) : json_null());
    if (cmp) {
        json_object_set_new(j, "compare", compare_json(cmp, base));
    }
    json_object_set_new(j, "tasks", tasks);
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(j);
    return s;
}

// ---- loading ------------------------------------------------------------------------------

static lq_status kind_of(const char *path, json_t *j, enum lq_task_kind *kind, struct lq_error *err)
{
    const char *fmt = json_string_value(json_object_get(j, "format"));
    LQ_FAIL_IF(!fmt || strcmp(fmt, "libquant-tasks") != 0, err, LQ_E_FORMAT,
               "%s: format: not \"libquant-tasks\"", path);
    LQ_FAIL_IF(json_integer_value(json_object_get(j, "version")) != 1, err, LQ_E_FORMAT,
               "%s: version: not 1", path);
    const char *t = json_string_value(json_object_get(j, "task"));
    LQ_FAIL_IF(!t, err, LQ_E_FORMAT, "%s: task: missing", path);
    if (strcmp(t, lq_task_kind_name(LQ_TASK_HELLASWAG)) == 0) {
        *kind = LQ_TASK_HELLASWAG;
    } else if (strcmp(t, lq_task_kind_name(LQ_TASK_MULTIPLE_CHOICE)) == 0) {
        *kind = LQ_TASK_MULTIPLE_CHOICE;
    } else {
        return lqi_set_error(err, LQ_E_FORMAT, "%s: task: unknown kind '%s'", path, t);
    }
    return LQ_OK;
}

/* The choice count of every task (checked), into a new array. */
static lq_status choice_counts(const char *path, json_t *tasks, int32_t **out, struct lq_error *err)
{
    const size_t n = json_array_size(tasks);
    int32_t *nc = lqi_malloc((n ? n : 1) * sizeof *nc);
    LQ_FAIL_IF(!nc, err, LQ_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        const size_t k = json_array_size(json_object_get(json_array_get(tasks, i), "scores"));
        if (k < 1 || k > LQ_TASK_MAX_CHOICES) {
            lqi_free(nc);
            return lqi_set_error(err, LQ_E_FORMAT, "%s: tasks[%zu].scores: %zu choices", path, i,
                                 k);
        }
        nc[i] = (int32_t)k;
    }
    *out = nc;
    return LQ_OK;
}

static lq_status fill(const char *path, json_t *tasks, lq_task_results *r, struct lq_error *err)
{
    double sc[LQ_TASK_MAX_CHOICES];
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        json_t *t = json_array_get(tasks, i), *s = json_object_get(t, "scores");
        json_t *c = json_object_get(t, "chosen"), *g = json_object_get(t, "gold");
        json_t *ok = json_object_get(t, "correct");
        LQ_FAIL_IF(!json_is_integer(c) || !json_is_integer(g) || !json_is_boolean(ok), err,
                   LQ_E_FORMAT, "%s: tasks[%zu]: chosen, gold or correct missing or mistyped", path,
                   i);
        for (size_t k = 0; k < json_array_size(s); k++) {
            LQ_FAIL_IF(!json_is_number(json_array_get(s, k)), err, LQ_E_FORMAT,
                       "%s: tasks[%zu].scores[%zu]: not a number", path, i, k);
            sc[k] = json_number_value(json_array_get(s, k));
        }
        const json_int_t ci = json_integer_value(c), gi = json_integer_value(g);
        LQ_FAIL_IF(ci < 0 || gi < 0 || ci >= (json_int_t)json_array_size(s) ||
                       gi >= (json_int_t)json_array_size(s),
                   err, LQ_E_FORMAT, "%s: tasks[%zu]: chosen or gold out of range", path, i);
        LQ_TRY(lq_task_results_set(r, (int64_t)i, (int32_t)ci, (int32_t)gi, json_is_true(ok), sc,
                                   err));
    }
    return LQ_OK;
}

lq_status lq_task_results_load(const char *path, lq_task_results **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "tasks: NULL argument");
    *out = NULL;
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    LQ_FAIL_IF(!j, err, LQ_E_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    enum lq_task_kind kind = LQ_TASK_HELLASWAG;
    int32_t *nc = NULL;
    lq_task_results *r = NULL;
    json_t *tasks = json_object_get(j, "tasks");
    lq_status rc = kind_of(path, j, &kind, err);
    if (rc == LQ_OK && !json_is_array(tasks)) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s: tasks: missing or not an array", path);
    }
    rc = rc == LQ_OK ? choice_counts(path, tasks, &nc, err) : rc;
    rc = rc == LQ_OK ? lq_task_results_new(kind, (int64_t)json_array_size(tasks), nc, &r, err) : rc;
    rc = rc == LQ_OK ? fill(path, tasks, r, err) : rc;
    lqi_free(nc);
    json_decref(j);
    if (rc != LQ_OK) {
        lq_task_results_free(r);
        return rc;
    }
    *out = r;
    return LQ_OK;
}

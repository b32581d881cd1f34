/* check_compare.c - a run against its baseline: one case per type and measure, each with a
 * message saying what was measured against what, and for failures which tensors. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_impl.h"
#include "lqi.h"
#include "report_impl.h"

/* Failing tensors listed by name in a message; the rest are counted. */
#define MAX_LISTED 8

struct check_case {
    struct lq_check_case pub;
    char *type, *msg; /* owned: the check outlives the baseline */
};

struct lq_check {
    struct check_case *cases;
    int64_t n, cap, n_failed;
};

/* A message under construction (open_memstream). */
struct msg {
    FILE *f;
    char *buf;
    size_t len;
    int listed, more;
};

static lq_status add_case(lq_check *c, const char *type, const char *name, bool passed,
                          struct msg *m, struct lq_error *err)
{
    if (m->more > 0) {
        fprintf(m->f, "; and %d more", m->more);
    }
    fclose(m->f);
    if (c->n == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 16;
        struct check_case *cs = lqi_realloc(c->cases, (size_t)cap * sizeof *cs);
        if (!cs) {
            free(m->buf);
            return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
        }
        c->cases = cs;
        c->cap = cap;
    }
    struct check_case *k = &c->cases[c->n++];
    k->msg = m->buf;
    k->type = lqi_strdup(type);
    LQ_FAIL_IF(!k->type, err, LQ_E_NOMEM, "out of memory");
    k->pub =
        (struct lq_check_case){.type = k->type, .name = name, .passed = passed, .message = m->buf};
    c->n_failed += !passed;
    return LQ_OK;
}

static lq_status msg_open(struct msg *m, struct lq_error *err)
{
    memset(m, 0, sizeof *m);
    m->f = open_memstream(&m->buf, &m->len);
    LQ_FAIL_IF(!m->f, err, LQ_E_NOMEM, "out of memory");
    return LQ_OK;
}

/* Appends one listed item ("; " separated), counting those past MAX_LISTED. */
static void msg_item(struct msg *m, const char *fmt, ...) LQI_PRINTF(2, 3);
static void msg_item(struct msg *m, const char *fmt, ...)
{
    if (m->listed == MAX_LISTED) {
        m->more++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs(m->listed++ ? "; " : "", m->f);
    vfprintf(m->f, fmt, ap);
    va_end(ap);
}

// ---- metrics --------------------------------------------------------------------------------

static lq_status metric(lq_check *c, const char *type, const char *name, double now, double base,
                        double tol, bool higher_better, struct lq_error *err)
{
    struct msg m;
    LQ_TRY(msg_open(&m, err));
    const double limit = higher_better ? base - tol : base + tol;
    const bool ok = isfinite(now) && (higher_better ? now >= limit : now <= limit);
    fprintf(m.f, "%s %.6g (baseline %.6g, %s %.6g)", name, now, base,
            higher_better ? "at least" : "at most", limit);
    return add_case(c, type, name, ok, &m, err);
}

static lq_status metrics(lq_check *c, const struct bl_type *t, const struct lq_report_entry *e,
                         struct lq_error *err)
{
    LQ_TRY(metric(c, t->name, "dppl", e->dppl, t->dppl, t->tol.dppl, false, err));
    LQ_TRY(
        metric(c, t->name, "mean_kld", e->eval.kld.kld, t->mean_kld, t->tol.mean_kld, false, err));
    return metric(c, t->name, "top1", e->eval.kld.same_top, t->top1, t->tol.top1, true, err);
}

/* Task accuracy: fails only when the drop against the reference (scored in the same run) is
 * significantly larger than the tolerance, i.e. the 95 % interval of the paired difference
 * reaches below -task_acc_drop; a drop within the noise of the task count passes. */
static lq_status task_accuracy(lq_check *c, const struct bl_type *t,
                               const struct lq_report_entry *e, struct lq_error *err)
{
    struct msg m;
    LQ_TRY(msg_open(&m, err));
    const struct lq_task_compare *k = &e->task_cmp;
    const bool ok = k->lo >= -t->tol.task_acc_drop;
    fprintf(m.f,
            "task accuracy %.2f %% (reference %.2f %%, %lld tasks): difference %+.2f points, "
            "95 %% interval [%+.2f, %+.2f] (Newcombe paired), lower bound at least %+.2f; "
            "%lld gained, %lld lost",
            100.0 * k->acc_a, 100.0 * k->acc_b, (long long)k->n, 100.0 * k->diff, 100.0 * k->lo,
            100.0 * k->hi, -100.0 * t->tol.task_acc_drop, (long long)k->gained, (long long)k->lost);
    return add_case(c, t->name, "task_acc", ok, &m, err);
}

// ---- tensors --------------------------------------------------------------------------------

static const struct lq_report_tensor *find_tensor(const struct lq_report_entry *e, const char *name)
{
    for (int64_t i = 0; i < e->n_tensors; i++) {
        if (strcmp(e->tensors[i].name, name) == 0) {
            return &e->tensors[i];
        }
    }
    return NULL;
}

/* One baseline tensor against the run's: false (and an item listed) when it regressed. */
static bool tensor_ok(const struct bl_type *t, const struct bl_tensor *b,
                      const struct lq_report_tensor *r, struct msg *m)
{
    if (!r) {
        msg_item(m, "%s missing from the run", b->name);
        return false;
    }
    if (r->type != b->type) {
        msg_item(m, "%s stored as %s, baseline %s", b->name, lq_type_name(r->type),
                 lq_type_name(b->type));
        return false;
    }
    if (!b->has_rmse) {
        return true;
    }
    const double limit = b->rmse * (1 + t->tol.tensor_rmse_rel) + t->tol.tensor_rmse_abs;
    if (!r->compared || !(r->stats.rmse <= limit)) {
        msg_item(m, "%s rmse %.6g > %.6g (baseline %.6g; rel. RMSE %.6g, baseline %.6g)", b->name,
                 r->stats.rmse, limit, b->rmse, r->stats.rel_rmse, b->rel_rmse);
        return false;
    }
    return true;
}

static lq_status tensors_rmse(lq_check *c, const struct bl_type *t, const struct lq_report_entry *e,
                              struct lq_error *err)
{
    struct msg m;
    LQ_TRY(msg_open(&m, err));
    int64_t bad = 0;
    for (int64_t i = 0; i < t->n_tensors; i++) {
        bad += !tensor_ok(t, &t->tensors[i], find_tensor(e, t->tensors[i].name), &m);
    }
    for (int64_t i = 0; i < e->n_tensors; i++) {
        bool known = false;
        for (int64_t k = 0; k < t->n_tensors && !known; k++) {
            known = strcmp(t->tensors[k].name, e->tensors[i].name) == 0;
        }
        if (!known) {
            msg_item(&m, "%s is not in the baseline", e->tensors[i].name);
            bad++;
        }
    }
    if (bad == 0) {
        fprintf(m.f, "%lld tensors: type and RMSE within tolerance", (long long)t->n_tensors);
    } else {
        fprintf(m.f, " [%lld of %lld tensors regressed]", (long long)bad, (long long)t->n_tensors);
    }
    return add_case(c, t->name, "tensors.rmse", bad == 0, &m, err);
}

static lq_status tensors_hash(lq_check *c, const struct bl_type *t, const struct lq_report_entry *e,
                              struct lq_error *err)
{
    struct msg m;
    LQ_TRY(msg_open(&m, err));
    int64_t bad = 0;
    for (int64_t i = 0; i < t->n_tensors; i++) {
        const struct lq_report_tensor *r = find_tensor(e, t->tensors[i].name);
        if (!r || r->xxh3 != t->tensors[i].xxh3) {
            char want[17], got[17] = "(missing)";
            lqi_hex64(t->tensors[i].xxh3, want);
            if (r) {
                lqi_hex64(r->xxh3, got);
            }
            msg_item(&m, "%s xxh3 %s, baseline %s", t->tensors[i].name, got, want);
            bad++;
        }
    }
    if (bad == 0) {
        fprintf(m.f, "%lld tensors byte-identical to the baseline", (long long)t->n_tensors);
    } else {
        fprintf(m.f, " [%lld of %lld tensors changed bytes]", (long long)bad,
                (long long)t->n_tensors);
    }
    return add_case(c, t->name, "tensors.xxh3", bad == 0, &m, err);
}

// ---- the comparison -------------------------------------------------------------------------

static lq_status compare_type(lq_check *c, const struct bl_type *t, const lq_report *r,
                              struct lq_error *err)
{
    const struct lq_report_entry *e = lq_report_find(r, t->name);
    LQ_FAIL_IF(!e || !e->done || !e->eval.has_kld, err, LQ_E_INVALID_ARG,
               "check: type '%s' of the baseline has not been run", t->name);
    LQ_TRY(metrics(c, t, e, err));
    if (e->has_task) {
        LQ_TRY(task_accuracy(c, t, e, err));
    }
    LQ_TRY(tensors_rmse(c, t, e, err));
    return t->deterministic ? tensors_hash(c, t, e, err) : LQ_OK;
}

lq_status lq_check_compare(const lq_baseline *b, const lq_report *r, lq_check **out,
                           struct lq_error *err)
{
    LQ_FAIL_IF(!b || !r || !out, err, LQ_E_INVALID_ARG, "check: NULL argument");
    *out = NULL;
    lq_check *c = lqi_calloc(1, sizeof *c);
    LQ_FAIL_IF(!c, err, LQ_E_NOMEM, "out of memory");
    lq_status s = LQ_OK;
    for (int64_t i = 0; s == LQ_OK && i < b->n_types; i++) {
        s = compare_type(c, &b->types[i], r, err);
    }
    if (s != LQ_OK) {
        lq_check_free(c);
        return s;
    }
    *out = c;
    return LQ_OK;
}

int64_t lq_check_n_cases(const lq_check *c)
{
    return c ? c->n : 0;
}

const struct lq_check_case *lq_check_case(const lq_check *c, int64_t i)
{
    return c && i >= 0 && i < c->n ? &c->cases[i].pub : NULL;
}

int64_t lq_check_n_failed(const lq_check *c)
{
    return c ? c->n_failed : 0;
}

void lq_check_free(lq_check *c)
{
    if (!c) {
        return;
    }
    for (int64_t i = 0; i < c->n; i++) {
        free(c->cases[i].msg);
        lqi_free(c->cases[i].type);
    }
    lqi_free(c->cases);
    lqi_free(c);
}

// ---- JUnit XML ------------------------------------------------------------------------------

lq_status lq_check_write_junit(const lq_check *c, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!c || !path, err, LQ_E_INVALID_ARG, "check: NULL argument");
    struct report_out o;
    LQ_TRY(lqi_out_open(&o, path, err));
    fprintf(o.f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites tests=\"%lld\" failures=\"%lld\">\n"
            "<testsuite name=\"quant check\" tests=\"%lld\" failures=\"%lld\">\n",
            (long long)c->n, (long long)c->n_failed, (long long)c->n, (long long)c->n_failed);
    for (int64_t i = 0; i < c->n; i++) {
        const struct lq_check_case *k = &c->cases[i].pub;
        fprintf(o.f, "<testcase classname=\"quant check.");
        lqi_xml_escape(o.f, k->type);
        fprintf(o.f, "\" name=\"%s\">", k->name);
        if (!k->passed) {
            fprintf(o.f, "<failure message=\"");
            lqi_xml_escape(o.f, k->message);
            fprintf(o.f, "\"/>");
        } else {
            fprintf(o.f, "<system-out>");
            lqi_xml_escape(o.f, k->message);
            fprintf(o.f, "</system-out>");
        }
        fprintf(o.f, "</testcase>\n");
    }
    fprintf(o.f, "</testsuite>\n</testsuites>\n");
    return lqi_out_close(&o, err);
}

/* test_report_charts.c - the report's figures on types that bunch: q4_0, q4_1, q4_k_s and
 * q4_k_m of the tiny model, plus a copy of the q4_0 file (a second point exactly on q4_0's).
 * The chart's x axis is bits per weight, each point's tooltip has its size, no two labels
 * overlap each other or any point; the heat map has one cell per (type, tensor) holding
 * report.json's relative RMSE, coloured on one monotone scale; both are strict XML. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lq/report.h"
#include "lqt_util.h"
#include "lqt_xml.h"

#define MAX_ITEMS 1024

struct fixture {
    lq_report *r;
    char *dir;
    char json[4096], svg[4096], heat[4096], html[4096], md[4096];
    json_t *j;
};

static int setup(void **state)
{
    static struct fixture fx;
    char models[4096], copy[4200], q40[4200];
    fx.dir = lqt_tmpdir();
    snprintf(models, sizeof models, "%s/models", fx.dir);
    struct lq_report_params p = lq_report_params_default();
    p.model = lqt_data_path("models/tiny-llama-6L");
    p.text = lqt_data_path("text/heldout-A.txt");
    p.n_ctx = 64;
    p.n_chunks = 2;
    p.n_threads = 2;
    p.work_dir = models;
    struct lq_error err = {0};
    const char *types[] = {"q4_0", "q4_1", "q4_k_s", "q4_k_m"};
    lq_status s = lq_report_open(&p, &fx.r, &err);
    for (size_t i = 0; s == LQ_OK && i < 4; i++) {
        s = lq_report_add(fx.r, types[i], &err);
    }
    s = s == LQ_OK ? lq_report_run(fx.r, &err) : s;
    /* the same file again under another name: two points on the same spot */
    snprintf(q40, sizeof q40, "%.4000s/q4_0.gguf", models);
    snprintf(copy, sizeof copy, "%.4000s/q4_0-copy.gguf", fx.dir);
    if (s == LQ_OK && link(q40, copy) != 0) {
        fprintf(stderr, "cannot link %s\n", copy);
        return -1;
    }
    s = s == LQ_OK ? lq_report_add_file(fx.r, copy, &err) : s;
    s = s == LQ_OK ? lq_report_run(fx.r, &err) : s;
    snprintf(fx.json, sizeof fx.json, "%s/report.json", fx.dir);
    snprintf(fx.svg, sizeof fx.svg, "%s/report.svg", fx.dir);
    snprintf(fx.heat, sizeof fx.heat, "%s/report-tensors.svg", fx.dir);
    snprintf(fx.html, sizeof fx.html, "%s/report.html", fx.dir);
    snprintf(fx.md, sizeof fx.md, "%s/report.md", fx.dir);
    s = s == LQ_OK ? lq_report_write_json(fx.r, fx.json, &err) : s;
    s = s == LQ_OK ? lq_report_write_svg(fx.r, fx.svg, &err) : s;
    s = s == LQ_OK ? lq_report_write_tensors_svg(fx.r, fx.heat, &err) : s;
    s = s == LQ_OK ? lq_report_write_html(fx.r, fx.html, &err) : s;
    s = s == LQ_OK ? lq_report_write_md(fx.r, fx.md, &err) : s;
    if (s != LQ_OK) {
        fprintf(stderr, "report: %s\n", err.msg);
        return -1;
    }
    json_error_t je;
    fx.j = json_load_file(fx.json, 0, &je);
    if (!fx.j) {
        return -1;
    }
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    json_decref(fx->j);
    lq_report_free(fx->r);
    lqt_rmtree(fx->dir);
    free(fx->dir);
    return 0;
}

static double num_attr(const struct lqt_xml_attr *a, int n, const char *name)
{
    const char *v = lqt_xml_attr_get(a, n, name);
    assert_non_null(v);
    char *end;
    double d = strtod(v, &end);
    assert_true(end != v && *end == '\0');
    return d;
}

static json_t *jtype(json_t *j, const char *name)
{
    json_t *types = json_object_get(j, "types"), *t;
    size_t i;
    json_array_foreach(types, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
            return t;
        }
    }
    fail_msg("type %s not in report.json", name);
    return NULL;
}

static double jreal(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

// ---- the chart ------------------------------------------------------------------------------

struct box {
    double x, y, w, h;
};

struct chart {
    int n_ticks, n_points, n_labels;
    double tick_v[64], tick_x[64];
    char point_type[16][64];
    double point_bpw[16], cx[16], cy[16], r[16];
    char label_type[16][64], group[64];
    struct box label[16];
    bool leader[16];
};

static void on_chart(void *user, const char *tag, const struct lqt_xml_attr *a, int n)
{
    struct chart *c = user;
    const char *cls = lqt_xml_attr_get(a, n, "class");
    if (!cls) {
        return;
    }
    if (strcmp(tag, "text") == 0 && strcmp(cls, "xtick") == 0 && c->n_ticks < 64) {
        c->tick_v[c->n_ticks] = num_attr(a, n, "data-bpw");
        c->tick_x[c->n_ticks++] = num_attr(a, n, "x");
    } else if (strcmp(tag, "circle") == 0 && strncmp(cls, "point", 5) == 0) {
        assert_true(c->n_points < 16);
        snprintf(c->point_type[c->n_points], 64, "%.63s", lqt_xml_attr_get(a, n, "data-type"));
        c->point_bpw[c->n_points] = num_attr(a, n, "data-bpw");
        c->cx[c->n_points] = num_attr(a, n, "cx");
        c->cy[c->n_points] = num_attr(a, n, "cy");
        c->r[c->n_points++] = num_attr(a, n, "r");
    } else if (strcmp(tag, "g") == 0 && strcmp(cls, "label") == 0) {
        assert_true(c->n_labels < 16);
        snprintf(c->group, 64, "%.63s", lqt_xml_attr_get(a, n, "data-type"));
        memcpy(c->label_type[c->n_labels], c->group, 64);
    } else if (strcmp(tag, "line") == 0 && strcmp(cls, "leader") == 0) {
        c->leader[c->n_labels] = true;
    } else if (strcmp(tag, "rect") == 0 && strcmp(cls, "label-box") == 0) {
        c->label[c->n_labels++] = (struct box){num_attr(a, n, "x"), num_attr(a, n, "y"),
                                               num_attr(a, n, "width"), num_attr(a, n, "height")};
    }
}

/* Each x tick shows the value it stands for: <text class="xtick" data-bpw="V" ...>V</text>. */
static void check_tick_texts(const char *svg)
{
    int n = 0;
    for (const char *p = strstr(svg, "class=\"xtick\""); p; p = strstr(p + 1, "class=\"xtick\"")) {
        char v[32], text[32];
        const char *q = strstr(p, "data-bpw=\""), *gt = strchr(p, '>');
        assert_true(q && gt && q < gt);
        assert_int_equal(sscanf(q, "data-bpw=\"%31[^\"]\"", v), 1);
        assert_int_equal(sscanf(gt, ">%31[^<]</text>", text), 1);
        assert_string_equal(text, v);
        n++;
    }
    assert_true(n >= 3);
}

static void read_chart(const struct fixture *fx, struct chart *c)
{
    char *svg = lqt_read_text(fx->svg);
    struct lqt_xml x = {.fn = on_chart, .user = c};
    memset(c, 0, sizeof *c);
    if (!lqt_xml_check(&x, svg)) {
        fail_msg("report.svg: %s", x.error);
    }
    assert_non_null(strstr(svg, ">bits per weight"));
    assert_null(strstr(svg, "file size (MiB)"));
    check_tick_texts(svg);
    free(svg);
}

static void test_chart_x_axis_is_bpw(void **state)
{
    struct fixture *fx = *state;
    struct chart c;
    read_chart(fx, &c);
    assert_int_equal(c.n_points, 5);
    assert_true(c.n_ticks >= 3);
    /* ticks: increasing values at increasing, evenly spaced positions */
    const double step = c.tick_v[1] - c.tick_v[0], dx = c.tick_x[1] - c.tick_x[0];
    assert_true(step > 0 && dx > 0);
    for (int i = 1; i < c.n_ticks; i++) {
        assert_true(fabs(c.tick_v[i] - c.tick_v[i - 1] - step) < 1e-9);
        assert_true(fabs(c.tick_x[i] - c.tick_x[i - 1] - dx) < 0.15);
    }
    /* the axis spans the types and the reference (f16, about 16 bpw) */
    json_t *ref = json_object_get(fx->j, "reference");
    assert_true(c.tick_v[0] <= 4.5 && c.tick_v[c.n_ticks - 1] >= jreal(ref, "bpw"));
    for (int i = 0; i < c.n_points; i++) {
        /* each point at its bpw on the ticks' scale, its bpw the JSON's */
        assert_true(c.point_bpw[i] == jreal(jtype(fx->j, c.point_type[i]), "bpw"));
        const double want = c.tick_x[0] + (c.point_bpw[i] - c.tick_v[0]) / step * dx;
        if (fabs(c.cx[i] - want) > 0.1) {
            fail_msg("%s: cx %.2f, its bpw %.4f is at %.2f", c.point_type[i], c.cx[i],
                     c.point_bpw[i], want);
        }
        for (int k = 0; k < c.n_points; k++) {
            if (c.point_bpw[k] < c.point_bpw[i]) {
                assert_true(c.cx[k] < c.cx[i]);
            }
        }
    }
}

/* The <title> inside the point of type name. */
static char *point_title(const char *svg, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "<circle class=\"point");
    for (const char *p = strstr(svg, key); p; p = strstr(p + 1, key)) {
        char want[128];
        snprintf(want, sizeof want, "data-type=\"%s\"", name);
        const char *end = strstr(p, "</circle>"), *t = strstr(p, want);
        if (t && end && t < strchr(p, '>')) {
            const char *open = strstr(p, "<title>"), *close = strstr(p, "</title>");
            assert_true(open && close && close < end);
            return strndup(open + 7, (size_t)(close - open - 7));
        }
    }
    fail_msg("no point for %s", name);
    return NULL;
}

static void test_chart_tooltips_hold_size(void **state)
{
    struct fixture *fx = *state;
    char *svg = lqt_read_text(fx->svg);
    json_t *types = json_object_get(fx->j, "types"), *t;
    size_t i;
    json_array_foreach(types, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        char *title = point_title(svg, name), want[5][96];
        json_t *ev = json_object_get(t, "eval");
        snprintf(want[0], 96, "%s: ", name);
        snprintf(want[1], 96, "%.2f MiB", jreal(t, "file_bytes") / 1048576.0);
        snprintf(want[2], 96, "%.3f bpw", jreal(t, "bpw"));
        snprintf(want[3], 96, "mean KLD %.6f", jreal(json_object_get(ev, "kld"), "mean_kld"));
        snprintf(want[4], 96, "PPL %.4f", jreal(ev, "ppl"));
        for (int k = 0; k < 5; k++) {
            if (!strstr(title, want[k])) {
                fail_msg("%s: tooltip \"%s\" lacks \"%s\"", name, title, want[k]);
            }
        }
        free(title);
    }
    free(svg);
}

static bool overlap(const struct box *a, const struct box *b)
{
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

static double dist_to_box(double x, double y, const struct box *b)
{
    const double dx = fmax(fmax(b->x - x, 0), x - (b->x + b->w));
    const double dy = fmax(fmax(b->y - y, 0), y - (b->y + b->h));
    return hypot(dx, dy);
}

static void test_chart_labels_do_not_overlap(void **state)
{
    struct fixture *fx = *state;
    struct chart c;
    read_chart(fx, &c);
    assert_int_equal(c.n_labels, c.n_points);
    /* the data bunches: q4_0 and its copy are on the same spot */
    int same = 0;
    for (int i = 0; i < c.n_points; i++) {
        for (int k = i + 1; k < c.n_points; k++) {
            same += c.cx[i] == c.cx[k] && c.cy[i] == c.cy[k];
        }
    }
    assert_int_equal(same, 1);
    for (int i = 0; i < c.n_labels; i++) {
        const struct box *b = &c.label[i];
        assert_true(b->w > 20 && b->h >= 12);
        assert_true(b->x >= 0 && b->y >= 0 && b->x + b->w <= 900 && b->y + b->h <= 520);
        for (int k = i + 1; k < c.n_labels; k++) {
            if (overlap(b, &c.label[k])) {
                fail_msg("labels %s and %s overlap", c.label_type[i], c.label_type[k]);
            }
        }
        int own = -1;
        for (int k = 0; k < c.n_points; k++) {
            const struct box pb = {c.cx[k] - c.r[k], c.cy[k] - c.r[k], 2 * c.r[k], 2 * c.r[k]};
            if (overlap(b, &pb)) {
                fail_msg("label %s covers point %s", c.label_type[i], c.point_type[k]);
            }
            own = strcmp(c.point_type[k], c.label_type[i]) == 0 ? k : own;
        }
        assert_true(own >= 0);
        /* beside its point, or joined to it by a leader line */
        const double d = dist_to_box(c.cx[own], c.cy[own], b);
        if (d > c.r[own] + 6 && !c.leader[i]) {
            fail_msg("label %s is %.1f px from its point without a leader", c.label_type[i], d);
        }
    }
}

// ---- the heat map ---------------------------------------------------------------------------

struct cell {
    char type[64], tensor[96];
    bool has_value;
    double v, x, y, lum;
};

struct heat {
    struct cell c[MAX_ITEMS];
    int n;
};

/* Relative luminance of "#rrggbb" (0..1). */
static double luminance(const char *fill)
{
    unsigned r, g, b;
    assert_int_equal(sscanf(fill, "#%02x%02x%02x", &r, &g, &b), 3);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0;
}

static void on_heat(void *user, const char *tag, const struct lqt_xml_attr *a, int n)
{
    struct heat *h = user;
    const char *cls = lqt_xml_attr_get(a, n, "class");
    if (strcmp(tag, "rect") != 0 || !cls || strcmp(cls, "cell") != 0) {
        return;
    }
    assert_true(h->n < MAX_ITEMS);
    struct cell *c = &h->c[h->n++];
    const char *type = lqt_xml_attr_get(a, n, "data-type");
    const char *tensor = lqt_xml_attr_get(a, n, "data-tensor");
    assert_non_null(type);
    assert_non_null(tensor);
    /* the fallbacks are for GCC, which cannot see that the asserts return only when non-null */
    snprintf(c->type, sizeof c->type, "%.63s", type ? type : "");
    snprintf(c->tensor, sizeof c->tensor, "%.95s", tensor ? tensor : "");
    c->has_value = lqt_xml_attr_get(a, n, "data-rel-rmse") != NULL;
    c->v = c->has_value ? num_attr(a, n, "data-rel-rmse") : NAN;
    c->x = num_attr(a, n, "x");
    c->y = num_attr(a, n, "y");
    c->lum = luminance(lqt_xml_attr_get(a, n, "fill"));
}

static const struct cell *find_cell(const struct heat *h, const char *type, const char *tensor)
{
    const struct cell *found = NULL;
    for (int i = 0; i < h->n; i++) {
        if (strcmp(h->c[i].type, type) == 0 && strcmp(h->c[i].tensor, tensor) == 0) {
            if (found) {
                fail_msg("two cells for %s %s", type, tensor);
            }
            found = &h->c[i];
        }
    }
    return found;
}

static void read_heat(const struct fixture *fx, struct heat *h)
{
    char *svg = lqt_read_text(fx->heat);
    struct lqt_xml x = {.fn = on_heat, .user = h};
    h->n = 0;
    if (!lqt_xml_check(&x, svg)) {
        fail_msg("report-tensors.svg: %s", x.error);
    }
    assert_non_null(strstr(svg, "log scale"));
    free(svg);
}

static void test_heatmap_cells_equal_json(void **state)
{
    struct fixture *fx = *state;
    static struct heat h;
    read_heat(fx, &h);
    json_t *types = json_object_get(fx->j, "types"), *t, *ts;
    size_t i, k, total = 0;
    json_array_foreach(types, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_array_foreach(json_object_get(t, "tensors"), k, ts)
        {
            const char *tn = json_string_value(json_object_get(ts, "name"));
            const struct cell *c = find_cell(&h, name, tn);
            if (!c) {
                fail_msg("no cell for %s %s", name, tn);
            }
            json_t *v = json_object_get(ts, "rel_rmse");
            assert_true(c->has_value == (v != NULL));
            if (json_is_number(v) && c->v != json_number_value(v)) {
                fail_msg("%s %s: cell %.17g, JSON %.17g", name, tn, c->v, json_number_value(v));
            }
            total++;
        }
    }
    assert_int_equal(total, 5 * 57);
    assert_int_equal(h.n, (int)total);
}

/* Within a type, a kind is one row and its layers run left to right; colours darken as the
 * error grows (one log scale for all types). */
static void test_heatmap_layout_and_scale(void **state)
{
    struct fixture *fx = *state;
    static struct heat h;
    read_heat(fx, &h);
    const struct cell *q0 = find_cell(&h, "q4_k_m", "blk.0.ffn_down.weight");
    assert_non_null(q0);
    for (int l = 1; l < 6; l++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        const struct cell *c = find_cell(&h, "q4_k_m", name);
        assert_non_null(c);
        assert_true(c->y == q0->y && c->x > q0->x);
        q0 = c;
    }
    const struct cell *q = find_cell(&h, "q4_k_m", "blk.0.attn_q.weight");
    assert_true(q->y != q0->y);
    int pairs = 0;
    for (int i = 0; i < h.n; i++) {
        for (int k = 0; k < h.n; k++) {
            const struct cell *a = &h.c[i], *b = &h.c[k];
            if (a->v > 0 && b->v > 0 && a->v < b->v) {
                assert_true(a->lum >= b->lum - 1e-3);
                pairs += a->v * 2 < b->v && a->lum > b->lum + 0.02;
            }
        }
    }
    assert_true(pairs > 0);
}

static void test_html_and_md_include_both_figures(void **state)
{
    struct fixture *fx = *state;
    char *html = lqt_read_text(fx->html), *md = lqt_read_text(fx->md);
    struct lqt_xml x = {0};
    if (!lqt_xml_check(&x, html)) {
        fail_msg("report.html: %s", x.error);
    }
    assert_non_null(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\""));
    assert_non_null(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\""));
    assert_non_null(strstr(md, "](report.svg)"));
    assert_non_null(strstr(md, "](report-tensors.svg)"));
    free(html);
    free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chart_x_axis_is_bpw),
        cmocka_unit_test(test_chart_tooltips_hold_size),
        cmocka_unit_test(test_chart_labels_do_not_overlap),
        cmocka_unit_test(test_heatmap_cells_equal_json),
        cmocka_unit_test(test_heatmap_layout_and_scale),
        cmocka_unit_test(test_html_and_md_include_both_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

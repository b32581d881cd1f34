/* test_report.c - `quant report` on the tiny model: the three files (and the HTML page) are
 * written, the SVG is well-formed XML with a point per type and the Pareto front, and every
 * number of report.md equals report.json's at the precision printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lq/report.h"
#include "lqt_util.h"
#include "lqt_xml.h"

struct fixture {
    lq_report *r;
    char *dir;
    char md[4096], json[4096], svg[4096], html[4096];
};

static int setup(void **state)
{
    static struct fixture fx;
    struct lq_report_params p = lq_report_params_default();
    p.model = lqt_data_path("models/tiny-llama-6L");
    p.text = lqt_data_path("text/heldout-A.txt");
    p.n_ctx = 64;
    p.n_chunks = 2;
    p.n_threads = 2;
    struct lq_error err = {0};
    if (lq_report_open(&p, &fx.r, &err) != LQ_OK || lq_report_add(fx.r, "Q8_0", &err) != LQ_OK ||
        lq_report_add(fx.r, "q4_0", &err) != LQ_OK || lq_report_run(fx.r, &err) != LQ_OK) {
        fprintf(stderr, "report: %s\n", err.msg);
        return -1;
    }
    fx.dir = lqt_tmpdir();
    snprintf(fx.md, sizeof fx.md, "%s/report.md", fx.dir);
    snprintf(fx.json, sizeof fx.json, "%s/report.json", fx.dir);
    snprintf(fx.svg, sizeof fx.svg, "%s/report.svg", fx.dir);
    snprintf(fx.html, sizeof fx.html, "%s/report.html", fx.dir);
    if (lq_report_write_md(fx.r, fx.md, &err) != LQ_OK ||
        lq_report_write_json(fx.r, fx.json, &err) != LQ_OK ||
        lq_report_write_svg(fx.r, fx.svg, &err) != LQ_OK ||
        lq_report_write_html(fx.r, fx.html, &err) != LQ_OK) {
        fprintf(stderr, "report: %s\n", err.msg);
        return -1;
    }
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    lq_report_free(fx->r);
    lqt_rmtree(fx->dir);
    free(fx->dir);
    return 0;
}

static void test_report_writes_files(void **state)
{
    struct fixture *fx = *state;
    const char *paths[] = {fx->md, fx->json, fx->svg, fx->html};
    for (size_t i = 0; i < 4; i++) {
        size_t n;
        free(lqt_read_file(paths[i], &n));
        assert_true(n > 200);
    }
    assert_int_equal(lq_report_n_entries(fx->r), 2);
    assert_string_equal(lq_report_entry(fx->r, 0)->name, "q8_0");
    assert_string_equal(lq_report_base(fx->r)->name, "f16");
    /* the reference converted from BF16 safetensors: 57 tensors, F16 and F32 */
    assert_int_equal(lq_report_get_model(fx->r)->n_tensors, 57);
}

// ---- the chart ------------------------------------------------------------------------------

struct svg_seen {
    int points, on_front, fronts, front_vertices;
    char types[8][32];
};

static void on_tag(void *user, const char *tag, const struct lqt_xml_attr *a, int n)
{
    struct svg_seen *s = user;
    const char *cls = lqt_xml_attr_get(a, n, "class");
    if (strcmp(tag, "circle") == 0 && cls && strncmp(cls, "point", 5) == 0) {
        assert_true(s->points < 8);
        snprintf(s->types[s->points++], 32, "%.31s", lqt_xml_attr_get(a, n, "data-type"));
        s->on_front += strstr(cls, "on-front") != NULL;
        assert_non_null(lqt_xml_attr_get(a, n, "cx"));
        assert_non_null(lqt_xml_attr_get(a, n, "cy"));
    }
    if (strcmp(tag, "polyline") == 0 && cls && strcmp(cls, "front") == 0) {
        s->fronts++;
        const char *pts = lqt_xml_attr_get(a, n, "points");
        assert_non_null(pts);
        for (const char *p = pts; *p; p++) {
            s->front_vertices += *p == ',';
        }
    }
}

static void test_report_svg_points_and_front(void **state)
{
    struct fixture *fx = *state;
    char *svg = lqt_read_text(fx->svg);
    struct svg_seen seen = {0};
    struct lqt_xml x = {.fn = on_tag, .user = &seen};
    assert_true(lqt_xml_check(&x, svg));
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_int_equal(seen.points, 2);
    assert_true((strcmp(seen.types[0], "q4_0") == 0 && strcmp(seen.types[1], "q8_0") == 0) ||
                (strcmp(seen.types[1], "q4_0") == 0 && strcmp(seen.types[0], "q8_0") == 0));
    /* q4_0 is smaller, q8_0 closer: neither dominates, both are on the front */
    assert_int_equal(seen.fronts, 1);
    assert_int_equal(seen.on_front, 2);
    assert_int_equal(seen.front_vertices, 2);
    free(svg);
    /* the HTML page is well-formed too (XHTML-style), with the chart inline */
    char *html = lqt_read_text(fx->html);
    struct lqt_xml h = {0};
    assert_true(lqt_xml_check(&h, html));
    assert_non_null(strstr(html, "<polyline class=\"front\""));
    free(html);
}

static void test_report_xml_checker_fails(void **state)
{
    (void)state;
    const char *bad[] = {
        "<svg><g></svg>", "<svg a=\"1\" a=\"2\"/>",        "<svg a=1/>", "<svg>&nbsp;</svg>",
        "<svg/><svg/>",   "<svg><text>a < b</text></svg>", "<svg",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lqt_xml x = {0};
        assert_false(lqt_xml_check(&x, bad[i]));
        assert_true(x.error[0] != '\0');
    }
    struct lqt_xml ok = {0};
    assert_true(lqt_xml_check(&ok, "<?xml version=\"1.0\"?>\n<a b='&amp;'><c/>x &lt; y</a>\n"));
}

// ---- Markdown against JSON ------------------------------------------------------------------

/* Whether the printed number s (as "%.Nf"/"%+.Nf") is v rounded to its printed digits. */
static void assert_printed(const char *s, double v, const char *what)
{
    char *end;
    double printed = strtod(s, &end);
    assert_true(end != s);
    const char *dot = strchr(s, '.');
    int decimals = dot && dot < end ? (int)(end - dot - 1) : 0;
    double half = 0.5 * pow(10.0, -decimals);
    if (fabs(printed - v) > half * (1 + 1e-9) + 1e-12) {
        fail_msg("%s: Markdown shows %s, JSON has %.17g", what, s, v);
    }
}

/* "a ± b" */
static void assert_pm(const char *cell, double v, double e, const char *what)
{
    const char *pm = strstr(cell, "±");
    assert_non_null(pm);
    assert_printed(cell, v, what);
    assert_printed(pm + strlen("±"), e, what);
}

static double jnum(json_t *o, const char *path)
{
    char key[64];
    const char *dot = strchr(path, '.');
    if (dot) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        return jnum(json_object_get(o, key), dot + 1);
    }
    json_t *v = json_object_get(o, path);
    if (!json_is_number(v)) {
        fail_msg("JSON key %s missing", path);
    }
    return json_number_value(v);
}

/* Splits "| a | b |" into trimmed cells; returns the count. */
static int split_row(char *line, char **cells, int cap)
{
    int n = 0;
    char *p = strchr(line, '|');
    while (p && n < cap) {
        char *q = strchr(p + 1, '|');
        if (!q) {
            break;
        }
        *q = '\0';
        char *c = p + 1;
        while (*c == ' ') {
            c++;
        }
        for (char *e = q - 1; e >= c && *e == ' '; e--) {
            *e = '\0';
        }
        cells[n++] = c;
        p = q;
    }
    return n;
}

static json_t *tensor_by_name(json_t *entry, const char *name)
{
    json_t *ts = json_object_get(entry, "tensors"), *t;
    size_t i;
    json_array_foreach(ts, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
            return t;
        }
    }
    fail_msg("tensor %s not in the JSON", name);
    return NULL;
}

static void check_worst(char *cell, json_t *e)
{
    json_t *worst = json_object_get(e, "worst_tensors");
    assert_int_equal(json_array_size(worst), 3);
    char *save = NULL;
    size_t k = 0;
    for (char *part = strtok_r(cell, ",", &save); part; part = strtok_r(NULL, ",", &save), k++) {
        char name[128];
        double rel;
        assert_int_equal(sscanf(part, " `%127[^`]` %lf", name, &rel), 2);
        assert_string_equal(name, json_string_value(json_array_get(worst, k)));
        char *num = strrchr(part, ' ');
        assert_printed(num + 1, jnum(tensor_by_name(e, name), "rel_rmse"), name);
    }
    assert_int_equal(k, 3);
}

static void check_job_row(char **c, json_t *e)
{
    const double mib = jnum(e, "file_bytes") / 1048576.0;
    assert_string_equal(c[0], json_string_value(json_object_get(e, "name")));
    assert_printed(c[1], mib, "size");
    assert_printed(c[2], jnum(e, "bpw"), "bpw");
    assert_pm(c[3], jnum(e, "eval.ppl"), jnum(e, "eval.ppl_err"), "PPL");
    assert_printed(c[4], jnum(e, "eval.dppl"), "dPPL");
    assert_pm(c[5], jnum(e, "eval.kld.ratio"), jnum(e, "eval.kld.ratio_err"), "ratio");
    assert_pm(c[6], jnum(e, "eval.kld.mean_kld"), jnum(e, "eval.kld.mean_kld_err"), "KLD");
    assert_printed(c[7], jnum(e, "eval.kld.kld_p99"), "KLD p99");
    assert_pm(c[8], 100 * jnum(e, "eval.kld.top1"), 100 * jnum(e, "eval.kld.top1_err"), "top1");
    assert_pm(c[9], 100 * jnum(e, "eval.kld.dp_rms"), 100 * jnum(e, "eval.kld.dp_rms_err"),
              "RMS dp");
    check_worst(c[10], e);
    assert_printed(c[11], jnum(e, "quantize_seconds"), "quantize s");
    assert_printed(c[12], jnum(e, "eval.tokens_per_second"), "tok/s");
}

static void test_report_md_equals_json(void **state)
{
    struct fixture *fx = *state;
    json_error_t je;
    json_t *j = json_load_file(fx->json, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "format")), "libquant-report");
    json_t *types = json_object_get(j, "types");
    assert_int_equal(json_array_size(types), 2);
    char *md = lqt_read_text(fx->md), *save = NULL;
    int rows = 0;
    for (char *line = strtok_r(md, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c[16];
        if (strncmp(line, "| ", 2) != 0 || strstr(line, "| type |")) {
            continue;
        }
        assert_int_equal(split_row(line, c, 16), 13);
        if (rows == 0) {
            json_t *ref = json_object_get(j, "reference");
            assert_string_equal(c[0], "f16 (reference)");
            assert_printed(c[1], jnum(ref, "file_bytes") / 1048576.0, "reference size");
            assert_pm(c[3], jnum(ref, "eval.ppl"), jnum(ref, "eval.ppl_err"), "reference PPL");
        } else {
            check_job_row(c, json_array_get(types, (size_t)rows - 1));
        }
        rows++;
    }
    assert_int_equal(rows, 3);
    free(md);
    json_decref(j);
}

static void test_report_unknown_type(void **state)
{
    struct fixture *fx = *state;
    struct lq_error err = {0};
    assert_int_equal(lq_report_add(fx->r, "q9_9", &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "unknown type 'q9_9'"));
    assert_non_null(strstr(err.msg, "q4_k_m"));
    assert_int_equal(lq_report_add(fx->r, "q8_0", &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(lq_report_n_entries(fx->r), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_writes_files),
        cmocka_unit_test(test_report_svg_points_and_front),
        cmocka_unit_test(test_report_xml_checker_fails),
        cmocka_unit_test(test_report_md_equals_json),
        cmocka_unit_test(test_report_unknown_type),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

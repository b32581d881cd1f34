/* report_svg.c - report.svg: bits per weight against mean KL divergence (log scale) for every
 * type, each point labelled without overlaps (report_label.c) and with its numbers in a
 * tooltip, the Pareto front (types no other type beats on both bpw and KLD) drawn through its
 * points, the reference's bpw as a dashed line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqi.h"
#include "report_impl.h"

/* Canvas and plot area (pixels). */
enum { W = 900, H = 520, PL = 90, PR = 660, PT = 70, PB = 450 };

/* Labels: font size, box height and padding (pixels). */
#define LABEL_PX 12.0
#define LABEL_H 15.0
#define LABEL_PAD 3.0
#define POINT_R 5.0

struct pt {
    const struct lq_report_entry *e;
    double bpw, kld;
    bool front;
};

struct chart {
    const lq_report *r;
    struct pt *p;
    struct lqi_label *labels;
    int n;
    double xmin, xmax, xstep; /* bpw */
    int ylo, yhi;             /* decades */
};

static double px(const struct chart *c, double bpw)
{
    return PL + (bpw - c->xmin) / (c->xmax - c->xmin) * (PR - PL);
}

static double py(const struct chart *c, double kld)
{
    return PB - (log10(kld) - c->ylo) / (c->yhi - c->ylo) * (PB - PT);
}

// ---- data -----------------------------------------------------------------------------------

static int by_bpw(const void *a, const void *b)
{
    const struct pt *x = a, *y = b;
    if (x->bpw != y->bpw) {
        return x->bpw < y->bpw ? -1 : 1;
    }
    if (x->kld != y->kld) {
        return x->kld < y->kld ? -1 : 1;
    }
    return strcmp(x->e->name, y->e->name);
}

/* Sorted by bpw, a point is on the front when its KLD is below every smaller point's. */
static void mark_front(struct chart *c)
{
    qsort(c->p, (size_t)c->n, sizeof *c->p, by_bpw);
    double best = INFINITY;
    for (int i = 0; i < c->n; i++) {
        c->p[i].front = c->p[i].kld < best;
        best = fmin(best, c->p[i].kld);
    }
}

/* A 1, 2 or 5 times a power of ten step giving six to twelve ticks over span. */
static double nice_step(double span)
{
    double raw = span / 8.0, mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* The x range runs from just below the smallest type to the reference, on whole steps. */
static void x_range(struct chart *c, double lo, double hi)
{
    const double pad = fmax(0.25, 0.04 * (hi - lo));
    lo = fmax(0, lo - pad);
    hi += pad;
    c->xstep = nice_step(hi - lo);
    c->xmin = floor(lo / c->xstep) * c->xstep;
    c->xmax = ceil(hi / c->xstep) * c->xstep;
}

static lq_status collect(const lq_report *r, struct chart *c, struct lq_error *err)
{
    int64_t n = lq_report_n_entries(r);
    c->r = r;
    c->p = lqi_calloc((size_t)(n ? n : 1), sizeof *c->p);
    c->labels = lqi_calloc((size_t)(n ? n : 1), sizeof *c->labels);
    LQ_FAIL_IF(!c->p || !c->labels, err, LQ_E_NOMEM, "out of memory");
    const double ref = lq_report_base(r)->bpw;
    double lo = ref, hi = ref, kmin = INFINITY, kmax = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct lq_report_entry *e = lq_report_entry(r, i);
        double k = e->eval.kld.kld;
        if (!e->done || !e->eval.has_kld || !(k > 0) || !isfinite(k) || !isfinite(e->bpw)) {
            continue;
        }
        c->p[c->n++] = (struct pt){.e = e, .bpw = e->bpw, .kld = k};
        lo = fmin(lo, e->bpw);
        hi = fmax(hi, e->bpw);
        kmin = fmin(kmin, k);
        kmax = fmax(kmax, k);
    }
    mark_front(c);
    x_range(c, isfinite(lo) ? lo : 0, isfinite(hi) ? hi : 16);
    c->ylo = c->n ? (int)floor(log10(kmin)) : -4;
    c->yhi = c->n ? (int)ceil(log10(kmax)) : 0;
    c->yhi = c->yhi > c->ylo ? c->yhi : c->ylo + 1;
    return LQ_OK;
}

/* The reference's caption: right of its line when there is room, else left of it. */
static struct lqi_box reference_box(const struct chart *c, const char *text)
{
    const double x = px(c, lq_report_base(c->r)->bpw), w = lqi_text_width(text, LABEL_PX);
    return (struct lqi_box){x + w + 8 <= PR ? x + 4 : x - 4 - w, PT + 2, w, LABEL_H};
}

static void reference_text(const struct chart *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s reference (KLD 0)", lq_report_base(c->r)->name);
}

static void place(struct chart *c)
{
    char ref[128];
    reference_text(c, ref, sizeof ref);
    const struct lqi_box area = {PL + 1, PT, PR - PL - 1, PB - PT - 1};
    const struct lqi_box avoid = reference_box(c, ref);
    for (int i = 0; i < c->n; i++) {
        c->labels[i] = (struct lqi_label){
            .px = px(c, c->p[i].bpw),
            .py = py(c, c->p[i].kld),
            .pr = POINT_R,
            .w = lqi_text_width(c->p[i].e->name, LABEL_PX) + 2 * LABEL_PAD,
            .h = LABEL_H,
        };
    }
    lqi_place_labels(c->labels, c->n, &area, &avoid, 1);
}

// ---- drawing --------------------------------------------------------------------------------

static void grid(FILE *f, const struct chart *c)
{
    fprintf(f, "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
    for (double x = c->xmin; x <= c->xmax + 1e-9; x += c->xstep) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", px(c, x), PT, px(c, x),
                PB);
    }
    for (int d = c->ylo; d <= c->yhi; d++) {
        double y = py(c, pow(10.0, d));
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PL, y, PR, y);
    }
    fprintf(f, "</g>\n");
}

static void axes(FILE *f, const struct chart *c)
{
    grid(f, c);
    fprintf(f, "<g class=\"axes\" stroke=\"#333\" stroke-width=\"1\">\n");
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PL, PB, PR, PB);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PL, PT, PL, PB);
    for (int d = c->ylo; d < c->yhi; d++) {
        for (int m = 2; m <= 9; m++) {
            double y = py(c, m * pow(10.0, d));
            fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PL - 3, y, PL, y);
        }
    }
    fprintf(f, "</g>\n<g class=\"ticks\" font-size=\"12\" fill=\"#333\">\n");
    /* the tick's value as an attribute too, so tests read the axis without parsing text */
    for (double x = c->xmin; x <= c->xmax + 1e-9; x += c->xstep) {
        fprintf(f,
                "<text class=\"xtick\" data-bpw=\"%g\" x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\">%g</text>\n",
                x, px(c, x), PB + 18, x);
    }
    for (int d = c->ylo; d <= c->yhi; d++) {
        fprintf(f, "<text class=\"ytick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                PL - 8, py(c, pow(10.0, d)) + 4, pow(10.0, d));
    }
    fprintf(f, "</g>\n");
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">bits per weight "
            "(bpw: tensor data bits / parameters)</text>\n",
            (PL + PR) / 2, PB + 42);
    fprintf(f,
            "<text transform=\"translate(24 %d) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">mean KL divergence from the reference (log scale)</text>\n",
            (PT + PB) / 2);
}

static void reference_line(FILE *f, const struct chart *c)
{
    const struct lq_report_entry *b = lq_report_base(c->r);
    const double x = px(c, b->bpw);
    char text[128];
    reference_text(c, text, sizeof text);
    const struct lqi_box box = reference_box(c, text);
    fprintf(f,
            "<line class=\"reference\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#888\" stroke-dasharray=\"5 4\"><title>",
            x, PT, x, PB);
    lqi_xml_escape(f, b->name);
    fprintf(f, " (reference): %.2f MiB, %.3f bpw, PPL %.4f</title></line>\n",
            (double)b->file_bytes / 1048576.0, b->bpw, b->eval.ppl);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#666\">", box.x,
            box.y + LABEL_H - 3.5);
    lqi_xml_escape(f, text);
    fprintf(f, "</text>\n");
}

static void front_line(FILE *f, const struct chart *c)
{
    fprintf(f, "<polyline class=\"front\" fill=\"none\" stroke=\"#e07020\" stroke-width=\"2\" "
               "points=\"");
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->p[i].front) {
            fprintf(f, "%s%.1f,%.1f", k++ ? " " : "", px(c, c->p[i].bpw), py(c, c->p[i].kld));
        }
    }
    fprintf(f, "\"/>\n");
}

static bool is_optimized(const struct pt *p)
{
    return strcmp(p->e->kind, "optimize") == 0;
}

/* The second curve: `quant optimize`'s files (opt@...) by bpw, so its frontier is seen
 * against the recipes' at equal sizes. */
static int optimize_line(FILE *f, const struct chart *c)
{
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        if (!is_optimized(&c->p[i])) {
            continue;
        }
        if (k++ == 0) {
            fprintf(f, "<polyline class=\"optimize\" fill=\"none\" stroke=\"#2a9d3a\" "
                       "stroke-width=\"2\" stroke-dasharray=\"6 3\" points=\"");
        }
        fprintf(f, "%s%.1f,%.1f", k > 1 ? " " : "", px(c, c->p[i].bpw), py(c, c->p[i].kld));
    }
    if (k > 0) {
        fprintf(f, "\"/>\n");
    }
    return k;
}

/* The tooltip: every number a reader wants when hovering a point. */
static void point_title(FILE *f, const struct pt *p)
{
    fprintf(f, "<title>");
    lqi_xml_escape(f, p->e->name);
    fprintf(f,
            ": %.2f MiB, %.3f bpw, mean KLD %.6f, PPL %.4f (%+.4f), top-1 %.2f %%"
            "</title>",
            (double)p->e->file_bytes / 1048576.0, p->bpw, p->kld, p->e->eval.ppl, p->e->dppl,
            100.0 * p->e->eval.kld.same_top);
}

static void points(FILE *f, const struct chart *c)
{
    for (int i = 0; i < c->n; i++) {
        const struct pt *p = &c->p[i];
        fprintf(f, "<circle class=\"point%s\" data-type=\"", p->front ? " on-front" : "");
        lqi_xml_escape(f, p->e->name);
        fprintf(f, "\" data-bpw=\"%.17g\" cx=\"%.2f\" cy=\"%.2f\" r=\"%g\" fill=\"%s\">", p->bpw,
                px(c, p->bpw), py(c, p->kld), POINT_R, p->front ? "#e07020" : "#3070c0");
        point_title(f, p);
        fprintf(f, "</circle>\n");
    }
}

/* Labels are drawn last: their white backdrop keeps the text readable over the grid, the
 * front and leader lines (placement keeps them off every point). A leader line starts at the
 * edge of its point's circle. */
static void labels(FILE *f, const struct chart *c)
{
    for (int i = 0; i < c->n; i++) {
        const struct lqi_label *l = &c->labels[i];
        fprintf(f, "<g class=\"label\" data-type=\"");
        lqi_xml_escape(f, c->p[i].e->name);
        fprintf(f, "\">");
        if (l->leader) {
            double x, y;
            lqi_leader_end(l, &x, &y);
            const double d = hypot(x - l->px, y - l->py), u = d > 0 ? l->pr / d : 0;
            fprintf(f,
                    "<line class=\"leader\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                    "stroke=\"#999\" stroke-width=\"1\"/>",
                    l->px + (x - l->px) * u, l->py + (y - l->py) * u, x, y);
        }
        fprintf(f,
                "<rect class=\"label-box\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                "fill=\"white\" fill-opacity=\"0.85\"/>",
                l->box.x, l->box.y, l->box.w, l->box.h);
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%g\">", l->box.x + LABEL_PAD,
                l->box.y + LABEL_H - 3.5, LABEL_PX);
        lqi_xml_escape(f, c->p[i].e->name);
        fprintf(f, "</text></g>\n");
    }
}

static void legend(FILE *f, const struct chart *c)
{
    fprintf(f,
            "<g class=\"legend\" font-size=\"12\">\n"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e07020\" "
            "stroke-width=\"2\"/>\n"
            "<text x=\"%d\" y=\"%d\">Pareto front: no other type</text>\n"
            "<text x=\"%d\" y=\"%d\">is smaller and closer</text>\n"
            "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"#3070c0\"/>\n"
            "<text x=\"%d\" y=\"%d\">dominated type</text>\n"
            "<text x=\"%d\" y=\"%d\" fill=\"#666\">hover a point for its</text>\n"
            "<text x=\"%d\" y=\"%d\" fill=\"#666\">size, bpw, KLD and PPL</text>\n</g>\n",
            PR + 20, PT + 10, PR + 40, PT + 10, PR + 46, PT + 14, PR + 46, PT + 29, PR + 30,
            PT + 50, PR + 46, PT + 54, PR + 20, PT + 82, PR + 20, PT + 97);
    if (c->n == 0) {
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">no "
                "quantized type with a KL divergence above 0 to plot</text>\n",
                (PL + PR) / 2, (PT + PB) / 2);
    }
}

static void draw(FILE *f, const void *ctx)
{
    const struct chart *c = ctx;
    const struct lq_report_model *m = lq_report_get_model(c->r);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, H, W, H, W, H);
    fprintf(f,
            "<text x=\"%d\" y=\"28\" font-size=\"17\" font-weight=\"bold\">Bits per weight "
            "against KL divergence</text>\n<text x=\"%d\" y=\"48\" font-size=\"12\" "
            "fill=\"#555\">",
            PL, PL);
    lqi_xml_escape(f, m->path);
    fprintf(f, " on ");
    lqi_xml_escape(f, lq_report_text_path(c->r));
    fprintf(f, " (%lld x %lld tokens)</text>\n", (long long)m->n_chunk, (long long)m->n_ctx);
    axes(f, c);
    reference_line(f, c);
    int n_opt = 0;
    if (c->n > 0) {
        front_line(f, c);
        n_opt = optimize_line(f, c);
    }
    points(f, c);
    labels(f, c);
    legend(f, c);
    if (n_opt > 0) {
        fprintf(f,
                "<g class=\"legend-optimize\" font-size=\"12\"><line x1=\"%d\" y1=\"%d\" "
                "x2=\"%d\" y2=\"%d\" stroke=\"#2a9d3a\" stroke-width=\"2\" "
                "stroke-dasharray=\"6 3\"/><text x=\"%d\" y=\"%d\">quant optimize "
                "(opt@...)</text></g>\n",
                PR + 20, PT + 122, PR + 40, PT + 122, PR + 46, PT + 126);
    }
    fprintf(f, "</svg>\n");
}

lq_status lqi_report_svg_string(const lq_report *r, char **out, struct lq_error *err)
{
    struct chart c = {0};
    lq_status s = collect(r, &c, err);
    if (s == LQ_OK) {
        place(&c);
        s = lqi_svg_render(draw, &c, out, err);
    }
    lqi_free(c.p);
    lqi_free(c.labels);
    return s;
}

lq_status lq_report_write_svg(const lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    char *svg = NULL;
    LQ_TRY(lqi_report_svg_string(r, &svg, err));
    lq_status s = lqi_svg_write(svg, path, err);
    free(svg);
    return s;
}

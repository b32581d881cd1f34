/* report_svg.c - report.svg: file size (MiB, linear, from 0) against mean KL divergence (log
 * scale) for every type, each point labelled, the Pareto front (types no other type beats on
 * both size and KLD) drawn through its points, the reference's size as a dashed line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqi.h"
#include "report_impl.h"

/* Canvas and plot area (pixels). */
enum { W = 900, H = 520, PL = 90, PR = 660, PT = 70, PB = 450 };

struct pt {
    const struct lq_report_entry *e;
    double mib, kld;
    bool front;
};

struct chart {
    struct pt *p;
    int n;
    double xmax, xstep; /* MiB */
    int ylo, yhi;       /* decades */
};

static double px(const struct chart *c, double mib)
{
    return PL + mib / c->xmax * (PR - PL);
}

static double py(const struct chart *c, double kld)
{
    return PB - (log10(kld) - c->ylo) / (c->yhi - c->ylo) * (PB - PT);
}

// ---- data -----------------------------------------------------------------------------------

static int by_size(const void *a, const void *b)
{
    const struct pt *x = a, *y = b;
    if (x->mib != y->mib) {
        return x->mib < y->mib ? -1 : 1;
    }
    return x->kld < y->kld ? -1 : x->kld > y->kld;
}

/* Sorted by size, a point is on the front when its KLD is below every smaller point's. */
static void mark_front(struct chart *c)
{
    qsort(c->p, (size_t)c->n, sizeof *c->p, by_size);
    double best = INFINITY;
    for (int i = 0; i < c->n; i++) {
        c->p[i].front = c->p[i].kld < best;
        best = fmin(best, c->p[i].kld);
    }
}

/* A 1, 2 or 5 times a power of ten step giving about six ticks up to max. */
static double nice_step(double max)
{
    double raw = max / 6.0, mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static lq_status collect(const lq_report *r, struct chart *c, struct lq_error *err)
{
    int64_t n = lq_report_n_entries(r);
    c->p = lqi_calloc((size_t)(n ? n : 1), sizeof *c->p);
    LQ_FAIL_IF(!c->p, err, LQ_E_NOMEM, "out of memory");
    double xmax = (double)lq_report_base(r)->file_bytes / 1048576.0, kmin = INFINITY, kmax = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct lq_report_entry *e = lq_report_entry(r, i);
        double k = e->eval.kld.kld;
        if (!e->done || !e->eval.has_kld || !(k > 0) || !isfinite(k)) {
            continue;
        }
        c->p[c->n++] = (struct pt){.e = e, .mib = (double)e->file_bytes / 1048576.0, .kld = k};
        xmax = fmax(xmax, (double)e->file_bytes / 1048576.0);
        kmin = fmin(kmin, k);
        kmax = fmax(kmax, k);
    }
    mark_front(c);
    c->xstep = nice_step(xmax > 0 ? xmax * 1.05 : 1.0);
    c->xmax = ceil(xmax * 1.05 / c->xstep) * c->xstep;
    c->ylo = c->n ? (int)floor(log10(kmin)) : -4;
    c->yhi = c->n ? (int)ceil(log10(kmax)) : 0;
    c->yhi = c->yhi > c->ylo ? c->yhi : c->ylo + 1;
    return LQ_OK;
}

// ---- drawing --------------------------------------------------------------------------------

static void axes(FILE *f, const struct chart *c)
{
    fprintf(f, "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
    for (double x = 0; x <= c->xmax + 1e-9; x += c->xstep) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", px(c, x), PT, px(c, x),
                PB);
    }
    for (int d = c->ylo; d <= c->yhi; d++) {
        double y = py(c, pow(10.0, d));
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PL, y, PR, y);
    }
    fprintf(f, "</g>\n<g class=\"axes\" stroke=\"#333\" stroke-width=\"1\">\n");
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PL, PB, PR, PB);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PL, PT, PL, PB);
    for (int d = c->ylo; d < c->yhi; d++) {
        for (int m = 2; m <= 9; m++) {
            double y = py(c, m * pow(10.0, d));
            fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PL - 3, y, PL, y);
        }
    }
    fprintf(f, "</g>\n<g class=\"ticks\" font-size=\"12\" fill=\"#333\">\n");
    for (double x = 0; x <= c->xmax + 1e-9; x += c->xstep) {
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(c, x),
                PB + 18, x);
    }
    for (int d = c->ylo; d <= c->yhi; d++) {
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", PL - 8,
                py(c, pow(10.0, d)) + 4, pow(10.0, d));
    }
    fprintf(f, "</g>\n");
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">file size "
            "(MiB)</text>\n",
            (PL + PR) / 2, PB + 42);
    fprintf(f,
            "<text transform=\"translate(24 %d) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">mean KL divergence from the reference (log scale)</text>\n",
            (PT + PB) / 2);
}

static void reference_line(FILE *f, const struct chart *c, const struct lq_report_entry *b)
{
    double x = px(c, (double)b->file_bytes / 1048576.0);
    fprintf(f,
            "<line class=\"reference\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#888\" stroke-dasharray=\"5 4\"/>\n",
            x, PT, x, PB);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#666\" text-anchor=\"end\">",
            x - 4, PT + 14);
    lqi_xml_escape(f, b->name);
    fprintf(f, " reference (KLD 0)</text>\n");
}

static void front_line(FILE *f, const struct chart *c)
{
    fprintf(f, "<polyline class=\"front\" fill=\"none\" stroke=\"#e07020\" stroke-width=\"2\" "
               "points=\"");
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->p[i].front) {
            fprintf(f, "%s%.1f,%.1f", k++ ? " " : "", px(c, c->p[i].mib), py(c, c->p[i].kld));
        }
    }
    fprintf(f, "\"/>\n");
}

/* Label boxes already placed (x, y of the baseline start, width). */
struct box {
    double x, y, w;
};

static bool overlaps(const struct box *b, int n, double x, double y, double w)
{
    for (int i = 0; i < n; i++) {
        if (x < b[i].x + b[i].w && b[i].x < x + w && fabs(y - b[i].y) < 13) {
            return true;
        }
    }
    return false;
}

/* Right-above, right-below, left-above or left-below of the point: the first spot free of
 * earlier labels (about 7 px per character at 12 px). */
static void place_label(struct box *placed, int n, double x, double y, const char *name)
{
    const double w = 7.0 * (double)strlen(name);
    const double dx[4] = {8, 8, -8 - w, -8 - w}, dy[4] = {-7, 16, -7, 16};
    int k = 0;
    while (k < 3 && overlaps(placed, n, x + dx[k], y + dy[k], w)) {
        k++;
    }
    placed[n] = (struct box){x + dx[k], y + dy[k], w};
}

static void points(FILE *f, const struct chart *c)
{
    struct box *placed = lqi_calloc((size_t)(c->n ? c->n : 1), sizeof *placed);
    for (int i = 0; i < c->n; i++) {
        const struct pt *p = &c->p[i];
        double x = px(c, p->mib), y = py(c, p->kld);
        fprintf(f, "<circle class=\"point%s\" data-type=\"", p->front ? " on-front" : "");
        lqi_xml_escape(f, p->e->name);
        fprintf(f, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>", x, y,
                p->front ? "#e07020" : "#3070c0");
        lqi_xml_escape(f, p->e->name);
        fprintf(f, ": %.2f MiB, %.3f bpw, mean KLD %.6f, top-1 %.2f %%</title></circle>\n", p->mib,
                p->e->bpw, p->kld, 100.0 * p->e->eval.kld.same_top);
        struct box b = {x + 8, y - 7, 0};
        if (placed) {
            place_label(placed, i, x, y, p->e->name);
            b = placed[i];
        }
        fprintf(f, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", b.x, b.y);
        lqi_xml_escape(f, p->e->name);
        fprintf(f, "</text>\n");
    }
    lqi_free(placed);
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
            "<text x=\"%d\" y=\"%d\">dominated type</text>\n</g>\n",
            PR + 20, PT + 10, PR + 40, PT + 10, PR + 46, PT + 14, PR + 46, PT + 29, PR + 30,
            PT + 50, PR + 46, PT + 54);
    if (c->n == 0) {
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">no "
                "quantized type with a KL divergence above 0 to plot</text>\n",
                (PL + PR) / 2, (PT + PB) / 2);
    }
}

static void draw(FILE *f, const lq_report *r, const struct chart *c)
{
    const struct lq_report_model *m = lq_report_get_model(r);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, H, W, H, W, H);
    fprintf(f,
            "<text x=\"%d\" y=\"28\" font-size=\"17\" font-weight=\"bold\">Size against "
            "KL divergence</text>\n<text x=\"%d\" y=\"48\" font-size=\"12\" fill=\"#555\">",
            PL, PL);
    lqi_xml_escape(f, lq_report_get_model(r)->path);
    fprintf(f, " on ");
    lqi_xml_escape(f, lq_report_text_path(r));
    fprintf(f, " (%lld x %lld tokens)</text>\n", (long long)m->n_chunk, (long long)m->n_ctx);
    axes(f, c);
    reference_line(f, c, lq_report_base(r));
    if (c->n > 0) {
        front_line(f, c);
    }
    points(f, c);
    legend(f, c);
    fprintf(f, "</svg>\n");
}

lq_status lqi_report_svg_string(const lq_report *r, char **out, struct lq_error *err)
{
    struct chart c = {0};
    LQ_TRY(collect(r, &c, err));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        lqi_free(c.p);
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    draw(f, r, &c);
    bool ok = fclose(f) == 0;
    lqi_free(c.p);
    if (!ok) {
        free(buf);
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    *out = buf;
    return LQ_OK;
}

lq_status lq_report_write_svg(const lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    char *svg = NULL;
    LQ_TRY(lqi_report_svg_string(r, &svg, err));
    struct report_out o;
    lq_status s = lqi_out_open(&o, path, err);
    if (s == LQ_OK) {
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", o.f);
        fputs(svg, o.f);
        s = lqi_out_close(&o, err);
    }
    free(svg);
    return s;
}

/* report_heat.c - report-tensors.svg: each type's per-tensor relative RMSE as a heat map, one
 * panel per type, a row per tensor kind (attn_q, ffn_down, ...) and a column per layer;
 * tensors outside the layers (token_embd, output) span the row. One log colour scale for all
 * panels, so types compare at a glance; every cell's tooltip has the exact numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqi.h"
#include "report_impl.h"

/* Margins, label column, row height, gap between panels, panel title (pixels). */
enum { M = 20, LW = 104, CH = 16, GAP = 28, TITLE = 22, HEAD = 16, TOP = 124, MIN_W = 900 };

#define KIND_CAP 64
#define MAX_KINDS 64

struct kind {
    char name[KIND_CAP];
    bool layer;
    int rank;
};

struct heat {
    const lq_report *r;
    struct kind kinds[MAX_KINDS];
    int n_kinds, n_layers;
    int cw, per_row, w, h; /* cell width, panels per row, canvas */
    double lo, hi;         /* colour scale: log10 of the smallest and largest error */
};

/* Kinds in the order the forward pass meets them; others after their group. */
static int kind_rank(const char *k, bool layer)
{
    static const char *const order[] = {"attn_norm", "attn_q",      "attn_k",   "attn_v",
                                        "attn_qkv",  "attn_output", "ffn_norm", "ffn_gate",
                                        "ffn_up",    "ffn_down"};
    if (!layer) {
        return strcmp(k, "token_embd") == 0    ? 0
               : strcmp(k, "output_norm") == 0 ? 900
               : strcmp(k, "output") == 0      ? 901
                                               : 800;
    }
    for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++) {
        if (strcmp(k, order[i]) == 0) {
            return 100 + i;
        }
    }
    return 500;
}

/* "blk.7.attn_q.weight" -> kind "attn_q", layer 7; "output.weight" -> "output", -1. A
 * suffix other than ".weight" stays part of the kind ("attn_q.bias"). */
static void split_name(const char *name, char kind[KIND_CAP], int *layer)
{
    const char *k = name;
    *layer = -1;
    if (strncmp(name, "blk.", 4) == 0) {
        char *end;
        long l = strtol(name + 4, &end, 10);
        if (end != name + 4 && *end == '.' && l >= 0 && l < 100000) {
            *layer = (int)l;
            k = end + 1;
        }
    }
    size_t n = strlen(k);
    if (n > 7 && strcmp(k + n - 7, ".weight") == 0) {
        n -= 7;
    }
    snprintf(kind, KIND_CAP, "%.*s", (int)(n < KIND_CAP ? n : KIND_CAP - 1), k);
}

static int find_kind(const struct heat *h, const char *k, bool layer)
{
    for (int i = 0; i < h->n_kinds; i++) {
        if (h->kinds[i].layer == layer && strcmp(h->kinds[i].name, k) == 0) {
            return i;
        }
    }
    return -1;
}

static int by_rank(const void *a, const void *b)
{
    const struct kind *x = a, *y = b;
    return x->rank != y->rank ? (x->rank < y->rank ? -1 : 1) : 0;
}

static bool plotted(const struct lq_report_entry *e)
{
    return e->done && e->n_tensors > 0;
}

static void add_kind(struct heat *h, const char *k, bool layer)
{
    if (find_kind(h, k, layer) < 0 && h->n_kinds < MAX_KINDS) {
        struct kind *kd = &h->kinds[h->n_kinds];
        snprintf(kd->name, KIND_CAP, "%s", k);
        kd->layer = layer;
        /* ties keep the order of first appearance (qsort is not stable) */
        kd->rank = kind_rank(k, layer) * MAX_KINDS + h->n_kinds;
        h->n_kinds++;
    }
}

static void scan(struct heat *h)
{
    double vmin = INFINITY, vmax = 0;
    for (int64_t i = 0; i < lq_report_n_entries(h->r); i++) {
        const struct lq_report_entry *e = lq_report_entry(h->r, i);
        for (int64_t t = 0; plotted(e) && t < e->n_tensors; t++) {
            char k[KIND_CAP];
            int layer;
            split_name(e->tensors[t].name, k, &layer);
            add_kind(h, k, layer >= 0);
            h->n_layers = layer + 1 > h->n_layers ? layer + 1 : h->n_layers;
            const double v = e->tensors[t].stats.rel_rmse;
            if (e->tensors[t].compared && v > 0 && isfinite(v)) {
                vmin = fmin(vmin, v);
                vmax = fmax(vmax, v);
            }
        }
    }
    qsort(h->kinds, (size_t)h->n_kinds, sizeof h->kinds[0], by_rank);
    /* the data's own range (not whole decades), so small differences still show */
    h->lo = vmax > 0 ? log10(vmin) : -3;
    h->hi = vmax > 0 ? log10(vmax) : 0;
    if (h->hi - h->lo < 0.5) {
        const double mid = (h->lo + h->hi) / 2;
        h->lo = mid - 0.25;
        h->hi = mid + 0.25;
    }
}

static int n_plotted(const lq_report *r)
{
    int n = 0;
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        n += plotted(lq_report_entry(r, i));
    }
    return n;
}

static int panel_w(const struct heat *h)
{
    return LW + (h->n_layers > 0 ? h->n_layers : 1) * h->cw;
}

static int panel_h(const struct heat *h)
{
    return TITLE + HEAD + h->n_kinds * CH;
}

static void layout(struct heat *h)
{
    const int L = h->n_layers > 0 ? h->n_layers : 1, n = n_plotted(h->r);
    h->cw = 440 / L < 8 ? 8 : 440 / L > 36 ? 36 : 440 / L;
    h->per_row = (MIN_W - 2 * M + GAP) / (panel_w(h) + GAP);
    h->per_row = h->per_row < 1 ? 1 : h->per_row > n && n > 0 ? n : h->per_row;
    const int rows = n > 0 ? (n + h->per_row - 1) / h->per_row : 1;
    h->w = 2 * M + h->per_row * panel_w(h) + (h->per_row - 1) * GAP;
    h->w = h->w < MIN_W ? MIN_W : h->w;
    h->h = TOP + rows * (panel_h(h) + GAP) + M;
}

// ---- colours --------------------------------------------------------------------------------

/* ColorBrewer YlOrRd: pale yellow for the smallest error to dark red for the largest. */
static void ramp(double t, char out[8])
{
    static const unsigned char c[9][3] = {
        {255, 255, 204}, {255, 237, 160}, {254, 217, 118}, {254, 178, 76}, {253, 141, 60},
        {252, 78, 42},   {227, 26, 28},   {189, 0, 38},    {128, 0, 38},
    };
    t = fmin(fmax(t, 0), 1) * 8;
    const int i = t >= 8 ? 7 : (int)t;
    const double f = t - i;
    int rgb[3];
    for (int k = 0; k < 3; k++) {
        rgb[k] = (int)lround(c[i][k] + f * (c[i + 1][k] - c[i][k]));
    }
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

#define EXACT_FILL "#cfd8e3"
#define NA_FILL "#ffffff"

static void cell_fill(const struct heat *h, const struct lq_report_tensor *t, char out[8])
{
    const double v = t->stats.rel_rmse;
    if (!t->compared || !isfinite(v)) {
        snprintf(out, 8, "%s", NA_FILL);
    } else if (v <= 0) {
        snprintf(out, 8, "%s", EXACT_FILL);
    } else {
        ramp((log10(v) - h->lo) / (h->hi - h->lo), out);
    }
}

// ---- drawing --------------------------------------------------------------------------------

/* Ticks at 1, 2 and 5 times powers of ten inside the range; 1 and 3 over more than 1.5
 * decades, 1 over more than 3, so tick labels never crowd. */
static void scale_ticks(FILE *f, const struct heat *h, int x0, int y, int bw)
{
    static const int sets[3][3] = {{1, 2, 5}, {1, 3, 0}, {1, 0, 0}};
    const double span = h->hi - h->lo;
    const int *mant = sets[span <= 1.5 ? 0 : span <= 3 ? 1 : 2];
    for (int d = (int)floor(h->lo); d <= (int)ceil(h->hi); d++) {
        for (int m = 0; m < 3 && mant[m]; m++) {
            const double v = mant[m] * pow(10.0, d), t = (log10(v) - h->lo) / (h->hi - h->lo);
            if (t < -1e-9 || t > 1 + 1e-9) {
                continue;
            }
            const double x = x0 + bw * t;
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>"
                    "<text class=\"scale-tick\" x=\"%.1f\" y=\"%d\" "
                    "text-anchor=\"middle\">%g</text>\n",
                    x, y, x, y + 4, x, y + 17, v);
        }
    }
}

static void legend(FILE *f, const struct heat *h)
{
    const int x0 = M, y0 = 78, bw = 320, bh = 14, steps = 64;
    fprintf(f, "<g class=\"legend\" font-size=\"12\">\n");
    fprintf(f,
            "<text x=\"%d\" y=\"%d\">relative RMSE of each tensor against the reference "
            "(log scale)</text>\n",
            x0, y0 - 8);
    for (int i = 0; i < steps; i++) {
        char fill[8];
        ramp((i + 0.5) / steps, fill);
        fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>\n",
                x0 + (double)bw * i / steps, y0, (double)bw / steps + 0.3, bh, fill);
    }
    scale_ticks(f, h, x0, y0 + bh, bw);
    const int sx = x0 + bw + 30;
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
            "<text x=\"%d\" y=\"%d\">0: stored exactly</text>\n"
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#999\" "
            "stroke-dasharray=\"2 2\"/><text x=\"%d\" y=\"%d\">not compared</text>\n",
            sx, y0, bh, bh, EXACT_FILL, sx + bh + 6, y0 + 11, sx + 130, y0, bh, bh, NA_FILL,
            sx + 130 + bh + 6, y0 + 11);
    fprintf(f, "</g>\n");
}

static void cell_title(FILE *f, const struct lq_report_entry *e, const struct lq_report_tensor *t)
{
    fprintf(f, "<title>");
    lqi_xml_escape(f, t->name);
    fprintf(f, " in ");
    lqi_xml_escape(f, e->name);
    fprintf(f, " (stored as %s): ", lq_type_name(t->type));
    if (!t->compared) {
        fprintf(f, "no reference tensor of this shape");
    } else {
        fprintf(f, "relative RMSE %.6g, RMSE %.6g, max error %.6g", t->stats.rel_rmse,
                t->stats.rmse, t->stats.max_abs_err);
    }
    fprintf(f, "</title>");
}

static void cell(FILE *f, const struct heat *h, const struct lq_report_entry *e,
                 const struct lq_report_tensor *t, double x, double y, double w)
{
    char fill[8];
    cell_fill(h, t, fill);
    fprintf(f, "<rect class=\"cell\" data-type=\"");
    lqi_xml_escape(f, e->name);
    fprintf(f, "\" data-tensor=\"");
    lqi_xml_escape(f, t->name);
    if (t->compared) {
        fprintf(f, "\" data-rel-rmse=\"%.17g", t->stats.rel_rmse);
    }
    fprintf(f, "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"%s>", x, y, w, CH,
            fill,
            t->compared && isfinite(t->stats.rel_rmse) ? ""
                                                       : " stroke=\"#999\" "
                                                         "stroke-dasharray=\"2 2\"");
    cell_title(f, e, t);
    fprintf(f, "</rect>\n");
}

/* Layer numbers over the columns, thinned out where columns are narrow. */
static void layer_header(FILE *f, const struct heat *h, double x0, double y)
{
    const int every = (int)ceil(18.0 / h->cw);
    fprintf(f, "<g class=\"layers\" font-size=\"10\" fill=\"#555\" text-anchor=\"middle\">");
    for (int l = 0; l < h->n_layers; l += every) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%d</text>", x0 + (l + 0.5) * h->cw, y, l);
    }
    fprintf(f,
            "</g>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\" "
            "text-anchor=\"end\">layer</text>\n",
            x0 - 6, y);
}

static void panel(FILE *f, const struct heat *h, const struct lq_report_entry *e, int x0, int y0)
{
    const double gx = x0 + LW, gy = y0 + TITLE + HEAD;
    fprintf(f, "<g class=\"panel\" data-type=\"");
    lqi_xml_escape(f, e->name);
    fprintf(f, "\">\n<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">", x0, y0 + 14);
    lqi_xml_escape(f, e->name);
    fprintf(f, "<tspan font-size=\"12\" font-weight=\"normal\" fill=\"#555\"> %.3f bpw", e->bpw);
    if (e->eval.has_kld) {
        fprintf(f, ", mean KLD %.6f", e->eval.kld.kld);
    }
    fprintf(f, "</tspan></text>\n");
    layer_header(f, h, gx, gy - 4);
    for (int k = 0; k < h->n_kinds; k++) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", gx - 6,
                gy + k * CH + 12);
        lqi_xml_escape(f, h->kinds[k].name);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<g stroke=\"white\" stroke-width=\"1\">\n");
    for (int64_t t = 0; t < e->n_tensors; t++) {
        char kname[KIND_CAP];
        int layer;
        split_name(e->tensors[t].name, kname, &layer);
        const int k = find_kind(h, kname, layer >= 0);
        if (k < 0) { /* beyond MAX_KINDS kinds: not drawn */
            continue;
        }
        const double y = gy + k * CH;
        if (layer >= 0) {
            cell(f, h, e, &e->tensors[t], gx + layer * h->cw, y, h->cw);
        } else {
            cell(f, h, e, &e->tensors[t], gx, y, (double)(panel_w(h) - LW));
        }
    }
    fprintf(f, "</g>\n</g>\n");
}

static void draw(FILE *f, const void *ctx)
{
    const struct heat *h = ctx;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            h->w, h->h, h->w, h->h, h->w, h->h);
    fprintf(f,
            "<text x=\"%d\" y=\"28\" font-size=\"17\" font-weight=\"bold\">Where the error "
            "is: per-tensor relative RMSE by layer</text>\n",
            M);
    fprintf(f,
            "<text x=\"%d\" y=\"48\" font-size=\"12\" fill=\"#555\">RMSE of the dequantized "
            "tensor against the reference's, divided by the reference's RMS; hover a cell "
            "for its values</text>\n",
            M);
    legend(f, h);
    int i = 0;
    for (int64_t j = 0; j < lq_report_n_entries(h->r); j++) {
        const struct lq_report_entry *e = lq_report_entry(h->r, j);
        if (!plotted(e)) {
            continue;
        }
        const int col = i % h->per_row, row = i / h->per_row;
        panel(f, h, e, M + col * (panel_w(h) + GAP), TOP + row * (panel_h(h) + GAP));
        i++;
    }
    if (i == 0) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"14\">no quantized type measured</text>\n",
                M, TOP + 20);
    }
    fprintf(f, "</svg>\n");
}

lq_status lqi_report_heat_svg_string(const lq_report *r, char **out, struct lq_error *err)
{
    struct heat *h = lqi_calloc(1, sizeof *h);
    LQ_FAIL_IF(!h, err, LQ_E_NOMEM, "out of memory");
    h->r = r;
    scan(h);
    layout(h);
    lq_status s = lqi_svg_render(draw, h, out, err);
    lqi_free(h);
    return s;
}

lq_status lq_report_write_tensors_svg(const lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    char *svg = NULL;
    LQ_TRY(lqi_report_heat_svg_string(r, &svg, err));
    lq_status s = lqi_svg_write(svg, path, err);
    free(svg);
    return s;
}

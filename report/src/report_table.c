/* report_table.c - report.md and report.html: one row per type, the same cells in both.
 * Every number printed is a value of report.json rounded to the precision shown. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqi.h"
#include "report_impl.h"

enum { N_COLS = 13, CELL = 256 };

static const char *const col_names[N_COLS] = {
    "type",
    "size (MiB)",
    "bpw",
    "PPL",
    "ΔPPL",
    "PPL ratio",
    "mean KLD",
    "KLD p99",
    "top-1 (%)",
    "RMS Δp (%)",
    "worst tensors (rel. RMSE)",
    "quantize (s)",
    "eval (tok/s)",
};

/* The three worst tensors as "`name` 0.0123, ..." (names in backticks for Markdown). */
static void worst_cell(const struct lq_report_entry *e, bool md, char *out)
{
    size_t off = 0;
    out[0] = '\0';
    for (int k = 0; k < 3 && e->worst[k] >= 0; k++) {
        const struct lq_report_tensor *t = &e->tensors[e->worst[k]];
        off += (size_t)snprintf(out + off, CELL - off, "%s%s%s%s %.4f", k ? ", " : "",
                                md ? "`" : "", t->name, md ? "`" : "", t->stats.rel_rmse);
        if (off >= CELL) {
            break;
        }
    }
    if (!out[0]) {
        snprintf(out, CELL, "—");
    }
}

static void job_cells(const struct lq_report_entry *e, bool md, char c[N_COLS][CELL])
{
    const struct lq_kld_report *k = &e->eval.kld;
    snprintf(c[0], CELL, "%s", e->name);
    snprintf(c[4], CELL, "%+.4f", e->dppl);
    snprintf(c[5], CELL, "%.4f ± %.4f", k->ratio, k->ratio_err);
    snprintf(c[6], CELL, "%.6f ± %.6f", k->kld, k->kld_err);
    snprintf(c[7], CELL, "%.6f", k->kld_dist.p99);
    snprintf(c[8], CELL, "%.3f ± %.3f", 100.0 * k->same_top, 100.0 * k->same_top_err);
    snprintf(c[9], CELL, "%.3f ± %.3f", 100.0 * k->dp_rms, 100.0 * k->dp_rms_err);
    worst_cell(e, md, c[10]);
    if (e->quantize_seconds > 0) {
        snprintf(c[11], CELL, "%.2f", e->quantize_seconds);
    } else {
        snprintf(c[11], CELL, "—");
    }
}

/* Cells of one row; the reference has no comparison columns. */
static void row_cells(const struct lq_report_entry *e, bool md, char c[N_COLS][CELL])
{
    const bool base = strcmp(e->kind, "base") == 0;
    for (int i = 0; i < N_COLS; i++) {
        snprintf(c[i], CELL, "—");
    }
    if (base) {
        snprintf(c[0], CELL, "%s (reference)", e->name);
    } else {
        job_cells(e, md, c);
    }
    snprintf(c[1], CELL, "%.2f", (double)e->file_bytes / 1048576.0);
    snprintf(c[2], CELL, "%.3f", e->bpw);
    snprintf(c[3], CELL, "%.4f ± %.4f", e->eval.ppl, e->eval.ppl_err);
    snprintf(c[12], CELL, "%.1f", e->eval.tokens_per_s);
}

// ---- Markdown -------------------------------------------------------------------------------

static void md_row(FILE *f, char c[N_COLS][CELL])
{
    for (int i = 0; i < N_COLS; i++) {
        fprintf(f, "| %s ", c[i]);
    }
    fprintf(f, "|\n");
}

static void md_header(FILE *f, const lq_report *r)
{
    const struct lq_report_model *m = lq_report_get_model(r);
    const struct lq_report_entry *b = lq_report_base(r);
    char hex[17];
    lqi_hex64(m->xxh3, hex);
    fprintf(f, "# Quantization report\n\n");
    fprintf(f, "- reference: `%s` (%s, %lld tensors, %lld parameters, XXH3 `%s`)\n", m->path,
            b->name, (long long)m->n_tensors, (long long)m->n_params, hex);
    fprintf(f, "- text: `%s`: %lld chunks of %lld tokens (%lld tokens scored per model)\n",
            lq_report_text_path(r), (long long)m->n_chunk, (long long)m->n_ctx,
            (long long)b->eval.count);
    fprintf(f, "- KLD, top-1 agreement and RMS Δp compare each type's next-token "
               "distributions with the reference's; ± is one standard error.\n\n");
}

lq_status lq_report_write_md(const lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    struct report_out o;
    LQ_TRY(lqi_out_open(&o, path, err));
    char c[N_COLS][CELL];
    md_header(o.f, r);
    for (int i = 0; i < N_COLS; i++) {
        fprintf(o.f, "| %s ", col_names[i]);
    }
    fprintf(o.f, "|\n");
    for (int i = 0; i < N_COLS; i++) {
        fprintf(o.f, "|%s", i == 0 || i == 10 ? "---" : "---:");
    }
    fprintf(o.f, "|\n");
    row_cells(lq_report_base(r), true, c);
    md_row(o.f, c);
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        row_cells(lq_report_entry(r, i), true, c);
        md_row(o.f, c);
    }
    fprintf(o.f, "\n![bits per weight against KL divergence](report.svg)\n");
    fprintf(o.f, "\n![per-tensor relative RMSE by layer](report-tensors.svg)\n");
    return lqi_out_close(&o, err);
}

// ---- HTML -----------------------------------------------------------------------------------

static void html_row(FILE *f, char c[N_COLS][CELL], const char *tag)
{
    fputs("<tr>", f);
    for (int i = 0; i < N_COLS; i++) {
        fprintf(f, "<%s>", tag);
        lqi_xml_escape(f, c[i]);
        fprintf(f, "</%s>", tag);
    }
    fputs("</tr>\n", f);
}

static void html_table(FILE *f, const lq_report *r)
{
    char c[N_COLS][CELL];
    for (int i = 0; i < N_COLS; i++) {
        snprintf(c[i], CELL, "%s", col_names[i]);
    }
    fputs("<table>\n", f);
    html_row(f, c, "th");
    row_cells(lq_report_base(r), false, c);
    html_row(f, c, "td");
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        row_cells(lq_report_entry(r, i), false, c);
        html_row(f, c, "td");
    }
    fputs("</table>\n", f);
}

lq_status lq_report_write_html(const lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    char *svg = NULL, *heat = NULL;
    LQ_TRY(lqi_report_svg_string(r, &svg, err));
    struct report_out o;
    lq_status s = lqi_report_heat_svg_string(r, &heat, err);
    s = s == LQ_OK ? lqi_out_open(&o, path, err) : s;
    if (s != LQ_OK) {
        free(svg);
        free(heat);
        return s;
    }
    const struct lq_report_model *m = lq_report_get_model(r);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n"
          "<title>Quantization report</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;font-size:14px}\n"
          "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\n"
          "th:first-child,td:first-child,td:nth-child(11){text-align:left}\n"
          "tr:nth-child(even){background:#f6f6f6}\n"
          "figure{margin:1.5em 0}\nfigure svg{max-width:100%;height:auto}\n"
          ".hint{color:#666;font-size:13px}\n</style></head><body>\n"
          "<h1>Quantization report</h1>\n<p>reference ",
          o.f);
    lqi_xml_escape(o.f, lq_report_get_model(r)->path);
    fprintf(o.f, ", text ");
    lqi_xml_escape(o.f, lq_report_text_path(r));
    fprintf(o.f, ": %lld chunks of %lld tokens</p>\n", (long long)m->n_chunk, (long long)m->n_ctx);
    html_table(o.f, r);
    fputs("<p class=\"hint\">Hover a point or a cell for its exact values.</p>\n<figure>\n", o.f);
    fputs(svg, o.f);
    fputs("</figure>\n<figure>\n", o.f);
    fputs(heat, o.f);
    fputs("</figure>\n</body></html>\n", o.f);
    free(svg);
    free(heat);
    return lqi_out_close(&o, err);
}

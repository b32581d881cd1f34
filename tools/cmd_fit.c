/* cmd_fit.c - `quant fit`: the memory llama.cpp takes for each file (or each file type of a
 * model not yet quantized), which fit a budget, and the most accurate one that does. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_opts.h"
#include "json_out.h"
#include "lq/fit.h"
#include "progress.h"

#define MIB (1024.0 * 1024.0)

struct fit_opts {
    struct lq_fit_params p;
    const char *report, *kv_name;
    const char *paths[CLI_MAX_POS]; /* argv's, as the parser found them */
    int n_paths;
    bool json;
    double t0;
};

/* One row: a model (a file, or a planned file type) and its estimate. */
struct fit_row {
    struct lq_fit_model m;
    const char *path; /* the GGUF file, NULL for a planned type */
    struct lq_fit_estimate e;
    double kld; /* < 0: not in the report */
};

static int parse_opts(int argc, char **argv, struct fit_opts *o)
{
    struct cli_args a;
    const int rc = cli_parse(CLI_FIT, argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    o->p = lq_fit_params_default();
    o->p.mem = (uint64_t)cli_num(&a, OPT_MEM);
    o->p.vram = (uint64_t)cli_num(&a, OPT_VRAM);
    o->p.n_ctx = cli_num(&a, OPT_CTX);
    o->p.n_ubatch = cli_num(&a, OPT_UBATCH);
    o->p.flash_attn = cli_has(&a, OPT_FLASH_ATTN);
    o->kv_name = cli_str(&a, OPT_KV_TYPE);
    o->p.kv_type = strcmp(o->kv_name, "q8_0") == 0   ? LQ_TYPE_Q8_0
                   : strcmp(o->kv_name, "q4_0") == 0 ? LQ_TYPE_Q4_0
                                                     : LQ_TYPE_F16;
    o->report = cli_str(&a, OPT_REPORT);
    o->json = cli_has(&a, OPT_JSON);
    memcpy(o->paths, a.pos, sizeof a.pos[0] * (size_t)a.n_pos);
    o->n_paths = a.n_pos;
    if (o->p.kv_type != LQ_TYPE_F16 && !o->p.flash_attn) {
        return cli_usage_error("fit", "--kv-type %s needs --flash-attn (llama.cpp refuses a "
                                      "quantized V cache without flash attention)",
                               o->kv_name);
    }
    return 0;
}

/* A GGUF of unquantized weights given alone stands for the model: every type is planned. */
static bool plans_types(const lq_gguf *g, int n_paths)
{
    int64_t ft = -1;
    if (n_paths != 1) {
        return false;
    }
    if (!g) {
        return true;
    }
    lq_gguf_get_i64(g, "general.file_type", &ft, NULL);
    return ft == LQ_FTYPE_ALL_F32 || ft == LQ_FTYPE_MOSTLY_F16 || ft == LQ_FTYPE_MOSTLY_BF16;
}

/* Every file type the recipe can plan without an importance matrix. */
static int plan_rows(const lq_source *src, const lq_gguf *g, struct fit_row *rows, int cap,
                     int *n)
{
    enum lq_ftype all[64];
    const size_t nt = lq_ftype_list(all, 64);
    for (size_t i = 0; i < nt && i < 64 && *n < cap; i++) {
        if (lq_ftype_needs_imatrix(all[i]) ||
            (all[i] == LQ_FTYPE_MOSTLY_MXFP4_MOE && lq_source_hparams(src)->n_expert <= 1)) {
            continue; /* (MXFP4_MOE is Q8_0 for a dense model) */
        }
        struct lq_error err = {0};
        struct fit_row *r = &rows[*n];
        if (lq_fit_model_from_source(src, g, (int)all[i], &r->m, &err) != LQ_OK) {
            if (err.code == LQ_E_INVALID_ARG) {
                continue; /* a type this model cannot take (rows no multiple of its block) */
            }
            return cli_fail("fit", &err);
        }
        (*n)++;
    }
    return 0;
}

/* Opens each input: GGUF files as stored, or one checkpoint planned for every type. */
static int load_rows(const struct fit_opts *o, struct fit_row *rows, int cap, int *n)
{
    for (int i = 0; i < o->n_paths; i++) {
        struct lq_error err = {0};
        lq_source *src = NULL;
        lq_gguf *g = NULL;
        if (lq_source_open(o->paths[i], &src, &err) != LQ_OK) {
            return cli_fail("fit", &err);
        }
        int rc = 0;
        if (lq_source_get_kind(src) == LQ_SOURCE_GGUF &&
            lq_gguf_open(o->paths[i], &g, &err) != LQ_OK) {
            rc = cli_fail("fit", &err);
        } else if (plans_types(g, o->n_paths)) {
            rc = plan_rows(src, g, rows, cap, n);
        } else if (!g) {
            rc = cli_usage_error("fit", "%s: several inputs must all be GGUF files (a checkpoint "
                                        "is planned alone, for every file type)",
                                 o->paths[i]);
        } else if (*n < cap) {
            rows[*n].path = o->paths[i];
            if (lq_fit_model_from_source(src, g, -1, &rows[*n].m, &err) != LQ_OK) {
                rc = cli_fail("fit", &err);
            } else {
                (*n)++;
            }
        }
        lq_gguf_free(g);
        lq_source_free(src);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

/* Each row's KLD from the report: the same file (by name), else the same file type. */
static int match_report(const char *path, struct fit_row *rows, int n)
{
    struct lq_fit_kld *k = NULL;
    size_t nk = 0;
    struct lq_error err = {0};
    if (lq_fit_read_report(path, &k, &nk, &err) != LQ_OK) {
        return cli_fail("fit", &err);
    }
    for (int i = 0; i < n; i++) {
        rows[i].kld = -1;
        for (size_t j = 0; j < nk && rows[i].kld < 0; j++) {
            if (rows[i].path && k[j].path && strcmp(base_name(rows[i].path), base_name(k[j].path)) == 0) {
                rows[i].kld = k[j].kld;
            }
        }
        for (size_t j = 0; j < nk && rows[i].kld < 0; j++) {
            if (strcasecmp(rows[i].m.label, k[j].name) == 0) {
                rows[i].kld = k[j].kld;
            }
        }
    }
    lq_fit_kld_free(k, nk);
    return 0;
}

/* The most accurate row that fits: lowest KLD when the report has it, else most bytes. */
static int recommend(const struct fit_row *rows, int n, bool by_kld)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!rows[i].e.fits || (by_kld && rows[i].kld < 0)) {
            continue;
        }
        if (best < 0 || (by_kld ? rows[i].kld < rows[best].kld
                                : rows[i].m.file_bytes > rows[best].m.file_bytes)) {
            best = i;
        }
    }
    return best;
}

/* The row that needs the least host memory (for "nothing fits"). */
static int smallest(const struct fit_row *rows, int n)
{
    int s = 0;
    for (int i = 1; i < n; i++) {
        if (rows[i].e.cpu.total + rows[i].e.gpu.total < rows[s].e.cpu.total + rows[s].e.gpu.total) {
            s = i;
        }
    }
    return s;
}

static const char *row_name(const struct fit_row *r)
{
    return r->path ? base_name(r->path) : r->m.label;
}

static json_t *device_json(const struct lq_fit_device *d)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "mapped_bytes", (json_int_t)d->mapped,
                     "repack_bytes", (json_int_t)d->repack, "kv_bytes", (json_int_t)d->kv,
                     "compute_bytes", (json_int_t)d->compute, "output_bytes",
                     (json_int_t)d->output, "total_bytes", (json_int_t)d->total);
}

static int print_json(const struct fit_opts *o, const struct fit_row *rows, int n, int best,
                      int rc)
{
    json_t *doc = json_out_new("fit");
    for (int i = 0; i < o->n_paths; i++) {
        char key[32];
        snprintf(key, sizeof key, i ? "model%d" : "model", i);
        json_out_input(doc, key, o->paths[i]);
    }
    if (o->report) {
        json_out_input(doc, "report", o->report);
    }
    json_object_set_new(doc, "params",
                        json_pack("{s:I,s:I,s:s,s:b,s:I,s:I}", "n_ctx", (json_int_t)o->p.n_ctx,
                                  "n_ubatch", (json_int_t)o->p.n_ubatch, "kv_type", o->kv_name,
                                  "flash_attn", o->p.flash_attn, "mem_bytes",
                                  (json_int_t)o->p.mem, "vram_bytes", (json_int_t)o->p.vram));
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const struct fit_row *r = &rows[i];
        json_t *j = json_pack("{s:s,s:I,s:I,s:b,s:o,s:o}", "name", row_name(r), "file_bytes",
                              (json_int_t)r->m.file_bytes, "n_gpu_layers",
                              (json_int_t)r->e.n_gpu_layers, "fits", r->e.fits, "host",
                              device_json(&r->e.cpu), "gpu", device_json(&r->e.gpu));
        json_object_set_new(j, "file_type", json_string(r->m.label));
        json_object_set_new(j, "path", r->path ? json_string(r->path) : json_null());
        json_object_set_new(j, "mean_kld", r->kld >= 0 ? json_out_number(r->kld) : json_null());
        json_object_set_new(j, "sliding_window_upper_bound", json_boolean(r->e.swa_upper_bound));
        json_array_append_new(arr, j);
    }
    json_object_set_new(doc, "models", arr);
    json_out_str(doc, "recommended", best >= 0 ? row_name(&rows[best]) : NULL);
    return json_out_emit(doc, progress_now() - o->t0, rc);
}

static void print_table(const struct fit_opts *o, const struct fit_row *rows, int n, FILE *f)
{
    const bool gpu = o->p.vram > 0, kld = o->report != NULL;
    fprintf(f, "llama.cpp at ctx %lld, KV %s, flash attention %s, ubatch %lld (MiB):\n",
            (long long)o->p.n_ctx, o->kv_name, o->p.flash_attn ? "on" : "off",
            (long long)o->p.n_ubatch);
    fprintf(f, "%-24s %9s %9s %9s %9s %7s %9s", "file", "mapped", "repack", "KV", "compute",
            "output", "host");
    if (gpu) {
        fprintf(f, " %4s %9s", "-ngl", "GPU");
    }
    fprintf(f, " %4s%s\n", "fits", kld ? "  mean KLD" : "");
    for (int i = 0; i < n; i++) {
        const struct lq_fit_estimate *e = &rows[i].e;
        char name[64];
        const char *rn = row_name(&rows[i]);
        cli_escape(rn, strlen(rn), false, name, sizeof name);
        fprintf(f, "%-24s %9.2f %9.2f %9.2f %9.2f %7.2f %9.2f", name, e->cpu.mapped / MIB,
                e->cpu.repack / MIB, e->cpu.kv / MIB, e->cpu.compute / MIB,
                e->cpu.output / MIB, e->cpu.total / MIB);
        if (gpu) {
            fprintf(f, " %4lld %9.2f", (long long)e->n_gpu_layers, e->gpu.total / MIB);
        }
        fprintf(f, " %4s", e->fits ? "yes" : "no");
        if (kld) {
            if (rows[i].kld >= 0) {
                fprintf(f, "  %8.5f", rows[i].kld);
            } else {
                fprintf(f, "  %8s", "-");
            }
        }
        fprintf(f, "%s\n", e->swa_upper_bound ? "  (sliding window: upper bound)" : "");
    }
}

static int run(const struct fit_opts *o, struct fit_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        struct lq_error err = {0};
        rows[i].kld = -1;
        if (lq_fit_estimate(&rows[i].m, &o->p, &rows[i].e, &err) != LQ_OK) {
            return cli_fail("fit", &err);
        }
    }
    int rc = o->report ? match_report(o->report, rows, n) : 0;
    if (rc != 0) {
        return rc;
    }
    const int best = recommend(rows, n, o->report != NULL);
    const int any = recommend(rows, n, false);
    rc = any >= 0 ? LQ_EXIT_OK : LQ_EXIT_FAIL;
    print_table(o, rows, n, o->json ? stderr : stdout);
    FILE *f = o->json ? stderr : stdout;
    if (any < 0) {
        const struct fit_row *s = &rows[smallest(rows, n)];
        fprintf(stderr, "quant fit: nothing fits in %.2f MiB of host memory", o->p.mem / MIB);
        if (o->p.vram) {
            fprintf(stderr, " and %.2f MiB of GPU memory", o->p.vram / MIB);
        }
        fprintf(stderr, ": the smallest requirement is %s, %.2f MiB of host memory (CPU only)\n",
                row_name(s), s->e.cpu.total / MIB);
    } else if (best >= 0) {
        fprintf(f, "recommended: %s (%s)\n", row_name(&rows[best]),
                o->report ? "the lowest mean KLD of the files that fit"
                          : "the most bytes of the files that fit; --report ranks by KLD");
    } else {
        fprintf(f, "recommended: none (the report measured none of the files that fit)\n");
    }
    return o->json ? print_json(o, rows, n, best, rc) : rc;
}

int cmd_fit(int argc, char **argv)
{
    static struct fit_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    o.t0 = progress_now();
    enum { CAP = CLI_MAX_POS + 64 };
    static struct fit_row rows[CAP];
    int n = 0;
    rc = load_rows(&o, rows, CAP, &n);
    if (rc == 0) {
        rc = run(&o, rows, n);
    }
    for (int i = 0; i < n; i++) {
        lq_fit_model_free(&rows[i].m);
    }
    return rc;
}

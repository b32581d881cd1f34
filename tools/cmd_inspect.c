/* cmd_inspect.c - `quant inspect PATH`: what a model file or folder holds (everything convert
 * reads, told apart the same way: inspect_view.h): format, architecture, parameters, bytes by
 * type, bits per weight, metadata and the tensor table, shapes in GGUF order (ne[0] first);
 * --json for machines, --hash for XXH3-64 of tensor data. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#include "cli.h"
#include "cli_opts.h"
#include "inspect_view.h"
#include "json_out.h"
#include "progress.h"

static void shape_str(const struct iv_tensor *t, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int d = 0; d < t->n_dims && off < cap; d++) {
        off += (size_t)snprintf(buf + off, cap - off, d ? " x %" PRId64 : "%" PRId64, t->shape[d]);
    }
}

static json_t *bytes_by_type_json(const struct iv_summary *s)
{
    json_t *o = json_object();
    for (size_t i = 0; i < s->n_types; i++) {
        json_t *e = json_pack("{s:I,s:I,s:I}", "tensors", (json_int_t)s->types[i].n_tensors,
                              "params", (json_int_t)s->types[i].n_params, "bytes",
                              (json_int_t)s->types[i].bytes);
        json_object_set_new(o, s->types[i].name, e);
    }
    return o;
}

static int print_json(const struct inspect_view *v, bool hash, bool tensors, double t0)
{
    struct iv_summary s;
    iv_summarize(v, &s);
    json_t *root = json_out_new("inspect");
    json_out_input(root, "model", v->path);
    json_t *head = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:I,s:f}", "path", v->path, "format",
                             v->format, "kind", v->kind_name, "architecture", v->architecture,
                             "n_params", (json_int_t)s.n_params, "data_bytes",
                             (json_int_t)s.n_bytes, "bpw", s.bpw);
    json_object_update(root, head);
    json_decref(head);
    if (v->family_known) {
        json_object_set_new(root, "family", v->family ? json_string(v->family->name) : json_null());
    }
    json_out_str(root, "shape_order", "ggml");
    if (v->tok.model[0]) {
        json_object_set_new(root, "tokenizer",
                            json_pack("{s:s,s:s?,s:I}", "model", v->tok.model, "pre",
                                      v->tok.pre[0] ? v->tok.pre : NULL, "n_tokens",
                                      (json_int_t)v->tok.n_tokens));
    } else if (v->tok.error[0]) {
        json_object_set_new(root, "tokenizer", json_pack("{s:s}", "error", v->tok.error));
    }
    if (v->version) {
        json_object_set_new(root, "gguf_version", json_integer(v->version));
    }
    json_object_set_new(root, "bytes_by_type", bytes_by_type_json(&s));
    json_object_set_new(root, "metadata", iv_metadata_json(v));
    if (tensors) {
        json_t *arr = json_array();
        for (int64_t i = 0; i < v->n_tensors; i++) {
            const struct iv_tensor *t = &v->tensors[i];
            json_t *shape = json_array();
            for (int d = 0; d < t->n_dims; d++) {
                json_array_append_new(shape, json_integer(t->shape[d]));
            }
            json_t *e = json_pack("{s:s,s:s,s:o,s:I,s:I,s:I}", "name", t->name, "type",
                                  t->type_name, "shape", shape, "n_params",
                                  (json_int_t)t->n_params, "bytes", (json_int_t)t->nbytes,
                                  "offset", (json_int_t)t->offset);
            if (t->file) {
                json_object_set_new(e, "file", json_string(t->file));
            }
            if (hash) {
                char h[17];
                snprintf(h, sizeof h, "%016llx",
                         (unsigned long long)XXH3_64bits(t->data, (size_t)t->nbytes));
                json_object_set_new(e, "xxh3", json_string(h));
            }
            json_array_append_new(arr, e);
        }
        json_object_set_new(root, "tensors", arr);
    }
    iv_summary_free(&s);
    return json_out_emit(root, progress_now() - t0, LQ_EXIT_OK);
}

static void print_summary(const struct inspect_view *v)
{
    struct iv_summary s;
    iv_summarize(v, &s);
    char esc[256];
    printf("%s\n", cli_esc(v->path, esc, sizeof esc));
    printf("  format:        %s (%s)", v->format, v->kind_name);
    if (v->version) {
        printf(" v%u", v->version);
    }
    printf("\n  architecture:  %s\n",
           v->architecture ? cli_esc(v->architecture, esc, sizeof esc) : "(not stated)");
    if (v->family) {
        printf("  family:        %s (%s; GGUF architecture %s)\n", v->family->name,
               v->family->title, v->family->gguf_arch);
    } else if (v->family_known) {
        char list[1024];
        lq_family_list(list, sizeof list);
        printf("  family:        none: convert and eval support %s\n", list);
    }
    if (v->tok.model[0]) {
        printf("  tokenizer:     %s", cli_esc(v->tok.model, esc, sizeof esc));
        printf(", pre-tokenizer %s", v->tok.pre[0] ? cli_esc(v->tok.pre, esc, sizeof esc)
                                                   : "(not stated)");
        printf(", %" PRId64 " tokens\n", v->tok.n_tokens);
    } else if (v->tok.error[0]) {
        char msg[1024];
        printf("  tokenizer:     (not convertible: %s)\n", cli_esc(v->tok.error, msg, sizeof msg));
    }
    printf("  parameters:    %" PRId64 " (%.2f M)\n", s.n_params, (double)s.n_params / 1e6);
    printf("  tensor bytes:  %" PRIu64 " (%.2f MiB), %.3f bits per weight\n", s.n_bytes,
           (double)s.n_bytes / 1048576.0, s.bpw);
    printf("  by type:\n");
    for (size_t i = 0; i < s.n_types; i++) {
        printf("    %-10s %5" PRId64 " tensors %12" PRId64 " params %14" PRIu64 " bytes\n",
               cli_esc(s.types[i].name, esc, sizeof esc), s.types[i].n_tensors,
               s.types[i].n_params, s.types[i].bytes);
    }
    iv_summary_free(&s);
}

static void print_text(const struct inspect_view *v, bool hash, bool tensors)
{
    print_summary(v);
    printf("\nmetadata (%" PRId64 " keys):\n", iv_metadata_count(v));
    iv_metadata_print(v, stdout);
    if (!tensors) {
        return;
    }
    printf("\ntensors (%" PRId64 "; shapes in GGUF order, row length first):\n", v->n_tensors);
    printf("  %-40s %-10s %-22s %12s %12s%s\n", "name", "type", "shape", "bytes", "offset",
           hash ? "  xxh3" : "");
    for (int64_t i = 0; i < v->n_tensors; i++) {
        const struct iv_tensor *t = &v->tensors[i];
        char shape[96], name[1024], type[64];
        shape_str(t, shape, sizeof shape);
        printf("  %-40s %-10s %-22s %12" PRIu64 " %12" PRIu64, cli_esc(t->name, name, sizeof name),
               cli_esc(t->type_name, type, sizeof type), shape, t->nbytes, t->offset);
        if (hash) {
            printf("  %016llx", (unsigned long long)XXH3_64bits(t->data, (size_t)t->nbytes));
        }
        putchar('\n');
    }
}

int cmd_inspect(int argc, char **argv)
{
    struct cli_args a;
    const int prc = cli_parse(CLI_INSPECT, argc, argv, &a);
    if (prc != 0) {
        return prc < 0 ? LQ_EXIT_OK : prc;
    }
    const bool json = cli_has(&a, OPT_JSON), hash = cli_has(&a, OPT_HASH);
    const bool tensors = !cli_has(&a, OPT_NO_TENSORS);
    const double t0 = progress_now();
    struct inspect_view *v = NULL;
    struct lq_error err;
    lq_error_clear(&err);
    if (iv_open(a.pos[0], &v, &err) != LQ_OK) {
        return cli_fail("inspect", &err);
    }
    int rc = LQ_EXIT_OK;
    if (json) {
        rc = print_json(v, hash, tensors, t0);
    } else {
        print_text(v, hash, tensors);
    }
    iv_free(v);
    return rc;
}

/* inspect_view.c - opening any supported path as an inspect view, and the summary by type. */
#include "inspect_view.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inspect_priv.h"

enum { IV_GGUF, IV_SAFETENSORS, IV_HF };

lq_status ivi_nomem(struct lq_error *err)
{
    if (err) {
        err->code = LQ_E_NOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    return LQ_E_NOMEM;
}

void ivi_print_quoted(FILE *f, const char *s, size_t len, size_t max)
{
    fputc('"', f);
    size_t n = len < max ? len : max, run = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '"' || s[i] == '\\') {
            cli_put_escaped(f, s + run, i - run, false); /* controls made visible */
            if (i < n) {
                fprintf(f, "\\%c", s[i]);
            }
            run = i + 1;
        }
    }
    fputc('"', f);
    if (len > max) {
        fprintf(f, "... (%zu bytes)", len);
    }
}

static int detect_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return IV_HF;
    }
    FILE *f = fopen(path, "rb");
    char magic[4] = { 0 };
    if (f) {
        size_t n = fread(magic, 1, 4, f);
        fclose(f);
        if (n == 4 && memcmp(magic, "GGUF", 4) == 0) {
            return IV_GGUF;
        }
    }
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) {
        return IV_GGUF; /* let the GGUF reader say what is wrong with it */
    }
    return IV_SAFETENSORS;
}

lq_status iv_open(const char *path, struct inspect_view **out, struct lq_error *err)
{
    *out = NULL;
    struct inspect_view *v = calloc(1, sizeof *v);
    if (!v) {
        return ivi_nomem(err);
    }
    v->path = path;
    v->kind = detect_kind(path);
    lq_status rc;
    switch (v->kind) {
    case IV_GGUF: rc = ivi_open_gguf(v, err); break;
    case IV_HF: rc = ivi_open_hf(v, err); break;
    default: rc = ivi_open_safetensors(v, err); break;
    }
    if (rc != LQ_OK) {
        iv_free(v);
        return rc;
    }
    *out = v;
    return LQ_OK;
}

void iv_free(struct inspect_view *v)
{
    if (!v) {
        return;
    }
    if (v->impl) {
        if (v->kind == IV_GGUF) {
            ivi_gguf_close(v);
        } else {
            ivi_st_close(v);
        }
    }
    free(v->tensors);
    free(v);
}

static struct iv_type_sum *type_slot(struct iv_summary *s, const char *name)
{
    for (size_t i = 0; i < s->n_types; i++) {
        if (strcmp(s->types[i].name, name) == 0) {
            return &s->types[i];
        }
    }
    struct iv_type_sum *slot = &s->types[s->n_types++];
    slot->name = name;
    return slot;
}

void iv_summarize(const struct inspect_view *v, struct iv_summary *s)
{
    memset(s, 0, sizeof *s);
    s->types = calloc((size_t)(v->n_tensors ? v->n_tensors : 1), sizeof *s->types);
    if (!s->types) {
        return;
    }
    for (int64_t i = 0; i < v->n_tensors; i++) {
        const struct iv_tensor *t = &v->tensors[i];
        struct iv_type_sum *slot = type_slot(s, t->type_name);
        slot->n_tensors++;
        slot->n_params += t->n_elements;
        slot->bytes += t->nbytes;
        s->n_params += t->n_elements;
        s->n_bytes += t->nbytes;
    }
    s->bpw = s->n_params ? (double)s->n_bytes * 8.0 / (double)s->n_params : 0.0;
}

void iv_summary_free(struct iv_summary *s)
{
    free(s->types);
    s->types = NULL;
}

int64_t iv_metadata_count(const struct inspect_view *v)
{
    return v->kind == IV_GGUF ? ivi_gguf_metadata_count(v) : ivi_st_metadata_count(v);
}

void iv_metadata_print(const struct inspect_view *v, FILE *f)
{
    if (v->kind == IV_GGUF) {
        ivi_gguf_metadata_print(v, f);
    } else {
        ivi_st_metadata_print(v, f);
    }
}

json_t *iv_metadata_json(const struct inspect_view *v)
{
    return v->kind == IV_GGUF ? ivi_gguf_metadata_json(v) : ivi_st_metadata_json(v);
}

/* inspect_view.c - opening any supported path as an inspect view, and the summary by type. */
#include "inspect_view.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib_cli.h"
#include "inspect_priv.h"
#include "lq/file_io.h"
#include "lq/sniff.h"
#include "lq/types.h"

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

lq_status ivi_alloc_tensors(struct inspect_view *v, int64_t n, struct lq_error *err)
{
    v->n_tensors = n;
    v->tensors = calloc((size_t)(n ? n : 1), sizeof *v->tensors);
    return v->tensors ? LQ_OK : ivi_nomem(err);
}

void ivi_set_torch_shape(struct iv_tensor *t, const int64_t *shape, uint32_t n_dims)
{
    t->n_dims = n_dims < IV_MAX_DIMS ? (int)n_dims : IV_MAX_DIMS;
    t->n_elements = 1;
    for (int d = 0; d < t->n_dims; d++) {
        t->shape[d] = shape[t->n_dims - 1 - d];
        t->n_elements *= t->shape[d];
    }
    t->n_params = t->n_elements;
}

lq_status ivi_load_json(const char *dir, const char *name, json_t **out, struct lq_error *err)
{
    char path[4096];
    int fd;
    *out = NULL;
    LQ_TRY_CLI(lq_input_member(dir, name, path, sizeof path, NULL, err));
    LQ_TRY_CLI(lq_input_open(path, false, &fd, err));
    json_error_t je;
    *out = json_loadfd(fd, 0, &je);
    close(fd);
    if (!*out) {
        return cli_set_error(err, LQ_E_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    }
    return LQ_OK;
}

void ivi_read_config(struct inspect_view *v, const lq_hf *hf)
{
    ivi_load_json(v->path, "config.json", &v->meta, NULL); /* lq_hf_open checked it already */
    const char *arch = NULL, *model_type = NULL;
    lq_hf_config_str(hf, "architectures.0", &arch, NULL);
    lq_hf_config_str(hf, "model_type", &model_type, NULL);
    v->architecture = arch ? arch : model_type;
    v->family = lq_family_by_hf(arch, model_type); /* what convert would use, or refuse */
    v->family_known = true;
}

void ivi_json_metadata_print(const json_t *o, FILE *f)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val)
    {
        char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
        char k[1024], raw[128], ev[1024]; /* keys and values from the file: escaped */
        snprintf(raw, sizeof raw, "%.100s", s ? s : "?");
        fprintf(f, "  %-44s = %s%s\n", cli_esc(key, k, sizeof k), cli_esc(raw, ev, sizeof ev),
                s && strlen(s) > 100 ? "..." : "");
        free(s);
    }
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The reader for what lq_sniff_path (convert's own detection) saw. What it does not
 * recognise goes to the reader its extension (or being a folder) names, which says what is
 * wrong with it. */
static int reader_for(const char *path, enum lq_file_kind kind)
{
    switch (kind) {
    case LQ_FILE_GGUF:
        return IV_GGUF;
    case LQ_FILE_SAFETENSORS:
        return IV_SAFETENSORS;
    case LQ_FILE_HF_DIR:
        return IV_HF;
    case LQ_FILE_HF_DIR_PYTORCH:
    case LQ_FILE_PYTORCH_ZIP:
        return IV_PYTORCH;
    case LQ_FILE_LLAMA2C:
        return IV_LLAMA2C;
    default:
        break;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return IV_HF;
    }
    if (has_suffix(path, ".gguf")) {
        return IV_GGUF;
    }
    return has_suffix(path, ".safetensors") ? IV_SAFETENSORS : -1;
}

static lq_status open_kind(struct inspect_view *v, enum lq_file_kind kind, struct lq_error *err)
{
    switch (v->kind) {
    case IV_GGUF:
        return ivi_open_gguf(v, err);
    case IV_SAFETENSORS:
        return ivi_open_safetensors(v, err);
    case IV_HF:
        return ivi_open_hf(v, err);
    case IV_PYTORCH:
        return ivi_open_pytorch(v, kind == LQ_FILE_HF_DIR_PYTORCH, err);
    case IV_LLAMA2C:
        return ivi_open_llama2c(v, err);
    default:
        break;
    }
    if (err) {
        err->code = LQ_E_UNSUPPORTED;
        snprintf(err->msg, sizeof err->msg,
                 "%s: not a model this tool reads (a GGUF, safetensors, PyTorch .bin or "
                 "llama2.c file, or a Hugging Face folder with config.json)",
                 v->path);
    }
    return LQ_E_UNSUPPORTED;
}

lq_status iv_open(const char *path, struct inspect_view **out, struct lq_error *err)
{
    *out = NULL;
    enum lq_file_kind kind;
    LQ_TRY_CLI(lq_sniff_path(path, &kind, err));
    struct inspect_view *v = calloc(1, sizeof *v);
    if (!v) {
        return ivi_nomem(err);
    }
    v->path = path;
    v->kind_name = lq_file_kind_name(kind);
    v->kind = reader_for(path, kind);
    lq_status rc = open_kind(v, kind, err);
    if (rc != LQ_OK) {
        iv_free(v);
        return rc;
    }
    ivi_read_tokenizer(v);
    *out = v;
    return LQ_OK;
}

void iv_free(struct inspect_view *v)
{
    if (!v) {
        return;
    }
    if (v->impl) {
        switch (v->kind) {
        case IV_GGUF:
            ivi_gguf_close(v);
            break;
        case IV_PYTORCH:
            ivi_pt_close(v);
            break;
        case IV_LLAMA2C:
            ivi_llama2c_close(v);
            break;
        default:
            ivi_st_close(v);
            break;
        }
    }
    json_decref(v->meta);
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
        slot->n_params += t->n_params;
        slot->bytes += t->nbytes;
        s->n_params += t->n_params;
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
    switch (v->kind) {
    case IV_GGUF:
        return ivi_gguf_metadata_count(v);
    case IV_SAFETENSORS:
        return ivi_st_metadata_count(v);
    default:
        return (int64_t)json_object_size(v->meta);
    }
}

void iv_metadata_print(const struct inspect_view *v, FILE *f)
{
    switch (v->kind) {
    case IV_GGUF:
        ivi_gguf_metadata_print(v, f);
        break;
    case IV_SAFETENSORS:
        ivi_st_metadata_print(v, f);
        break;
    default:
        ivi_json_metadata_print(v->meta, f);
        break;
    }
}

json_t *iv_metadata_json(const struct inspect_view *v)
{
    switch (v->kind) {
    case IV_GGUF:
        return ivi_gguf_metadata_json(v);
    case IV_SAFETENSORS:
        return ivi_st_metadata_json(v);
    default:
        return v->meta ? json_deep_copy(v->meta) : json_object();
    }
}

void iv_tensor_set_ggml(struct iv_tensor *t, const char *name, int type, uint32_t n_dims,
                        const int64_t *ne, uint64_t nbytes, uint64_t offset, const void *data)
{
    t->name = name;
    t->lq_type = type;
    t->type_name = lq_type_name(type);
    t->bits = lq_type_bpw(type);
    t->n_dims = (int)n_dims;
    t->n_elements = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        t->shape[d] = ne[d];
        t->n_elements *= ne[d];
    }
    t->n_params = t->n_elements;
    t->nbytes = nbytes;
    t->offset = offset;
    t->data = data;
}

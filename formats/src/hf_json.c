/* hf_json.c - JSON files of a Hugging Face folder: loading, dotted-key lookups, typed
 * getters over config.json and the other files (cached on first use). */
#include "hf_impl.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "file_map.h"
#include "json_kind.h"
#include "lq/file_io.h"
#include "lqi.h"

// ---- loading -----------------------------------------------------------------------------

lq_status lqi_hf_join(const char *dir, const char *name, char **out, bool *exists,
                      struct lq_error *err)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = lqi_malloc(n);
    LQ_FAIL_IF(!*out, err, LQ_E_NOMEM, "%s: out of memory", dir);
    lq_status rc = lq_input_member(dir, name, *out, n, exists, err);
    if (rc != LQ_OK) {
        lqi_free(*out);
        *out = NULL;
    }
    return rc;
}

/* A copy of the JSON text with every integer too large for jansson (more than 18 digits,
 * outside strings) written as a real ("...e0"): tokenizer_config.json files carry
 * model_max_length = 1000000000000000019884624838656. NULL when out of memory. */
static char *bigints_as_reals(const char *text, size_t len, size_t *out_len)
{
    char *out = lqi_malloc(len + len / 10 + 3), *q = out;
    if (!out) {
        return NULL;
    }
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_str) {
            *q++ = text[i++];
            if (c == '\\' && i < len) {
                *q++ = text[i++];
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        }
        size_t n = 0;
        if (c >= '0' && c <= '9' && (i == 0 || !strchr("0123456789.eE+-", text[i - 1]))) {
            while (i + n < len && text[i + n] >= '0' && text[i + n] <= '9') {
                n++;
            }
        }
        bool big = n > 18 && (i + n == len || !strchr(".eE", text[i + n]));
        memcpy(q, text + i, n ? n : 1);
        q += n ? n : 1;
        i += n ? n : 1;
        if (big) {
            *q++ = 'e';
            *q++ = '0';
        }
    }
    *out_len = (size_t)(q - out);
    return out;
}

lq_status lqi_hf_parse_json(const char *text, size_t len, const char *name, json_t **out,
                            struct lq_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root && strstr(je.text, "too big integer")) {
        size_t n2;
        char *copy = bigints_as_reals(text, len, &n2);
        LQ_FAIL_IF(!copy, err, LQ_E_NOMEM, "%s: out of memory", name);
        root = json_loadb(copy, n2, JSON_REJECT_DUPLICATES, &je);
        lqi_free(copy);
    }
    LQ_FAIL_IF(!root, err, LQ_E_FORMAT, "%s: invalid JSON at byte %d (line %d, column %d): %s",
               name, je.position, je.line, je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return lqi_set_error(err, LQ_E_FORMAT, "%s: not a JSON object", name);
    }
    *out = root;
    return LQ_OK;
}

/* Mapped and parsed from memory: jansson's own file reader takes one read() per byte, which
 * is seconds for a 10 MB tokenizer.json. */
lq_status lqi_hf_load_json(const char *path, json_t **out, struct lq_error *err)
{
    *out = NULL;
    struct lqi_file_map m;
    LQ_TRY(lqi_file_map_open(path, &m, err));
    lq_status rc = lqi_hf_parse_json(m.data ? (const char *)m.data : "", (size_t)m.size, path,
                                     out, err);
    lqi_file_map_close(&m);
    return rc;
}

void lqi_hf_free_json_files(lq_hf *hf)
{
    while (hf->files) {
        struct hf_json_file *f = hf->files;
        hf->files = f->next;
        json_decref(f->root);
        lqi_free(f->name);
        lqi_free(f);
    }
}

/* The cached file, loading it on first use. */
static lq_status get_file(lq_hf *hf, const char *file, const json_t **out, struct lq_error *err)
{
    LQ_FAIL_IF(!file || !*file || strchr(file, '/') || strcmp(file, "..") == 0, err,
               LQ_E_INVALID_ARG, "%s: '%s' is not a plain file name", hf->dir, file ? file : "");
    for (struct hf_json_file *f = hf->files; f; f = f->next) {
        if (strcmp(f->name, file) == 0) {
            *out = f->root;
            return LQ_OK;
        }
    }
    char *path;
    LQ_TRY(lqi_hf_join(hf->dir, file, &path, NULL, err));
    struct hf_json_file *f = lqi_calloc(1, sizeof *f);
    lq_status rc = LQ_E_NOMEM;
    if (!f || !(f->name = lqi_strdup(file))) {
        lqi_set_error(err, rc, "%s: out of memory", hf->dir);
        goto out_free;
    }
    rc = lqi_hf_load_json(path, &f->root, err);
    if (rc == LQ_OK) {
        f->next = hf->files;
        hf->files = f;
        *out = f->root;
        f = NULL;
    }
out_free:
    if (f) {
        lqi_free(f->name);
        lqi_free(f);
    }
    lqi_free(path);
    return rc;
}

// ---- lookups -----------------------------------------------------------------------------

/* One step of a dotted key: an object member, or an array element for a decimal index. */
static const json_t *step(const json_t *v, const char *seg, size_t n)
{
    if (json_is_object(v)) {
        return json_object_getn(v, seg, n);
    }
    if (!json_is_array(v) || n == 0 || n > 18) {
        return NULL;
    }
    size_t idx = 0;
    for (size_t i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9') {
            return NULL;
        }
        idx = idx * 10 + (size_t)(seg[i] - '0');
    }
    return json_array_get(v, idx);
}

/* The value of a key (literal first, then dotted); NULL when absent or null. */
static const json_t *lookup(const json_t *root, const char *key)
{
    const json_t *v = json_object_get(root, key);
    if (!v) {
        v = root;
        for (const char *p = key;; p += strcspn(p, ".") + 1) {
            size_t n = strcspn(p, ".");
            v = step(v, p, n);
            if (!v || p[n] == '\0') {
                break;
            }
        }
    }
    return json_is_null(v) ? NULL : v;
}

enum want { WANT_INT, WANT_NUMBER, WANT_STRING, WANT_BOOL, WANT_ARRAY };

static const char *const want_names[] = {"an integer", "a number", "a string", "a boolean",
                                         "an array"};

static bool is_wanted(const json_t *v, enum want w)
{
    switch (w) {
    case WANT_INT:
        return json_is_integer(v);
    case WANT_NUMBER:
        return json_is_number(v);
    case WANT_STRING:
        return json_is_string(v);
    case WANT_BOOL:
        return json_is_boolean(v);
    case WANT_ARRAY:
        return json_is_array(v);
    }
    return false;
}

/* The value of key in root, checked to be of the wanted kind. */
static lq_status get_value(const lq_hf *hf, const json_t *root, const char *file, const char *key,
                           enum want w, const json_t **out, struct lq_error *err)
{
    LQ_FAIL_IF(!hf || !key, err, LQ_E_INVALID_ARG, "lq_hf: bad arguments");
    const json_t *v = lookup(root, key);
    LQ_FAIL_IF(!v, err, LQ_E_NOT_FOUND, "%s/%s: no key '%s'", hf->dir, file, key);
    LQ_FAIL_IF(!is_wanted(v, w), err, LQ_E_FORMAT, "%s/%s: '%s' is %s, not %s", hf->dir, file, key,
               lqi_json_kind(v), want_names[w]);
    *out = v;
    return LQ_OK;
}

// ---- config.json ---------------------------------------------------------------------------

bool lq_hf_config_has(const lq_hf *hf, const char *key)
{
    return hf && key && lookup(hf->config, key) != NULL;
}

lq_status lq_hf_config_i64(const lq_hf *hf, const char *key, int64_t *out, struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_value(hf, hf ? hf->config : NULL, "config.json", key, WANT_INT, &v, err));
    *out = (int64_t)json_integer_value(v);
    return LQ_OK;
}

lq_status lq_hf_config_f64(const lq_hf *hf, const char *key, double *out, struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_value(hf, hf ? hf->config : NULL, "config.json", key, WANT_NUMBER, &v, err));
    *out = json_number_value(v);
    return LQ_OK;
}

lq_status lq_hf_config_str(const lq_hf *hf, const char *key, const char **out, struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_value(hf, hf ? hf->config : NULL, "config.json", key, WANT_STRING, &v, err));
    *out = json_string_value(v);
    return LQ_OK;
}

lq_status lq_hf_config_bool(const lq_hf *hf, const char *key, bool *out, struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_value(hf, hf ? hf->config : NULL, "config.json", key, WANT_BOOL, &v, err));
    *out = json_is_true(v);
    return LQ_OK;
}

lq_status lq_hf_config_len(const lq_hf *hf, const char *key, int64_t *out, struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_value(hf, hf ? hf->config : NULL, "config.json", key, WANT_ARRAY, &v, err));
    *out = (int64_t)json_array_size(v);
    return LQ_OK;
}

// ---- other JSON files ----------------------------------------------------------------------

bool lq_hf_has_file(const lq_hf *hf, const char *file)
{
    if (!hf || !file || !*file || strchr(file, '/')) {
        return false;
    }
    char *path;
    bool ok = false;
    /* a refused entry counts as present, so that opening it reports why */
    if (lqi_hf_join(hf->dir, file, &path, &ok, NULL) != LQ_OK) {
        return true;
    }
    lqi_free(path);
    return ok;
}

static lq_status get_file_value(lq_hf *hf, const char *file, const char *key, enum want w,
                                const json_t **out, struct lq_error *err)
{
    LQ_FAIL_IF(!hf, err, LQ_E_INVALID_ARG, "lq_hf_json: bad arguments");
    const json_t *root;
    LQ_TRY(get_file(hf, file, &root, err));
    return get_value(hf, root, file, key, w, out, err);
}

lq_status lq_hf_json_i64(lq_hf *hf, const char *file, const char *key, int64_t *out,
                         struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_file_value(hf, file, key, WANT_INT, &v, err));
    *out = (int64_t)json_integer_value(v);
    return LQ_OK;
}

lq_status lq_hf_json_f64(lq_hf *hf, const char *file, const char *key, double *out,
                         struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_file_value(hf, file, key, WANT_NUMBER, &v, err));
    *out = json_number_value(v);
    return LQ_OK;
}

lq_status lq_hf_json_str(lq_hf *hf, const char *file, const char *key, const char **out,
                         struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_file_value(hf, file, key, WANT_STRING, &v, err));
    *out = json_string_value(v);
    return LQ_OK;
}

lq_status lq_hf_json_bool(lq_hf *hf, const char *file, const char *key, bool *out,
                          struct lq_error *err)
{
    const json_t *v;
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "lq_hf: no output");
    LQ_TRY(get_file_value(hf, file, key, WANT_BOOL, &v, err));
    *out = json_is_true(v);
    return LQ_OK;
}

/* hf_model.c - a Hugging Face model folder: config.json plus its safetensors file(s),
 * merged into one tensor set sorted by name. */
#include "lq/hf.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "hf_impl.h"
#include "lqi.h"

#define HF_SINGLE "model.safetensors"
#define HF_INDEX "model.safetensors.index.json"

// ---- shards ------------------------------------------------------------------------------

/* Shard names come from a file: keep them inside the folder. */
static bool shard_name_ok(const char *name)
{
    if (!*name || name[0] == '/') {
        return false;
    }
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return false;
        }
        p += n + (p[n] == '/');
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct shard names of the weight map, sorted; names are borrowed from the JSON. */
static lq_status list_shards(const lq_hf *hf, const json_t *map, const char ***names, size_t *n,
                             struct lq_error *err)
{
    size_t cap = json_object_size(map), k = 0;
    const char **v = lqi_calloc(cap ? cap : 1, sizeof *v);
    LQ_FAIL_IF(!v, err, LQ_E_NOMEM, "%s: out of memory", hf->dir);
    *names = v; /* the caller frees it, also on failure */
    const char *key;
    const json_t *shard;
    json_object_foreach((json_t *)map, key, shard)
    {
        LQ_FAIL_IF(!json_is_string(shard), err, LQ_E_FORMAT,
                   "%s/%s: weight_map['%s'] is not a string", hf->dir, HF_INDEX, key);
        LQ_FAIL_IF(!shard_name_ok(json_string_value(shard)), err, LQ_E_FORMAT,
                   "%s/%s: weight_map['%s']: shard name '%s' leaves the folder", hf->dir, HF_INDEX,
                   key, json_string_value(shard));
        v[k++] = json_string_value(shard);
    }
    qsort(v, k, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0) {
            v[u++] = v[i];
        }
    }
    *n = u;
    return LQ_OK;
}

static lq_status open_shard(lq_hf *hf, const char *name, struct lq_error *err)
{
    struct hf_shard *s = &hf->shards[hf->n_shards++];
    s->name = lqi_strdup(name);
    LQ_FAIL_IF(!s->name, err, LQ_E_NOMEM, "%s: out of memory", hf->dir);
    LQ_TRY(lqi_hf_join(hf->dir, name, &s->path, NULL, err));
    return lq_st_open(s->path, &s->st, err);
}

/* Opens the shards in order; `indexed` says whether an index named them. */
static lq_status open_shards(lq_hf *hf, const char **names, size_t n, bool indexed,
                             struct lq_error *err)
{
    hf->shards = lqi_calloc(n ? n : 1, sizeof *hf->shards);
    LQ_FAIL_IF(!hf->shards, err, LQ_E_NOMEM, "%s: out of memory", hf->dir);
    for (size_t i = 0; i < n; i++) {
        lq_status rc = open_shard(hf, names[i], err);
        if (rc != LQ_OK && indexed) {
            lqi_error_prefix(err, "%s: shard '%s' listed in %s: ", hf->dir, names[i], HF_INDEX);
            if (rc == LQ_E_NOT_FOUND) { /* the index promises it: a defect of the folder */
                rc = LQ_E_FORMAT;
                if (err) {
                    err->code = rc;
                }
            }
        }
        LQ_TRY(rc);
    }
    return LQ_OK;
}

// ---- the merged tensor set ---------------------------------------------------------------

static int cmp_entry(const void *a, const void *b)
{
    const struct hf_entry *x = a, *y = b;
    int c = strcmp(x->info->name, y->info->name);
    return c ? c : (x->shard > y->shard) - (x->shard < y->shard);
}

/* All shards' tensors sorted by name; a name held by two shards is an error. */
static lq_status merge_tensors(lq_hf *hf, struct lq_error *err)
{
    int64_t n = 0;
    for (int64_t s = 0; s < hf->n_shards; s++) {
        n += lq_st_n_tensors(hf->shards[s].st);
    }
    hf->entries = lqi_calloc(n ? (size_t)n : 1, sizeof *hf->entries);
    LQ_FAIL_IF(!hf->entries, err, LQ_E_NOMEM, "%s: out of memory", hf->dir);
    for (int64_t s = 0; s < hf->n_shards; s++) {
        for (int64_t i = 0; i < lq_st_n_tensors(hf->shards[s].st); i++) {
            hf->entries[hf->n_entries].info = lq_st_tensor(hf->shards[s].st, i);
            hf->entries[hf->n_entries++].shard = s;
        }
    }
    qsort(hf->entries, (size_t)n, sizeof *hf->entries, cmp_entry);
    for (int64_t i = 1; i < n; i++) {
        const struct hf_entry *a = &hf->entries[i - 1], *b = &hf->entries[i];
        LQ_FAIL_IF(strcmp(a->info->name, b->info->name) == 0, err, LQ_E_FORMAT,
                   "%s: tensor '%s' is in two shards: '%s' and '%s'", hf->dir, a->info->name,
                   hf->shards[a->shard].name, hf->shards[b->shard].name);
    }
    return LQ_OK;
}

/* Every tensor of a shard is where the index says, and every tensor of the index is in its
 * shard. */
static lq_status check_against_index(const lq_hf *hf, const json_t *map, struct lq_error *err)
{
    for (int64_t i = 0; i < hf->n_entries; i++) {
        const struct hf_entry *e = &hf->entries[i];
        const char *shard = hf->shards[e->shard].name;
        const json_t *listed = json_object_get(map, e->info->name);
        LQ_FAIL_IF(!listed, err, LQ_E_FORMAT,
                   "%s: shard '%s' holds tensor '%s', which %s does not list", hf->dir, shard,
                   e->info->name, HF_INDEX);
        LQ_FAIL_IF(strcmp(json_string_value(listed), shard) != 0, err, LQ_E_FORMAT,
                   "%s: tensor '%s' is in shard '%s' but %s places it in '%s'", hf->dir,
                   e->info->name, shard, HF_INDEX, json_string_value(listed));
    }
    const char *key;
    const json_t *shard;
    json_object_foreach((json_t *)map, key, shard)
    {
        LQ_FAIL_IF(lq_hf_find_tensor(hf, key) < 0, err, LQ_E_FORMAT,
                   "%s: %s lists tensor '%s' in shard '%s', which does not hold it", hf->dir,
                   HF_INDEX, key, json_string_value(shard));
    }
    return LQ_OK;
}

// ---- opening -----------------------------------------------------------------------------

static lq_status open_indexed(lq_hf *hf, const char *index_path, struct lq_error *err)
{
    json_t *index = NULL;
    const char **names = NULL;
    size_t n = 0;
    lq_status rc = lqi_hf_load_json(index_path, &index, err);
    if (rc != LQ_OK) {
        goto out_free;
    }
    const json_t *map = json_object_get(index, "weight_map");
    if (!json_is_object(map)) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s: no \"weight_map\" object", index_path);
        goto out_free;
    }
    rc = list_shards(hf, map, &names, &n, err);
    if (rc == LQ_OK) {
        rc = open_shards(hf, names, n, true, err);
    }
    if (rc == LQ_OK) {
        rc = merge_tensors(hf, err);
    }
    if (rc == LQ_OK) {
        rc = check_against_index(hf, map, err);
    }
out_free:
    lqi_free(names);
    json_decref(index);
    return rc;
}

static lq_status open_weights(lq_hf *hf, struct lq_error *err)
{
    char *single = NULL, *index = NULL;
    bool has_single = false, has_index = false;
    lq_status rc = lqi_hf_join(hf->dir, HF_SINGLE, &single, &has_single, err);
    rc = rc == LQ_OK ? lqi_hf_join(hf->dir, HF_INDEX, &index, &has_index, err) : rc;
    if (rc != LQ_OK) {
        /* refused or out of memory: err says which */
    } else if (has_single) {
        const char *name = HF_SINGLE;
        rc = open_shards(hf, &name, 1, false, err);
        rc = rc == LQ_OK ? merge_tensors(hf, err) : rc;
    } else if (has_index) {
        rc = open_indexed(hf, index, err);
    } else {
        rc = lqi_set_error(err, LQ_E_NOT_FOUND, "%s: neither %s nor %s found", hf->dir, HF_SINGLE,
                           HF_INDEX);
    }
    lqi_free(single);
    lqi_free(index);
    return rc;
}

static lq_status open_folder(lq_hf *hf, bool weights, struct lq_error *err)
{
    struct stat sb;
    LQ_FAIL_IF(stat(hf->dir, &sb) != 0, err, errno == ENOENT ? LQ_E_NOT_FOUND : LQ_E_IO,
               "%s: cannot open: %s", hf->dir, strerror(errno));
    LQ_FAIL_IF(!S_ISDIR(sb.st_mode), err, LQ_E_INVALID_ARG, "%s: not a folder", hf->dir);
    char *config;
    LQ_TRY(lqi_hf_join(hf->dir, "config.json", &config, NULL, err));
    lq_status rc = lqi_hf_load_json(config, &hf->config, err);
    lqi_free(config);
    LQ_TRY(rc);
    return weights ? open_weights(hf, err) : LQ_OK;
}

static lq_status open_hf(const char *dir, bool weights, lq_hf **out, struct lq_error *err)
{
    LQ_FAIL_IF(!dir || !out, err, LQ_E_INVALID_ARG, "lq_hf_open: bad arguments");
    *out = NULL;
    lq_hf *hf = lqi_calloc(1, sizeof *hf);
    LQ_FAIL_IF(!hf, err, LQ_E_NOMEM, "%s: out of memory", dir);
    hf->dir = lqi_strdup(dir);
    lq_status rc = hf->dir ? open_folder(hf, weights, err)
                           : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", dir);
    if (rc != LQ_OK) {
        lq_hf_free(hf);
        return rc;
    }
    *out = hf;
    return LQ_OK;
}

lq_status lq_hf_open(const char *dir, lq_hf **out, struct lq_error *err)
{
    return open_hf(dir, true, out, err);
}

lq_status lq_hf_open_config(const char *dir, lq_hf **out, struct lq_error *err)
{
    return open_hf(dir, false, out, err);
}

lq_status lq_hf_open_config_memory(const char *json, size_t len, const char *name, lq_hf **out,
                                   struct lq_error *err)
{
    LQ_FAIL_IF(!out || (!json && len), err, LQ_E_INVALID_ARG, "lq_hf: bad arguments");
    *out = NULL;
    name = name ? name : "config.json";
    lq_hf *hf = lqi_calloc(1, sizeof *hf);
    LQ_FAIL_IF(!hf, err, LQ_E_NOMEM, "%s: out of memory", name);
    hf->dir = lqi_strdup(name);
    lq_status rc = hf->dir ? lqi_hf_parse_json(json ? json : "", len, name, &hf->config, err)
                           : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", name);
    if (rc != LQ_OK) {
        lq_hf_free(hf);
        return rc;
    }
    *out = hf;
    return LQ_OK;
}

void lq_hf_free(lq_hf *hf)
{
    if (!hf) {
        return;
    }
    for (int64_t s = 0; s < hf->n_shards; s++) {
        lq_st_free(hf->shards[s].st);
        lqi_free(hf->shards[s].name);
        lqi_free(hf->shards[s].path);
    }
    lqi_free(hf->shards);
    lqi_free(hf->entries);
    lqi_hf_free_json_files(hf);
    json_decref(hf->config);
    lqi_free(hf->dir);
    lqi_free(hf);
}

// ---- accessors ---------------------------------------------------------------------------

const char *lq_hf_dir(const lq_hf *hf)
{
    return hf ? hf->dir : NULL;
}

int64_t lq_hf_n_shards(const lq_hf *hf)
{
    return hf ? hf->n_shards : 0;
}

const char *lq_hf_shard_path(const lq_hf *hf, int64_t shard)
{
    return hf && shard >= 0 && shard < hf->n_shards ? hf->shards[shard].path : NULL;
}

const lq_st *lq_hf_shard(const lq_hf *hf, int64_t shard)
{
    return hf && shard >= 0 && shard < hf->n_shards ? hf->shards[shard].st : NULL;
}

int64_t lq_hf_n_tensors(const lq_hf *hf)
{
    return hf ? hf->n_entries : 0;
}

const struct lq_st_tensor_info *lq_hf_tensor(const lq_hf *hf, int64_t id)
{
    return hf && id >= 0 && id < hf->n_entries ? hf->entries[id].info : NULL;
}

int64_t lq_hf_tensor_shard(const lq_hf *hf, int64_t id)
{
    return hf && id >= 0 && id < hf->n_entries ? hf->entries[id].shard : -1;
}

const char *lq_hf_tensor_file(const lq_hf *hf, int64_t id)
{
    return lq_hf_shard_path(hf, lq_hf_tensor_shard(hf, id));
}

int64_t lq_hf_find_tensor(const lq_hf *hf, const char *name)
{
    if (!hf || !name) {
        return -1;
    }
    int64_t lo = 0, hi = hf->n_entries;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(hf->entries[mid].info->name, name);
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

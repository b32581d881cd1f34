/* hf_impl.h - the Hugging Face folder handle, shared by hf_model.c and hf_json.c. */
#ifndef LQ_HF_IMPL_H
#define LQ_HF_IMPL_H

#include "lq/hf.h"

#include <jansson.h>

/* A JSON file of the folder, loaded on first use. */
struct hf_json_file {
    char *name;
    json_t *root; /* an object */
    struct hf_json_file *next;
};

struct hf_shard {
    char *name; /* file name relative to the folder */
    char *path;
    lq_st *st;
};

struct hf_entry {
    const struct lq_st_tensor_info *info; /* owned by its shard's lq_st */
    int64_t shard;
};

struct lq_hf {
    char *dir;
    json_t *config; /* config.json, an object */
    struct hf_json_file *files;
    struct hf_shard *shards;
    int64_t n_shards;
    struct hf_entry *entries; /* sorted by name */
    int64_t n_entries;
};

/* dir + "/" + name into *out, malloc'd (lqi_free), through lq_input_member: a link out of the
 * folder or a non-regular entry is refused; *exists (may be NULL) says whether it is there. */
lq_status lqi_hf_join(const char *dir, const char *name, char **out, bool *exists,
                      struct lq_error *err);

/* Loads a JSON file that must hold an object (duplicate keys refused). LQ_E_NOT_FOUND when
 * the file does not exist. */
lq_status lqi_hf_load_json(const char *path, json_t **out, struct lq_error *err);

/* Parses a JSON object held in memory (messages name `name`). */
lq_status lqi_hf_parse_json(const char *text, size_t len, const char *name, json_t **out,
                            struct lq_error *err);

/* Frees the cached JSON files (not the config). */
void lqi_hf_free_json_files(lq_hf *hf);

#endif

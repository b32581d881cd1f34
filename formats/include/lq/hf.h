/*
 * lq/hf.h - reading a Hugging Face model folder (config.json + safetensors weights).
 *
 * Folder layout:
 *   config.json                      the model's hyperparameters (required)
 *   model.safetensors                all weights in one file, or
 *   model.safetensors.index.json     {"metadata": {...}, "weight_map": {tensor: shard file}}
 *   model-00001-of-0000N.safetensors the shards the index names
 *   tokenizer_config.json, ...       other JSON files, readable with lq_hf_json_*()
 *
 * When both model.safetensors and an index exist, model.safetensors is used (as
 * transformers does). With an index, every tensor must be in exactly one shard and where
 * the index says: a shard file that is missing, a tensor of the index that its shard does
 * not hold, a tensor held by two shards and a tensor of a shard that the index does not
 * list are all errors naming the shard and the tensor (LQ_E_FORMAT, a missing shard too:
 * the folder contradicts its index). Shard names must be relative and
 * must not contain a ".." component.
 *
 * The tensors of all shards form one set, with ids 0 .. n-1 sorted by name (bytewise
 * strcmp order), whatever the sharding: a sharded and a single-file copy of a model list
 * the same tensors in the same order.
 *
 * JSON values are found by key; a dotted key walks into objects and arrays
 * ("rope_scaling.factor", "eos_token_id.0"). A key present literally (with its dots) in
 * the top-level object wins. A JSON null counts as absent.
 *
 * Everything returned (strings, tensor infos, data) is borrowed and valid until
 * lq_hf_free(). The handle is not thread-safe: lq_hf_json_*() loads and caches files.
 */
#ifndef LQ_HF_H
#define LQ_HF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lq_hf lq_hf;

/* Opens a model folder: config.json and every safetensors file, all validated (see
 * lq/safetensors.h). On failure *out is NULL and err names the file and the problem
 * (LQ_E_NOT_FOUND when config.json or the weights are missing). */
LQ_API lq_status lq_hf_open(const char *dir, lq_hf **out, struct lq_error *err);

/* Opens config.json (and, on demand, the other JSON files) of a folder whose weights are
 * read by another reader (pytorch_model.bin): no safetensors file is looked for. */
LQ_API lq_status lq_hf_open_config(const char *dir, lq_hf **out, struct lq_error *err);

/* A config.json held in memory (len bytes, not NUL-terminated), for the config getters
 * only: no folder, no weights, no other JSON file. Messages name `name`. */
LQ_API lq_status lq_hf_open_config_memory(const char *json, size_t len, const char *name,
                                          lq_hf **out, struct lq_error *err);

/* Unmaps and frees everything; accepts NULL. */
LQ_API void lq_hf_free(lq_hf *hf);

/* The folder as given to lq_hf_open. */
LQ_API const char *lq_hf_dir(const lq_hf *hf);

/* Safetensors files: ids 0 .. n-1 (model.safetensors alone, or the index's shards sorted
 * by file name). NULL for an id out of range. */
LQ_API int64_t lq_hf_n_shards(const lq_hf *hf);
LQ_API const char *lq_hf_shard_path(const lq_hf *hf, int64_t shard);
LQ_API const lq_st *lq_hf_shard(const lq_hf *hf, int64_t shard);

/* Tensors of all shards: ids 0 .. n-1 sorted by name. NULL for an id out of range. */
LQ_API int64_t lq_hf_n_tensors(const lq_hf *hf);
LQ_API const struct lq_st_tensor_info *lq_hf_tensor(const lq_hf *hf, int64_t id);
LQ_API const char *lq_hf_tensor_file(const lq_hf *hf, int64_t id);   /* its shard's path */
LQ_API int64_t lq_hf_tensor_shard(const lq_hf *hf, int64_t id);      /* its shard's id */
LQ_API int64_t lq_hf_find_tensor(const lq_hf *hf, const char *name); /* -1 when absent */

/* config.json values by (dotted) key. Return LQ_E_NOT_FOUND when absent or null and
 * LQ_E_FORMAT (naming the key) when the value has another type: _i64 takes JSON integers
 * only, _f64 integers and reals, _str strings, _bool true/false. _len gives the length
 * of an array. */
LQ_API bool lq_hf_config_has(const lq_hf *hf, const char *key);
LQ_API lq_status lq_hf_config_i64(const lq_hf *hf, const char *key, int64_t *out,
                                  struct lq_error *err);
LQ_API lq_status lq_hf_config_f64(const lq_hf *hf, const char *key, double *out,
                                  struct lq_error *err);
LQ_API lq_status lq_hf_config_str(const lq_hf *hf, const char *key, const char **out,
                                  struct lq_error *err);
LQ_API lq_status lq_hf_config_bool(const lq_hf *hf, const char *key, bool *out,
                                   struct lq_error *err);
LQ_API lq_status lq_hf_config_len(const lq_hf *hf, const char *key, int64_t *out,
                                  struct lq_error *err);

/* The same over another JSON file of the folder ("tokenizer_config.json",
 * "generation_config.json"), loaded on first use and kept. `file` is a plain file name
 * (no '/'). LQ_E_NOT_FOUND when the file or the key is absent. lq_hf_has_file is also true
 * for an entry that opening will refuse (a link out of the folder, a FIFO: lq/file_io.h), so
 * that the refusal is reported instead of the file being skipped. */
LQ_API bool lq_hf_has_file(const lq_hf *hf, const char *file);
LQ_API lq_status lq_hf_json_i64(lq_hf *hf, const char *file, const char *key, int64_t *out,
                                struct lq_error *err);
LQ_API lq_status lq_hf_json_f64(lq_hf *hf, const char *file, const char *key, double *out,
                                struct lq_error *err);
LQ_API lq_status lq_hf_json_str(lq_hf *hf, const char *file, const char *key, const char **out,
                                struct lq_error *err);
LQ_API lq_status lq_hf_json_bool(lq_hf *hf, const char *file, const char *key, bool *out,
                                 struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_HF_H */

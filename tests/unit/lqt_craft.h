/* lqt_craft.h - crafting model inputs for tests: safetensors files from tensors given in
 * memory, and copies of the shared tiny Llama folder with config.json keys changed. */
#ifndef LQ_TEST_CRAFT_H
#define LQ_TEST_CRAFT_H

#include <stddef.h>
#include <stdint.h>

struct lqt_st_tensor {
    const char *name;
    const char *dtype; /* "F32", "F16", "BF16", ... as safetensors names them */
    int n_dims;
    int64_t shape[4];
    const void *data; /* the tensor's bytes in dtype; NULL for zeros */
};

/* Writes a safetensors file (8-byte header length, JSON header, data) holding the tensors in
 * order; fails the test on error. */
void lqt_craft_safetensors(const char *path, const struct lqt_st_tensor *t, size_t n);

/* Copies every file of models/tiny-llama-6L into dir (which must exist) and, when config_patch
 * is a JSON object text, sets its keys in config.json (a JSON null deletes the key). */
void lqt_craft_tiny_llama(const char *dir, const char *config_patch);

/* Replaces path (removing what is there) by a FIFO, or by a symlink to target; fail the test
 * on error. For the class 2 and 5 cases of the hostile corpus. */
void lqt_craft_fifo(const char *path);
void lqt_craft_symlink(const char *path, const char *target);

#endif

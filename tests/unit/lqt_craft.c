/* lqt_craft.c - see lqt_craft.h. */
#include "lqt_craft.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lqt_util.h"

static size_t dtype_size(const char *dtype)
{
    if (strcmp(dtype, "F64") == 0 || strcmp(dtype, "I64") == 0) {
        return 8;
    }
    if (strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0) {
        return 4;
    }
    if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0 || strcmp(dtype, "I16") == 0) {
        return 2;
    }
    return 1;
}

static size_t tensor_bytes(const struct lqt_st_tensor *t)
{
    size_t n = dtype_size(t->dtype);
    for (int d = 0; d < t->n_dims; d++) {
        n *= (size_t)t->shape[d];
    }
    return n;
}

void lqt_craft_safetensors(const char *path, const struct lqt_st_tensor *t, size_t n)
{
    json_t *hdr = json_object();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < t[i].n_dims; d++) {
            json_array_append_new(shape, json_integer(t[i].shape[d]));
        }
        size_t nb = tensor_bytes(&t[i]);
        json_object_set_new(hdr, t[i].name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", t[i].dtype, "shape", shape,
                                      "data_offsets", (json_int_t)off, (json_int_t)(off + nb)));
        off += nb;
    }
    char *text = json_dumps(hdr, JSON_COMPACT);
    assert_non_null(text);
    size_t hlen = (strlen(text) + 7) / 8 * 8; /* padded with spaces, as writers do */
    unsigned char *file = calloc(1, 8 + hlen + off);
    assert_non_null(file);
    for (int b = 0; b < 8; b++) {
        file[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
    }
    memset(file + 8, ' ', hlen);
    memcpy(file + 8, text, strlen(text));
    off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nb = tensor_bytes(&t[i]);
        if (t[i].data) {
            memcpy(file + 8 + hlen + off, t[i].data, nb);
        }
        off += nb;
    }
    lqt_write_file(path, file, 8 + hlen + off);
    free(file);
    free(text);
    json_decref(hdr);
}

static void patch_config(const char *path, const char *config_patch)
{
    json_error_t je;
    json_t *cfg = json_load_file(path, 0, &je);
    json_t *patch = json_loads(config_patch, 0, &je);
    assert_non_null(cfg);
    if (!patch) {
        fail_msg("config patch is not JSON: %s", je.text);
    }
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(cfg, key);
        } else {
            json_object_set(cfg, key, v);
        }
    }
    assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(2)), 0);
    json_decref(patch);
    json_decref(cfg);
}

void lqt_craft_tiny_llama(const char *dir, const char *config_patch)
{
    const char *src = lqt_data_path("models/tiny-llama-6L");
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        size_t n;
        void *data = lqt_read_file(from, &n);
        lqt_write_file(to, data, n);
        free(data);
    }
    closedir(d);
    if (config_patch) {
        char cfg[4096];
        snprintf(cfg, sizeof cfg, "%s/config.json", dir);
        patch_config(cfg, config_patch);
    }
}

void lqt_craft_fifo(const char *path)
{
    unlink(path);
    if (mkfifo(path, 0644) != 0) {
        fail_msg("mkfifo %s: %s", path, strerror(errno));
    }
}

void lqt_craft_symlink(const char *path, const char *target)
{
    unlink(path);
    if (symlink(target, path) != 0) {
        fail_msg("symlink %s -> %s: %s", path, target, strerror(errno));
    }
}

/* json_out.c - the --json result document of the quant commands (schema in json_out.h). */
#include "json_out.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "lq/core.h"
#include "lq/gguf.h"

json_t *json_out_new(const char *command)
{
    char schema[64];
    snprintf(schema, sizeof schema, "libquant.%s/1", command);
    /* "seconds" is set by json_out_emit; created here to keep it beside the common keys */
    return json_pack("{s:s, s:s, s:s, s:{}, s:[], s:f}", "schema", schema, "command", command,
                     "libquant", lq_version_string(), "inputs", "outputs", "seconds", 0.0);
}

void json_out_input(json_t *doc, const char *key, const char *path)
{
    json_object_set_new(json_object_get(doc, "inputs"), key,
                        path ? json_string(path) : json_null());
}

uint64_t json_out_path_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        return (uint64_t)st.st_size;
    }
    uint64_t total = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_size;
        }
    }
    if (d) {
        closedir(d);
    }
    return total;
}

json_t *json_out_output(json_t *doc, const char *path, const char *kind)
{
    json_t *e = json_pack("{s:s, s:I, s:s}", "path", path, "bytes",
                          (json_int_t)json_out_path_bytes(path), "kind", kind);
    json_array_append_new(json_object_get(doc, "outputs"), e);
    return e;
}

void json_out_gguf_sizes(json_t *entry, const char *path)
{
    lq_gguf *g = NULL;
    if (lq_gguf_open(path, &g, NULL) != LQ_OK) {
        return;
    }
    int64_t n_params = 0;
    uint64_t bytes = 0;
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        int64_t n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            n *= t->ne[d];
        }
        n_params += n;
        bytes += t->nbytes;
    }
    lq_gguf_free(g);
    json_out_int(entry, "n_params", n_params);
    json_out_int(entry, "data_bytes", (int64_t)bytes);
    json_out_real(entry, "bpw", n_params ? (double)bytes * 8.0 / (double)n_params : 0.0);
}

json_t *json_out_number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

void json_out_real(json_t *doc, const char *key, double v)
{
    json_object_set_new(doc, key, json_out_number(v));
}

void json_out_int(json_t *doc, const char *key, int64_t v)
{
    json_object_set_new(doc, key, json_integer((json_int_t)v));
}

void json_out_str(json_t *doc, const char *key, const char *s)
{
    json_object_set_new(doc, key, s ? json_string(s) : json_null());
}

int json_out_emit(json_t *doc, double seconds, int rc)
{
    json_out_real(doc, "seconds", seconds);
    int ok = json_dumpf(doc, stdout,
                        JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) == 0;
    ok = ok && putchar('\n') != EOF && fflush(stdout) == 0;
    json_decref(doc);
    if (!ok) {
        fprintf(stderr, "quant: cannot write the JSON result to stdout\n");
        return LQ_EXIT_FAIL;
    }
    return rc;
}

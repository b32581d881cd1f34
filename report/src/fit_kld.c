/* fit_kld.c - the mean KLD of every row of a `quant report` JSON (report_json.c writes it),
 * for `quant fit --report`. */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lq/fit.h"
#include "lqi.h"

static lq_status add_row(json_t *row, bool reference, const char *path, struct lq_fit_kld *k,
                         struct lq_error *err)
{
    const json_t *name = json_object_get(row, "name");
    const json_t *file = json_object_get(row, "path");
    const json_t *kld = json_object_get(json_object_get(json_object_get(row, "eval"), "kld"),
                                        "mean_kld");
    LQ_FAIL_IF(!json_is_string(name), err, LQ_E_FORMAT, "%s: a row without a name", path);
    LQ_FAIL_IF(!reference && !json_is_number(kld), err, LQ_E_FORMAT,
               "%s: row %s has no eval.kld.mean_kld", path, json_string_value(name));
    k->name = lqi_strdup(json_string_value(name));
    k->path = json_is_string(file) ? lqi_strdup(json_string_value(file)) : NULL;
    k->kld = reference ? 0.0 : json_number_value(kld);
    LQ_FAIL_IF(!k->name || (json_is_string(file) && !k->path), err, LQ_E_NOMEM,
               "fit: out of memory");
    LQ_FAIL_IF(!(k->kld >= 0.0), err, LQ_E_FORMAT, "%s: row %s: mean KLD %g", path, k->name,
               k->kld);
    return LQ_OK;
}

lq_status lq_fit_read_report(const char *path, struct lq_fit_kld **out, size_t *n,
                             struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out || !n, err, LQ_E_INVALID_ARG, "fit: NULL argument");
    *out = NULL;
    *n = 0;
    int fd = -1;
    LQ_TRY(lq_input_open(path, false, &fd, err)); /* a regular file, never a FIFO */
    json_error_t je;
    json_t *j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
    close(fd);
    LQ_FAIL_IF(!j, err, LQ_E_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    const json_t *format = json_object_get(j, "format");
    json_t *types = json_object_get(j, "types"), *ref = json_object_get(j, "reference");
    lq_status s = LQ_OK;
    if (!json_is_string(format) || strcmp(json_string_value(format), "libquant-report") != 0 ||
        !json_is_array(types) || !json_is_object(ref)) {
        s = lqi_set_error(err, LQ_E_FORMAT,
                          "%s: not a `quant report` JSON (format, reference, types)", path);
    }
    const size_t rows = s == LQ_OK ? json_array_size(types) + 1 : 0;
    struct lq_fit_kld *k = rows ? lqi_calloc(rows, sizeof *k) : NULL;
    if (s == LQ_OK && !k) {
        s = lqi_set_error(err, LQ_E_NOMEM, "fit: out of memory");
    }
    for (size_t i = 0; s == LQ_OK && i < rows; i++) {
        json_t *row = i == 0 ? ref : json_array_get(types, i - 1);
        s = json_is_object(row) ? add_row(row, i == 0, path, &k[i], err)
                                : lqi_set_error(err, LQ_E_FORMAT, "%s: types[%zu] is no object",
                                                path, i - 1);
    }
    json_decref(j);
    if (s != LQ_OK) {
        lq_fit_kld_free(k, rows);
        return s;
    }
    *out = k;
    *n = rows;
    return LQ_OK;
}

void lq_fit_kld_free(struct lq_fit_kld *k, size_t n)
{
    for (size_t i = 0; k && i < n; i++) {
        lqi_free(k[i].name);
        lqi_free(k[i].path);
    }
    lqi_free(k);
}

/* tok_file.c - tokenizing a whole text file (evaluation and calibration texts). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lq/tokenizer.h"
#include "lqi.h"

/* Reads the whole file into a new buffer of *len bytes (plus a NUL). */
static lq_status read_all(const char *path, char **out, size_t *len, struct lq_error *err)
{
    int fd;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return lqi_set_error(err, LQ_E_IO, "%s: %s", path, strerror(errno));
    }
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *buf = size >= 0 && fseek(f, 0, SEEK_SET) == 0 ? lqi_malloc((size_t)size + 1) : NULL;
    bool ok = buf && fread(buf, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!ok) {
        lqi_free(buf);
        return lqi_set_error(err, size < 0 ? LQ_E_IO : LQ_E_NOMEM, "%s: cannot read the text",
                             path);
    }
    buf[size] = '\0';
    *out = buf;
    *len = (size_t)size;
    return LQ_OK;
}

lq_status lq_tokenizer_encode_file(const lq_tokenizer *tok, const char *path, unsigned flags,
                                   int32_t **ids, size_t *n_ids, struct lq_error *err)
{
    LQ_FAIL_IF(!tok || !path || !ids || !n_ids, err, LQ_E_INVALID_ARG, "tokenize: NULL argument");
    *ids = NULL;
    *n_ids = 0;
    char *text = NULL;
    size_t len = 0;
    LQ_TRY(read_all(path, &text, &len, err));
    lq_status s = lq_tokenizer_encode(tok, text, len, flags, ids, n_ids, err);
    lqi_free(text);
    return s;
}

/* opt_json_io.c - the optimizer's JSON files (plans, the work folder's cost table): read as
 * input like any other file, written atomically. */
#include <string.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lqi.h"
#include "opt_impl.h"

lq_status lqi_opt_json_load(const char *path, json_t **root, struct lq_error *err)
{
    int fd = -1;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    json_error_t je;
    *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
    close(fd);
    LQ_FAIL_IF(!*root, err, LQ_E_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    return LQ_OK;
}

lq_status lqi_opt_json_save(const char *path, const json_t *root, size_t flags,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!root, err, LQ_E_NOMEM, "%s: out of memory", path);
    lq_out *out = NULL;
    LQ_TRY(lq_out_open(path, &out, err));
    if (json_dumpfd(root, lq_out_fd(out), flags) != 0 || write(lq_out_fd(out), "\n", 1) != 1) {
        lq_out_abort(out);
        return lqi_set_error(err, LQ_E_IO, "%s: cannot write", path);
    }
    return lq_out_commit(out, err);
}

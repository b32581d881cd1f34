/* file_io.h - how every command opens its inputs and writes its outputs (issue 11).
 *
 * Inputs: lq_input_open opens without blocking (a FIFO given as a model must not hang the
 * program before it can be refused) and refuses anything but a regular file; lq_input_member
 * names a file inside a model folder and refuses a symlink that leads outside the folder.
 * Both name the path in their messages; refusals are LQ_E_UNSUPPORTED (exit 3 in `quant`).
 *
 * Outputs: a file is written under a temporary name beside its target, ".NAME.tmp.XXXXXX",
 * created with O_EXCL (a planted symlink is never followed), fsync'd and renamed onto the
 * target when complete; a folder is built the same way as ".NAME.tmp.XXXXXX/" and renamed into
 * place as a whole. Live temporaries are kept in a fixed-size registry that
 * lq_tmp_cleanup_all() removes from a signal handler: the library installs no handler itself,
 * the program does (quant's main does for SIGINT and SIGTERM). */
#ifndef LQ_FILE_IO_H
#define LQ_FILE_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- inputs ----

/* Opens path read-only (O_NONBLOCK while checking, then blocking again) and sets *fd to it.
 * Refuses anything but a regular file, or, when dir_ok, a directory: LQ_E_UNSUPPORTED naming
 * path. A missing file is LQ_E_NOT_FOUND. The caller closes *fd. */
LQ_API lq_status lq_input_open(const char *path, bool dir_ok, int *fd, struct lq_error *err);

/* Writes folder/name into buf (cap bytes). Refuses (LQ_E_UNSUPPORTED naming the path) a name
 * that is a symlink resolving outside folder, or an existing entry that is not a regular file.
 * A missing entry is not an error here: *exists tells (may be NULL), opening reports it. */
LQ_API lq_status lq_input_member(const char *folder, const char *name, char *buf, size_t cap,
                                 bool *exists, struct lq_error *err);

/* True when a and b name the same existing file (same st_dev and st_ino) or the same path. */
LQ_API bool lq_same_file(const char *a, const char *b);

// ---- outputs ----

/* An output file being written under its temporary name. */
typedef struct lq_out lq_out;

/* Creates the temporary file for path (mode 0666 & ~umask) and registers it for signal
 * cleanup. Write to lq_out_fd; finish with exactly one of lq_out_commit or lq_out_abort. */
LQ_API lq_status lq_out_open(const char *path, lq_out **out, struct lq_error *err);
LQ_API int lq_out_fd(const lq_out *o);
LQ_API const char *lq_out_tmp_path(const lq_out *o); /* borrowed, valid until commit/abort */

/* fsync, close and rename onto the target; on failure the temporary is removed and the
 * target left as it was. Frees o in every case. */
LQ_API lq_status lq_out_commit(lq_out *o, struct lq_error *err);

/* Closes and removes the temporary file; frees o. Accepts NULL. */
LQ_API void lq_out_abort(lq_out *o);

/* An output folder built under a temporary name beside it. */
typedef struct lq_out_dir lq_out_dir;

/* Refuses (LQ_E_INVALID_ARG naming path) an existing path unless it is an empty folder or
 * force is set; without creating anything. */
LQ_API lq_status lq_out_dir_check(const char *path, bool force, struct lq_error *err);

/* lq_out_dir_check, then creates ".NAME.tmp.XXXXXX" beside path (registered for cleanup);
 * lq_out_dir_path is where to write the files. */
LQ_API lq_status lq_out_dir_open(const char *path, bool force, lq_out_dir **out,
                                 struct lq_error *err);
LQ_API const char *lq_out_dir_path(const lq_out_dir *d);

/* Renames the folder into place, replacing what was at path as a whole (an atomic exchange,
 * then the old tree is removed without following links). Frees d in every case; on failure
 * the temporary folder is removed. */
LQ_API lq_status lq_out_dir_commit(lq_out_dir *d, struct lq_error *err);

/* Removes the temporary folder and its files; frees d. Accepts NULL. */
LQ_API void lq_out_dir_abort(lq_out_dir *d);

// ---- signal cleanup ----

/* Removes every registered temporary file and folder. Async-signal-safe: for a handler of
 * SIGINT/SIGTERM, which then exits with 128 + the signal. */
LQ_API void lq_tmp_cleanup_all(void);

/* Registers a folder of the caller's making (removed with its files by lq_tmp_cleanup_all)
 * and unregisters it; false when the registry is full (cleanup then cannot cover it). */
LQ_API bool lq_tmp_register_dir(const char *path);
LQ_API void lq_tmp_unregister(const char *path);

#ifdef __cplusplus
}
#endif

#endif

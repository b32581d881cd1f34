/* fuzz_files.h - for readers that take paths, not memory (Hugging Face folders, llama2.c
 * checkpoints): a scratch folder made once per process, and input bytes written into it. */
#ifndef LQ_FUZZ_FILES_H
#define LQ_FUZZ_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The scratch folder (removed at exit). */
static const char *fuzz_dir(void);

static char fuzz_dir_path[256];

static void fuzz_dir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", fuzz_dir_path);
    }
}

static const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/lq-fuzz-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir_path)) {
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Writes n bytes to fuzz_dir()/name, or removes that file when data is NULL. */
static void fuzz_put(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    if (!data) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        abort();
    }
}

#endif

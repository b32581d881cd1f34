/* tasks_read.c - picking the reader for a task file or folder. */
#include "tasks_impl.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lqi.h"

struct path_list {
    char **p;
    int n, cap;
};

static bool ends_with_csv(const char *s)
{
    const size_t n = strlen(s);
    return n >= 4 && strcmp(s + n - 4, ".csv") == 0;
}

static lq_status list_add(struct path_list *l, const char *dir, const char *name,
                          struct lq_error *err)
{
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 32;
        char **p = lqi_realloc(l->p, (size_t)cap * sizeof *p);
        LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "tasks: out of memory");
        l->p = p;
        l->cap = cap;
    }
    const size_t n = strlen(dir) + strlen(name) + 2;
    l->p[l->n] = lqi_malloc(n);
    LQ_FAIL_IF(!l->p[l->n], err, LQ_E_NOMEM, "tasks: out of memory");
    snprintf(l->p[l->n], n, "%s/%s", dir, name);
    l->n++;
    return LQ_OK;
}

/* Every *.csv file below dir (depth-limited: a link loop must not recurse forever). */
static lq_status collect(struct path_list *l, const char *dir, int depth, struct lq_error *err)
{
    DIR *d = opendir(dir);
    LQ_FAIL_IF(!d, err, LQ_E_IO, "%s: cannot list the folder", dir);
    lq_status rc = LQ_OK;
    for (struct dirent *e; rc == LQ_OK && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') {
            continue;
        }
        const int before = l->n;
        rc = list_add(l, dir, e->d_name, err);
        struct stat st;
        if (rc != LQ_OK || stat(l->p[before], &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth < 8) {
            rc = collect(l, l->p[before], depth + 1, err);
        }
        if (!S_ISREG(st.st_mode) || !ends_with_csv(e->d_name)) {
            lqi_free(l->p[before]);
            memmove(l->p + before, l->p + before + 1, (size_t)(l->n - before - 1) * sizeof *l->p);
            l->n--;
        }
    }
    closedir(d);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static lq_status read_csv_dir(const char *dir, lq_task_set **out, struct lq_error *err)
{
    struct path_list l = {0};
    lq_status rc = collect(&l, dir, 0, err);
    if (rc == LQ_OK && l.n == 0) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s: no .csv files in the folder", dir);
    }
    if (rc == LQ_OK) {
        qsort(l.p, (size_t)l.n, sizeof *l.p, cmp_path);
        rc = lq_tasks_read_mmlu_csv((const char *const *)l.p, l.n, out, err);
    }
    for (int i = 0; i < l.n; i++) {
        lqi_free(l.p[i]);
    }
    lqi_free(l.p);
    return rc;
}

lq_status lq_tasks_read(const char *path, enum lq_task_kind kind, lq_task_set **out,
                        struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "tasks: NULL argument");
    if (kind == LQ_TASK_HELLASWAG) {
        return lq_tasks_read_hellaswag(path, out, err);
    }
    LQ_FAIL_IF(kind != LQ_TASK_MULTIPLE_CHOICE, err, LQ_E_INVALID_ARG, "tasks: unknown kind %d",
               (int)kind);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return read_csv_dir(path, out, err);
    }
    if (ends_with_csv(path)) {
        return lq_tasks_read_mmlu_csv(&path, 1, out, err);
    }
    return lq_tasks_read_mc(path, out, err);
}

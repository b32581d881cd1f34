/* model_load.c - where the weight matrices are read from (enum lq_weights_memory): in place
 * from the source's memory map, or from one copy in anonymous memory made at open.
 *
 * Decoding streams every weight byte once per token, so it runs at the rate memory delivers
 * them. Page-cache pages arrive through 4 KiB mappings scattered in physical memory; a fresh
 * anonymous region is backed by 2 MiB pages where transparent huge pages are allowed (and by
 * runs of neighbouring 4 KiB pages otherwise). On a 2-core Xeon VM one thread decoding the
 * 22-layer Q8_0 bench model read its weights at 9 GB/s from the map and 13.6 GB/s from the
 * copy, the read-bandwidth floor's 14.7. */
#include "forward_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lqi.h"

/* The names, in enum order: the one table the API's lookups and the CLI's help read. */
static const char *const weights_memory_names[LQ_WEIGHTS_N] = {
    [LQ_WEIGHTS_AUTO] = "auto",
    [LQ_WEIGHTS_MAPPED] = "mapped",
    [LQ_WEIGHTS_LOADED] = "loaded",
};

const char *lq_weights_memory_name(enum lq_weights_memory w)
{
    return (unsigned)w < LQ_WEIGHTS_N ? weights_memory_names[w] : NULL;
}

bool lq_weights_memory_from_name(const char *name, enum lq_weights_memory *out)
{
    for (int i = 0; name && i < LQ_WEIGHTS_N; i++) {
        if (strcmp(name, weights_memory_names[i]) == 0) {
            *out = (enum lq_weights_memory)i;
            return true;
        }
    }
    return false;
}

static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static char all_names[64];

static void make_names(void)
{
    size_t off = 0;
    for (int i = 0; i < LQ_WEIGHTS_N; i++) {
        off += (size_t)snprintf(all_names + off, sizeof all_names - off, "%s%s", i ? ", " : "",
                                weights_memory_names[i]);
    }
}

const char *lq_weights_memory_names(void)
{
    pthread_once(&names_once, make_names); /* callers on several threads build it once */
    return all_names;
}

/* Every bound weight matrix of the model: the layers' and the output's; n_max entries at
 * most, returns how many. The token embeddings stay where they are (a few rows per pass). */
static int64_t model_weights(lq_model *m, struct lqi_weight **out, int64_t n_max)
{
    int64_t n = 0;
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        const struct lqi_weight *ws[LQI_LAYER_N_WEIGHTS];
        lqi_layer_weights(&m->layers[il], ws);
        for (int i = 0; i < LQI_LAYER_N_WEIGHTS; i++) {
            if (ws[i]->data && n < n_max) {
                out[n++] = (struct lqi_weight *)ws[i]; /* m's own, not const */
            }
        }
    }
    if (m->output.data && n < n_max) {
        out[n++] = &m->output;
    }
    return n;
}

/* MemAvailable in bytes; 0 when unknown. */
static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) {
        return 0;
    }
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib > UINT64_MAX / 1024 ? UINT64_MAX : (uint64_t)kib * 1024;
}

#define LOAD_ALIGN ((uint64_t)64) /* each weight starts on a cache line */
#define HUGE_PAGE ((size_t)2 << 20)

/* A weight's bytes rounded up to LOAD_ALIGN: its share of the region. */
static uint64_t padded(size_t nbytes)
{
    return ((uint64_t)nbytes + LOAD_ALIGN - 1) / LOAD_ALIGN * LOAD_ALIGN;
}

/* Copies n bytes with the model's threads, a huge page per piece: the copy faults the
 * destination's pages in and reads the source's through its map. */
static void copy_parallel(unsigned char *dst, const unsigned char *src, size_t n, int n_threads)
{
    const int64_t n_pieces = (int64_t)((n + HUGE_PAGE - 1) / HUGE_PAGE);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_pieces > 1)
    for (int64_t p = 0; p < n_pieces; p++) {
        const size_t off = (size_t)p * HUGE_PAGE;
        memcpy(dst + off, src + off, n - off < HUGE_PAGE ? n - off : HUGE_PAGE);
    }
}

/* Reserves the region (one huge page more than `total`, so that the weights can start on
 * one) and returns where they start; NULL when the memory is not there. */
static unsigned char *reserve(lq_model *m, uint64_t total)
{
    const size_t rounded = (size_t)((total + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
    const size_t len = rounded + HUGE_PAGE;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    m->loaded = p;
    m->loaded_len = len;
    unsigned char *base = (unsigned char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(base, rounded, MADV_HUGEPAGE); /* advisory: refused where THP is off */
#endif
    return base;
}

lq_status lqi_model_load_weights(lq_model *m, enum lq_weights_memory mode, struct lq_error *err)
{
    LQ_FAIL_IF((unsigned)mode >= LQ_WEIGHTS_N, err, LQ_E_INVALID_ARG,
               "%s: unknown weights memory %d", m->src_name, (int)mode);
    if (mode == LQ_WEIGHTS_MAPPED || (mode == LQ_WEIGHTS_AUTO && !m->src.release)) {
        return LQ_OK;
    }
    const int64_t cap = m->hp.n_layer * LQI_LAYER_N_WEIGHTS + 1;
    struct lqi_weight **ws = lqi_malloc((size_t)cap * sizeof *ws);
    LQ_FAIL_IF(!ws, err, LQ_E_NOMEM, "%s: out of memory", m->src_name);
    const int64_t n = model_weights(m, ws, cap);
    uint64_t total = 0;
    bool overflow = false;
    for (int64_t i = 0; i < n; i++) {
        overflow |= lqi_add_overflow_u64(total, padded(ws[i]->nbytes), &total);
    }
    lq_status rc = LQ_OK;
    if (overflow || total > SIZE_MAX - 4 * HUGE_PAGE) {
        rc = lqi_set_error(err, LQ_E_RANGE, "%s: weights too large to load", m->src_name);
        goto out;
    }
    if (mode == LQ_WEIGHTS_AUTO) {
        const uint64_t avail = mem_available();
        if (total == 0 || avail == 0 || total > avail / 2) {
            goto out; /* mapped: a copy could crowd out the page cache or the machine */
        }
    }
    unsigned char *base = reserve(m, total);
    if (!base) { /* auto: the map it is */
        rc = mode == LQ_WEIGHTS_AUTO
                 ? LQ_OK
                 : lqi_set_error(err, LQ_E_NOMEM, "%s: cannot reserve %llu bytes for the weights",
                                 m->src_name, (unsigned long long)total);
        goto out;
    }
    size_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        struct lqi_weight *w = ws[i];
        const unsigned char *from = w->data;
        copy_parallel(base + off, from, w->nbytes, m->n_threads);
        w->data = base + off;
        off += (size_t)padded(w->nbytes);
        if (m->src.release) { /* one weight's pages at a time: the peak holds one twice */
            m->src.release(m->src.user, from, w->nbytes);
        }
    }
out:
    lqi_free(ws);
    return rc;
}

void lqi_model_unload_weights(lq_model *m)
{
    if (m->loaded) {
        munmap(m->loaded, m->loaded_len);
        m->loaded = NULL;
        m->loaded_len = 0;
    }
}

/* lqt_zip.h - builds small stored (uncompressed) zip archives in memory, for the PyTorch
 * reader's tests and fuzz target. Header-only so the fuzz target can use it without the
 * cmocka helpers. Aborts on misuse (test code only). */
#ifndef LQ_TEST_ZIP_H
#define LQ_TEST_ZIP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LQT_ZIP_MAX_MEMBERS 16

struct lqt_zip {
    unsigned char *b;
    size_t n, cap;
    int zip64; /* finish writes zip64 records (as writers do past 4 GiB) */
    int nm;
    struct {
        char name[128];
        uint32_t crc, size, off;
    } m[LQT_ZIP_MAX_MEMBERS];
};

/* Table-driven: the fuzz target checksums every input. */
static inline uint32_t lqt_crc32(const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
            }
            table[i] = c;
        }
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c = (c >> 8) ^ table[(c ^ p[i]) & 0xff];
    }
    return ~c;
}

static inline void lqt_zip_put(struct lqt_zip *z, const void *p, size_t n)
{
    if (z->n + n > z->cap) {
        z->cap = (z->n + n) * 2 + 256;
        z->b = realloc(z->b, z->cap);
        if (!z->b) {
            abort();
        }
    }
    if (n) {
        memcpy(z->b + z->n, p, n);
    }
    z->n += n;
}

static inline void lqt_zip_le(struct lqt_zip *z, uint32_t v, int bytes)
{
    unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };
    lqt_zip_put(z, x, (size_t)bytes);
}

/* Appends a stored member: local header (version 20, no flags, no extra) and the bytes. */
static inline void lqt_zip_add(struct lqt_zip *z, const char *name, const void *data,
                               size_t n)
{
    if (z->nm == LQT_ZIP_MAX_MEMBERS || strlen(name) >= sizeof z->m[0].name) {
        abort();
    }
    strcpy(z->m[z->nm].name, name);
    z->m[z->nm].crc = lqt_crc32(data, n);
    z->m[z->nm].size = (uint32_t)n;
    z->m[z->nm].off = (uint32_t)z->n;
    lqt_zip_le(z, 0x04034b50u, 4);
    lqt_zip_le(z, 20, 2);
    lqt_zip_le(z, 0, 2);
    lqt_zip_le(z, 0, 2);
    lqt_zip_le(z, 0, 4); /* time, date */
    lqt_zip_le(z, z->m[z->nm].crc, 4);
    lqt_zip_le(z, (uint32_t)n, 4);
    lqt_zip_le(z, (uint32_t)n, 4);
    lqt_zip_le(z, (uint32_t)strlen(name), 2);
    lqt_zip_le(z, 0, 2);
    lqt_zip_put(z, name, strlen(name));
    lqt_zip_put(z, data, n);
    z->nm++;
}

static inline void lqt_zip_le64(struct lqt_zip *z, uint64_t v)
{
    lqt_zip_le(z, (uint32_t)v, 4);
    lqt_zip_le(z, (uint32_t)(v >> 32), 4);
}

/* One central directory entry; in zip64 form sizes and offset move to the extra field. */
static inline void lqt_zip_central(struct lqt_zip *z, int i)
{
    uint32_t big = 0xffffffffu;
    lqt_zip_le(z, 0x02014b50u, 4);
    lqt_zip_le(z, 45, 2);
    lqt_zip_le(z, 45, 2);
    lqt_zip_le(z, 0, 2);
    lqt_zip_le(z, 0, 2);
    lqt_zip_le(z, 0, 4);
    lqt_zip_le(z, z->m[i].crc, 4);
    lqt_zip_le(z, z->zip64 ? big : z->m[i].size, 4);
    lqt_zip_le(z, z->zip64 ? big : z->m[i].size, 4);
    lqt_zip_le(z, (uint32_t)strlen(z->m[i].name), 2);
    lqt_zip_le(z, z->zip64 ? 28 : 0, 2); /* extra length */
    lqt_zip_le(z, 0, 2);                 /* comment length */
    lqt_zip_le(z, 0, 4);                 /* disk, internal attributes */
    lqt_zip_le(z, 0, 4);                 /* external attributes */
    lqt_zip_le(z, z->zip64 ? big : z->m[i].off, 4);
    lqt_zip_put(z, z->m[i].name, strlen(z->m[i].name));
    if (z->zip64) {
        lqt_zip_le(z, 0x0001, 2);
        lqt_zip_le(z, 24, 2);
        lqt_zip_le64(z, z->m[i].size);
        lqt_zip_le64(z, z->m[i].size);
        lqt_zip_le64(z, z->m[i].off);
    }
}

/* Appends the central directory and the end record(s). */
static inline void lqt_zip_finish(struct lqt_zip *z)
{
    uint32_t cd = (uint32_t)z->n;
    for (int i = 0; i < z->nm; i++) {
        lqt_zip_central(z, i);
    }
    uint32_t cd_size = (uint32_t)z->n - cd;
    if (z->zip64) {
        uint64_t rec = z->n;
        lqt_zip_le(z, 0x06064b50u, 4);
        lqt_zip_le64(z, 44);
        lqt_zip_le(z, 45, 2);
        lqt_zip_le(z, 45, 2);
        lqt_zip_le(z, 0, 4);
        lqt_zip_le(z, 0, 4);
        lqt_zip_le64(z, (uint64_t)z->nm);
        lqt_zip_le64(z, (uint64_t)z->nm);
        lqt_zip_le64(z, cd_size);
        lqt_zip_le64(z, cd);
        lqt_zip_le(z, 0x07064b50u, 4);
        lqt_zip_le(z, 0, 4);
        lqt_zip_le64(z, rec);
        lqt_zip_le(z, 1, 4);
    }
    lqt_zip_le(z, 0x06054b50u, 4);
    lqt_zip_le(z, 0, 4);
    lqt_zip_le(z, z->zip64 ? 0xffff : (uint32_t)z->nm, 2);
    lqt_zip_le(z, z->zip64 ? 0xffff : (uint32_t)z->nm, 2);
    lqt_zip_le(z, z->zip64 ? 0xffffffffu : cd_size, 4);
    lqt_zip_le(z, z->zip64 ? 0xffffffffu : cd, 4);
    lqt_zip_le(z, 0, 2);
}

#endif

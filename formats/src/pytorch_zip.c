/* pytorch_zip.c - a zip central-directory reader over memory-mapped bytes.
 *
 * Why not libarchive: it streams entries and copies their data out through
 * archive_read_data(); it does not tell where a stored member's bytes lie in the file. Tensor
 * storages are large and stored uncompressed, so reading the directory here and handing out
 * views into the mapping avoids copying whole models. Only the directory records and local
 * headers are parsed, every field checked against the file size. */
#include <stdlib.h>
#include <string.h>

#include "lqi.h"
#include "pytorch_impl.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u
#define EOCD_LEN 22
#define CENTRAL_LEN 46
#define LOCAL_LEN 30
#define MAX_COMMENT 65535

struct zbuf {
    const unsigned char *p;
    uint64_t size;
    const char *name;
};

// ---- end of central directory ----

struct cdir {
    uint64_t n, offset, size;
};

static lq_status find_eocd(const struct zbuf *b, uint64_t *at, struct lq_error *err)
{
    LQ_FAIL_IF(b->size < EOCD_LEN, err, LQ_E_FORMAT, "%s: %llu bytes, too short for a zip",
               b->name, (unsigned long long)b->size);
    uint64_t lowest = b->size - EOCD_LEN > MAX_COMMENT ? b->size - EOCD_LEN - MAX_COMMENT : 0;
    for (uint64_t o = b->size - EOCD_LEN + 1; o-- > lowest;) {
        if (lqi_rd_u32(b->p + o) == SIG_EOCD &&
            o + EOCD_LEN + lqi_rd_u16(b->p + o + 20) == b->size) {
            *at = o;
            return LQ_OK;
        }
    }
    return lqi_set_error(err, LQ_E_FORMAT, "%s: no zip end-of-central-directory record",
                         b->name);
}

static lq_status read_eocd64(const struct zbuf *b, uint64_t eocd, struct cdir *cd,
                             struct lq_error *err)
{
    LQ_FAIL_IF(eocd < 20 || lqi_rd_u32(b->p + eocd - 20) != SIG_EOCD64_LOC, err, LQ_E_FORMAT,
               "%s: offset %llu: zip64 sizes without a zip64 locator", b->name,
               (unsigned long long)eocd);
    uint64_t at = lqi_rd_u64(b->p + eocd - 20 + 8);
    LQ_FAIL_IF(at > eocd - 20 || eocd - 20 - at < 56 || lqi_rd_u32(b->p + at) != SIG_EOCD64,
               err, LQ_E_FORMAT, "%s: offset %llu: bad zip64 end-of-central-directory record",
               b->name, (unsigned long long)at);
    LQ_FAIL_IF(lqi_rd_u32(b->p + at + 16) != 0 || lqi_rd_u32(b->p + at + 20) != 0, err,
               LQ_E_UNSUPPORTED, "%s: multi-disk zip archives are not supported", b->name);
    cd->n = lqi_rd_u64(b->p + at + 32);
    cd->size = lqi_rd_u64(b->p + at + 40);
    cd->offset = lqi_rd_u64(b->p + at + 48);
    return LQ_OK;
}

static lq_status read_cdir(const struct zbuf *b, struct cdir *cd, struct lq_error *err)
{
    uint64_t eocd = 0;
    LQ_TRY(find_eocd(b, &eocd, err));
    const unsigned char *e = b->p + eocd;
    cd->n = lqi_rd_u16(e + 10);
    cd->size = lqi_rd_u32(e + 12);
    cd->offset = lqi_rd_u32(e + 16);
    if (cd->n == 0xffff || cd->size == 0xffffffffu || cd->offset == 0xffffffffu) {
        LQ_TRY(read_eocd64(b, eocd, cd, err));
    } else {
        LQ_FAIL_IF(lqi_rd_u16(e + 4) != 0 || lqi_rd_u16(e + 6) != 0, err, LQ_E_UNSUPPORTED,
                   "%s: multi-disk zip archives are not supported", b->name);
    }
    LQ_FAIL_IF(cd->offset > eocd || cd->size > eocd - cd->offset, err, LQ_E_FORMAT,
               "%s: zip central directory (offset %llu, %llu bytes) outside the file", b->name,
               (unsigned long long)cd->offset, (unsigned long long)cd->size);
    LQ_FAIL_IF(cd->n > cd->size / CENTRAL_LEN, err, LQ_E_FORMAT,
               "%s: %llu zip entries cannot fit in a %llu-byte central directory", b->name,
               (unsigned long long)cd->n, (unsigned long long)cd->size);
    return LQ_OK;
}

// ---- central directory entries ----

/* Replaces 0xffffffff sizes and offset with their values from the zip64 extra field. */
static lq_status apply_zip64(const struct zbuf *b, const unsigned char *extra, uint64_t len,
                             struct lqi_zip_member *m, uint64_t at, struct lq_error *err)
{
    uint64_t *fields[3] = { &m->size, &m->comp_size, &m->data_offset };
    for (uint64_t o = 0; o + 4 <= len;) {
        uint16_t id = lqi_rd_u16(extra + o), n = lqi_rd_u16(extra + o + 2);
        LQ_FAIL_IF(n > len - o - 4, err, LQ_E_FORMAT,
                   "%s: offset %llu: zip extra field runs past its entry", b->name,
                   (unsigned long long)at);
        if (id == 0x0001) {
            uint64_t k = 0;
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffffu) {
                    continue;
                }
                LQ_FAIL_IF(k + 8 > n, err, LQ_E_FORMAT, "%s: offset %llu: short zip64 field",
                           b->name, (unsigned long long)at);
                *fields[i] = lqi_rd_u64(extra + o + 4 + k);
                k += 8;
            }
        }
        o += 4 + (uint64_t)n;
    }
    return LQ_OK;
}

/* The member's data follows its local header, whose name and extra lengths may differ from
 * the central directory's (torch pads the local extra field to align the data). */
static lq_status locate_data(const struct zbuf *b, struct lqi_zip_member *m,
                             struct lq_error *err)
{
    uint64_t lh = m->data_offset;
    LQ_FAIL_IF(lh > b->size || b->size - lh < LOCAL_LEN || lqi_rd_u32(b->p + lh) != SIG_LOCAL,
               err, LQ_E_FORMAT, "%s: member '%s': no local header at offset %llu", b->name,
               m->name, (unsigned long long)lh);
    uint64_t start = lh + LOCAL_LEN + lqi_rd_u16(b->p + lh + 26) + lqi_rd_u16(b->p + lh + 28);
    LQ_FAIL_IF(start > b->size || m->comp_size > b->size - start, err, LQ_E_FORMAT,
               "%s: member '%s': %llu bytes at offset %llu run past the end (%llu)", b->name,
               m->name, (unsigned long long)m->comp_size, (unsigned long long)start,
               (unsigned long long)b->size);
    m->data_offset = start;
    return LQ_OK;
}

static lq_status read_entry(const struct zbuf *b, uint64_t at, uint64_t end,
                            struct lqi_zip_member *m, uint64_t *next, struct lq_error *err)
{
    const unsigned char *c = b->p + at;
    LQ_FAIL_IF(end - at < CENTRAL_LEN || lqi_rd_u32(c) != SIG_CENTRAL, err, LQ_E_FORMAT,
               "%s: offset %llu: bad zip central directory entry", b->name,
               (unsigned long long)at);
    uint64_t nlen = lqi_rd_u16(c + 28), xlen = lqi_rd_u16(c + 30), clen = lqi_rd_u16(c + 32);
    LQ_FAIL_IF(CENTRAL_LEN + nlen + xlen + clen > end - at, err, LQ_E_FORMAT,
               "%s: offset %llu: zip entry runs past the central directory", b->name,
               (unsigned long long)at);
    LQ_FAIL_IF(lqi_rd_u16(c + 8) & 1, err, LQ_E_UNSUPPORTED,
               "%s: offset %llu: encrypted zip member", b->name, (unsigned long long)at);
    m->name = lqi_strndup((const char *)c + CENTRAL_LEN, (size_t)nlen);
    LQ_FAIL_IF(!m->name, err, LQ_E_NOMEM, "%s: out of memory", b->name);
    m->method = lqi_rd_u16(c + 10);
    m->crc32 = lqi_rd_u32(c + 16);
    m->comp_size = lqi_rd_u32(c + 20);
    m->size = lqi_rd_u32(c + 24);
    m->data_offset = lqi_rd_u32(c + 42);
    LQ_TRY(apply_zip64(b, c + CENTRAL_LEN + nlen, xlen, m, at, err));
    *next = at + CENTRAL_LEN + nlen + xlen + clen;
    return locate_data(b, m, err);
}

lq_status lqi_zip_read(const unsigned char *data, uint64_t size, const char *name,
                       struct lqi_zip *z, struct lq_error *err)
{
    memset(z, 0, sizeof *z);
    struct zbuf b = { data, size, name };
    struct cdir cd;
    LQ_TRY(read_cdir(&b, &cd, err));
    z->m = lqi_calloc(cd.n ? (size_t)cd.n : 1, sizeof *z->m);
    LQ_FAIL_IF(!z->m, err, LQ_E_NOMEM, "%s: out of memory", name);
    uint64_t at = cd.offset, end = cd.offset + cd.size;
    for (uint64_t i = 0; i < cd.n; i++) {
        lq_status rc = read_entry(&b, at, end, &z->m[i], &at, err);
        z->n = (int64_t)i + 1; /* so free releases the name just read */
        if (rc != LQ_OK) {
            lqi_zip_free(z);
            return rc;
        }
    }
    return LQ_OK;
}

void lqi_zip_free(struct lqi_zip *z)
{
    for (int64_t i = 0; i < z->n; i++) {
        lqi_free(z->m[i].name);
    }
    lqi_free(z->m);
    memset(z, 0, sizeof *z);
}

/* report_out.c - output files written through a temporary name in the same folder and
 * renamed when complete, so a failed write never leaves a truncated report or baseline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lqi.h"
#include "report_impl.h"

lq_status lqi_out_open(struct report_out *o, const char *path, struct lq_error *err)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    size_t n = strlen(path) + 16;
    o->tmp = lqi_malloc(n);
    LQ_FAIL_IF(!o->tmp, err, LQ_E_NOMEM, "out of memory");
    snprintf(o->tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(o->tmp);
    /* mkstemp makes 0600; reports are meant to be shared like any other output */
    o->f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "w") : NULL;
    if (!o->f) {
        lq_status s = lqi_set_error(err, LQ_E_IO, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        lqi_free(o->tmp);
        o->tmp = NULL;
        return s;
    }
    return LQ_OK;
}

lq_status lqi_out_close(struct report_out *o, struct lq_error *err)
{
    int e = ferror(o->f) ? EIO : 0;
    if (fclose(o->f) != 0 && !e) {
        e = errno ? errno : EIO;
    }
    if (!e && rename(o->tmp, o->path) != 0) {
        e = errno;
    }
    if (e) {
        unlink(o->tmp);
    }
    lqi_free(o->tmp);
    o->tmp = NULL;
    o->f = NULL;
    LQ_FAIL_IF(e, err, LQ_E_IO, "%s: cannot write: %s", o->path, strerror(e));
    return LQ_OK;
}

void lqi_out_abort(struct report_out *o)
{
    fclose(o->f);
    unlink(o->tmp);
    lqi_free(o->tmp);
    o->tmp = NULL;
    o->f = NULL;
}

void lqi_xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

lq_status lqi_svg_render(void (*draw)(FILE *f, const void *ctx), const void *ctx, char **out,
                         struct lq_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    LQ_FAIL_IF(!f, err, LQ_E_NOMEM, "out of memory");
    draw(f, ctx);
    if (fclose(f) != 0) {
        free(buf);
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    *out = buf;
    return LQ_OK;
}

lq_status lqi_svg_write(const char *svg, const char *path, struct lq_error *err)
{
    struct report_out o;
    LQ_TRY(lqi_out_open(&o, path, err));
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", o.f);
    fputs(svg, o.f);
    return lqi_out_close(&o, err);
}

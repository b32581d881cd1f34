/* report_out.c - report, JUnit and baseline files as streams over lq_out: written under a
 * temporary name beside the target and renamed when complete (no truncated file, ever). */
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
    LQ_TRY(lq_out_open(path, &o->out, err));
    /* the stream has its own descriptor: lq_out_commit closes the original after fsync */
    int fd = dup(lq_out_fd(o->out));
    o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!o->f) {
        lq_status s = lqi_set_error(err, LQ_E_IO, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        lq_out_abort(o->out);
        o->out = NULL;
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
    o->f = NULL;
    lq_out *out = o->out;
    o->out = NULL;
    if (e) {
        lq_out_abort(out);
        return lqi_set_error(err, LQ_E_IO, "%s: cannot write: %s", o->path, strerror(e));
    }
    return lq_out_commit(out, err);
}

void lqi_out_abort(struct report_out *o)
{
    fclose(o->f);
    lq_out_abort(o->out);
    o->f = NULL;
    o->out = NULL;
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

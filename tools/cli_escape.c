/* cli_escape.c - strings from files made safe to print on a terminal. A tensor name or a
 * metadata value may hold ESC sequences (clear the screen, set the window title, rewrite the
 * lines above): every human-readable output prints such strings through here. */
#include "cli.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code point; 0 when the
 * bytes are not valid UTF-8 (bad lead or continuation byte, overlong form, surrogate). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || s[0] >= 0xf8) {
        return 0;
    }
    unsigned c = s[0] & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3fu);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

size_t cli_escape(const char *s, size_t len, bool keep_layout, char *buf, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t out = 0, kept = 0; /* kept: bytes of buf filled with whole pieces */
    bool full = cap == 0;
    for (size_t i = 0; i < len;) {
        char esc[12] = "";
        size_t take = 1;
        unsigned cp = 0;
        if (p[i] < 0x80) {
            bool layout = keep_layout && (p[i] == '\n' || p[i] == '\t');
            if ((p[i] < 0x20 && !layout) || p[i] == 0x7f) {
                snprintf(esc, sizeof esc, "\\x%02x", p[i]); /* C0 (ESC is \x1b) and DEL */
            }
        } else if ((take = utf8_seq(p + i, len - i, &cp)) == 0) {
            take = 1;
            snprintf(esc, sizeof esc, "\\x%02x", p[i]); /* not UTF-8: a raw C1 byte maybe */
        } else if (cp <= 0x9f) {
            snprintf(esc, sizeof esc, "\\u%04x", cp); /* C1 controls, CSI U+009B among them */
        }
        const char *piece = esc[0] ? esc : s + i;
        size_t n = esc[0] ? strlen(esc) : take;
        if (!full && kept + n < cap) {
            memcpy(buf + kept, piece, n);
            kept += n;
        } else {
            full = true;
        }
        out += n;
        i += take;
    }
    if (cap) {
        buf[kept] = '\0';
    }
    return out;
}

const char *cli_esc(const char *s, char *buf, size_t cap)
{
    cli_escape(s ? s : "", s ? strlen(s) : 0, false, buf, cap);
    return buf;
}

void cli_put_escaped(FILE *f, const char *s, size_t len, bool keep_layout)
{
    char buf[1024];
    for (size_t i = 0; i < len;) {
        /* a slice of at most 64 bytes escapes to at most 64 * 6 bytes: it always fits */
        size_t k = len - i < 64 ? len - i : 64;
        while (k < len - i && k > 1 && ((unsigned char)s[i + k] & 0xc0) == 0x80) {
            k--; /* do not split a UTF-8 sequence */
        }
        size_t n = cli_escape(s + i, k, keep_layout, buf, sizeof buf);
        fwrite(buf, 1, n, f);
        i += k;
    }
}

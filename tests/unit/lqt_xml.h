/* lqt_xml.h - a small strict XML well-formedness checker for tests (SVG, JUnit): one root
 * element, matched tags, quoted and unique attributes, known entities only, no stray '<'
 * or '&'. Calls a callback for every start tag with its attributes. Header-only. */
#ifndef LQT_XML_H
#define LQT_XML_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LQT_XML_MAX_ATTRS 32
#define LQT_XML_MAX_DEPTH 64

struct lqt_xml_attr {
    char name[64];
    char value[4096];
};

/* Called for each start tag; returns nothing. */
typedef void (*lqt_xml_fn)(void *user, const char *tag, const struct lqt_xml_attr *attrs,
                           int n_attrs);

struct lqt_xml {
    const char *p, *end;
    char error[256];
    lqt_xml_fn fn;
    void *user;
};

static bool lqt_xml_fail(struct lqt_xml *x, const char *what)
{
    if (!x->error[0]) {
        snprintf(x->error, sizeof x->error, "%s at byte %td", what, x->end - x->p);
    }
    return false;
}

static bool lqt_xml_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

static bool lqt_xml_name(struct lqt_xml *x, char *out, size_t cap)
{
    size_t n = 0;
    if (x->p >= x->end || !lqt_xml_name_char(*x->p, true)) {
        return lqt_xml_fail(x, "expected a name");
    }
    while (x->p < x->end && lqt_xml_name_char(*x->p, false)) {
        if (n + 1 >= cap) {
            return lqt_xml_fail(x, "name too long");
        }
        out[n++] = *x->p++;
    }
    out[n] = '\0';
    return true;
}

static void lqt_xml_space(struct lqt_xml *x)
{
    while (x->p < x->end && strchr(" \t\r\n", *x->p)) {
        x->p++;
    }
}

/* An entity reference after '&': one of the five predefined or a character reference. */
static bool lqt_xml_entity(struct lqt_xml *x)
{
    static const char *const known[] = {"lt;", "gt;", "amp;", "quot;", "apos;"};
    for (size_t i = 0; i < 5; i++) {
        size_t n = strlen(known[i]);
        if ((size_t)(x->end - x->p) >= n && memcmp(x->p, known[i], n) == 0) {
            x->p += n;
            return true;
        }
    }
    if (x->p < x->end && *x->p == '#') {
        const char *q = x->p + 1;
        while (q < x->end && ((*q >= '0' && *q <= '9') || *q == 'x')) {
            q++;
        }
        if (q < x->end && *q == ';' && q > x->p + 1) {
            x->p = q + 1;
            return true;
        }
    }
    return lqt_xml_fail(x, "unknown entity");
}

/* Character data up to the next '<'. */
static bool lqt_xml_text(struct lqt_xml *x)
{
    while (x->p < x->end && *x->p != '<') {
        if (*x->p++ == '&' && !lqt_xml_entity(x)) {
            return false;
        }
    }
    return true;
}

static bool lqt_xml_attr_value(struct lqt_xml *x, char *out, size_t cap)
{
    if (x->p >= x->end || (*x->p != '"' && *x->p != '\'')) {
        return lqt_xml_fail(x, "attribute value not quoted");
    }
    const char q = *x->p++;
    size_t n = 0;
    while (x->p < x->end && *x->p != q) {
        const char c = *x->p++;
        if (c == '<' || (c == '&' && !lqt_xml_entity(x))) {
            return lqt_xml_fail(x, "bad character in an attribute value");
        }
        if (n + 1 < cap) {
            out[n++] = c;
        }
    }
    out[n] = '\0';
    if (x->p >= x->end) {
        return lqt_xml_fail(x, "unterminated attribute value");
    }
    x->p++;
    return true;
}

/* A start tag after '<': name, attributes, '>' or '/>'. *empty says which. */
static bool lqt_xml_start(struct lqt_xml *x, char *tag, bool *empty)
{
    static struct lqt_xml_attr attrs[LQT_XML_MAX_ATTRS];
    int n = 0;
    if (!lqt_xml_name(x, tag, 64)) {
        return false;
    }
    for (;;) {
        const char *before = x->p;
        lqt_xml_space(x);
        if (x->p < x->end && (*x->p == '>' || *x->p == '/')) {
            break;
        }
        if (before == x->p || n == LQT_XML_MAX_ATTRS) {
            return lqt_xml_fail(x, "attributes must be separated by space");
        }
        if (!lqt_xml_name(x, attrs[n].name, sizeof attrs[n].name)) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (strcmp(attrs[i].name, attrs[n].name) == 0) {
                return lqt_xml_fail(x, "duplicate attribute");
            }
        }
        lqt_xml_space(x);
        if (x->p >= x->end || *x->p++ != '=') {
            return lqt_xml_fail(x, "expected '=' after an attribute name");
        }
        lqt_xml_space(x);
        if (!lqt_xml_attr_value(x, attrs[n].value, sizeof attrs[n].value)) {
            return false;
        }
        n++;
    }
    *empty = *x->p == '/';
    x->p += *empty;
    if (x->p >= x->end || *x->p++ != '>') {
        return lqt_xml_fail(x, "expected '>'");
    }
    if (x->fn) {
        x->fn(x->user, tag, attrs, n);
    }
    return true;
}

/* The value of attribute name among a start tag's attributes, or NULL. */
static inline const char *lqt_xml_attr_get(const struct lqt_xml_attr *a, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(a[i].name, name) == 0) {
            return a[i].value;
        }
    }
    return NULL;
}

/* Skips "<?...?>" (after "<?") or "<!--...-->" (after "<!--"). */
static bool lqt_xml_skip(struct lqt_xml *x, const char *close)
{
    const char *q = strstr(x->p, close);
    if (!q || q >= x->end) {
        return lqt_xml_fail(x, "unterminated declaration or comment");
    }
    x->p = q + strlen(close);
    return true;
}

/* Whether text (NUL-terminated) is well-formed XML; on failure error says why and where. */
static bool lqt_xml_check(struct lqt_xml *x, const char *text)
{
    char stack[LQT_XML_MAX_DEPTH][64], tag[64];
    int depth = 0;
    bool root_done = false;
    x->p = text;
    x->end = text + strlen(text);
    x->error[0] = '\0';
    while (x->p < x->end) {
        if (*x->p != '<') {
            if (depth == 0) {
                lqt_xml_space(x);
                if (x->p < x->end && *x->p != '<') {
                    return lqt_xml_fail(x, "text outside the root element");
                }
                continue;
            }
            if (!lqt_xml_text(x)) {
                return false;
            }
            continue;
        }
        x->p++;
        if (strncmp(x->p, "?", 1) == 0) {
            if (!lqt_xml_skip(x, "?>")) {
                return false;
            }
        } else if (strncmp(x->p, "!--", 3) == 0) {
            if (!lqt_xml_skip(x, "-->")) {
                return false;
            }
        } else if (strncmp(x->p, "!DOCTYPE", 8) == 0) {
            if (!lqt_xml_skip(x, ">")) {
                return false;
            }
        } else if (*x->p == '/') {
            x->p++;
            if (!lqt_xml_name(x, tag, sizeof tag)) {
                return false;
            }
            lqt_xml_space(x);
            if (depth == 0 || strcmp(stack[depth - 1], tag) != 0 || x->p >= x->end ||
                *x->p++ != '>') {
                return lqt_xml_fail(x, "end tag does not match");
            }
            root_done = --depth == 0;
        } else {
            bool empty;
            if (root_done && depth == 0) {
                return lqt_xml_fail(x, "a second root element");
            }
            if (!lqt_xml_start(x, tag, &empty)) {
                return false;
            }
            if (empty) {
                root_done = root_done || depth == 0;
            } else if (depth == LQT_XML_MAX_DEPTH) {
                return lqt_xml_fail(x, "too deep");
            } else {
                memcpy(stack[depth++], tag, sizeof tag);
            }
        }
    }
    return depth == 0 && root_done ? true : lqt_xml_fail(x, "unclosed element or no root");
}

#endif

/* cli_suggest.c - "did you mean": edit distance between a mistyped word and the candidates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opts.h"

int cli_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    /* three rows of the dynamic programme: i-2, i-1 and i (transpositions look back two) */
    int *d = malloc(3 * (nb + 1) * sizeof *d);
    if (!d) {
        return (int)(na > nb ? na : nb);
    }
    int *r2 = d, *r1 = d + nb + 1, *r0 = d + 2 * (nb + 1);
    for (size_t j = 0; j <= nb; j++) {
        r1[j] = (int)j;
    }
    for (size_t i = 1; i <= na; i++) {
        r0[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            const int cost = a[i - 1] != b[j - 1];
            int v = r1[j - 1] + cost;
            v = r1[j] + 1 < v ? r1[j] + 1 : v;
            v = r0[j - 1] + 1 < v ? r0[j - 1] + 1 : v;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                r2[j - 2] + 1 < v) {
                v = r2[j - 2] + 1;
            }
            r0[j] = v;
        }
        int *t = r2;
        r2 = r1;
        r1 = r0;
        r0 = t;
    }
    const int res = r1[nb];
    free(d);
    return res;
}

void cli_suggest_init(struct cli_suggest *s, const char *word, size_t len, const char *prefix)
{
    memset(s, 0, sizeof *s);
    s->word = word;
    s->len = len;
    /* a typo is at most 2 edits, 1 in a short word */
    s->best = len < 4 ? 1 : 2;
    s->prefix = prefix;
}

void cli_suggest_add(struct cli_suggest *s, const char *name)
{
    const int d = cli_edit_distance(s->word, s->len, name, strlen(name));
    if (d > s->best || (size_t)d >= s->len) {
        return;
    }
    if (d < s->best) {
        s->best = d;
        s->n = 0;
    }
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->names[i], name) == 0) {
            return; /* one name may have several rows */
        }
    }
    if (s->n < (int)(sizeof s->names / sizeof s->names[0])) {
        s->names[s->n++] = name;
    }
}

void cli_suggest_text(const struct cli_suggest *s, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n && off < cap; i++) {
        const char *sep = i == 0 ? "; did you mean " : i + 1 == s->n ? " or " : ", ";
        off += (size_t)snprintf(buf + off, cap - off, "%s'%s%s'", sep, s->prefix, s->names[i]);
    }
    if (s->n && off < cap) {
        snprintf(buf + off, cap - off, "?");
    }
}

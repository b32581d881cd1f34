/* source_names.c - general.name and friends of a Hugging Face folder, as llama.cpp's
 * converter derives them (gguf-py/gguf/metadata.py): the README.md model card's front matter
 * first (model_name, ...), then config.json's _name_or_path, then the folder name, each
 * split into basename / size label / fine-tune / version by the same heuristics. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lqi.h"
#include "source_impl.h"

#define NAME_CAP 256
#define MAX_PARTS 32

/* What the model card and the heuristics fill in; empty strings are "None". */
struct names {
    char name[NAME_CAP], author[NAME_CAP], version[NAME_CAP], organization[NAME_CAP];
    char finetune[NAME_CAP], basename[NAME_CAP], description[NAME_CAP], size_label[NAME_CAP];
};

enum { T_BASENAME = 1, T_SIZE = 2, T_FINETUNE = 4, T_VERSION = 8, T_TYPE = 16 };

static bool full_match(const char *re, const char *s)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
        return false;
    }
    bool m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

static void set_if_empty(char *dst, const char *src)
{
    if (!dst[0] && src && src[0]) {
        snprintf(dst, NAME_CAP, "%s", src);
    }
}

/* Metadata.id_to_title: words of an all-lower-case id are title-cased (a letter after a
 * non-letter is upper-cased, as Python's str.title), except version numbers. */
static void id_to_title(const char *id, char *out, size_t cap)
{
    char buf[NAME_CAP];
    snprintf(buf, sizeof buf, "%s", id);
    for (char *p = buf; *p; p++) {
        *p = *p == '-' ? ' ' : *p;
    }
    size_t j = 0;
    out[0] = '\0';
    for (char *save = NULL, *w = strtok_r(buf, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save)) {
        bool has_lower = false, has_upper = false;
        for (const char *p = w; *p; p++) {
            has_lower |= islower((unsigned char)*p) != 0;
            has_upper |= isupper((unsigned char)*p) != 0;
        }
        bool title = has_lower && !has_upper && !full_match("^(v[0-9]+([.][0-9]+)*|[0-9].*)$", w);
        bool after_letter = false;
        for (char *p = w; title && *p; p++) {
            *p = (char)(after_letter ? tolower((unsigned char)*p) : toupper((unsigned char)*p));
            after_letter = isalpha((unsigned char)*p) != 0;
        }
        j += (size_t)snprintf(out + j, j < cap ? cap - j : 0, "%s%s", j ? " " : "", w);
    }
}

static void join(char (*parts)[NAME_CAP], const unsigned *types, int n, unsigned want,
                 unsigned unless, char *out)
{
    size_t j = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        bool dup = false; /* size labels are de-duplicated */
        for (int k = 0; want == T_SIZE && k < i; k++) {
            dup |= (types[k] & T_SIZE) && strcmp(parts[k], parts[i]) == 0;
        }
        if ((types[i] & want) && !(types[i] & unless) && !dup) {
            j += (size_t)snprintf(out + j, j < NAME_CAP ? NAME_CAP - j : 0, "%s%s",
                                  j ? "-" : "", parts[i]);
        }
    }
}

/* A size part ("7b", "8x7B", "7b1"): normalised as llama.cpp does; a label far from the
 * real parameter count is a context length and becomes part of the fine-tune. */
static unsigned size_part(char *part, int64_t total_params)
{
    for (char *p = part; *p; p++) {
        *p = *p == '_' ? '.' : *p;
    }
    size_t n = strlen(part);
    if (n >= 2 && isdigit((unsigned char)part[n - 1])) { /* bloom-7b1 -> 7.1b */
        char a = part[n - 2], b = part[n - 1];
        part[n - 2] = '.';
        part[n - 1] = b;
        part[n] = a;
        part[n + 1] = '\0';
        n++;
    }
    if (n > 1 && isdigit((unsigned char)part[n - 2]) && strchr("kmbt", part[n - 1])) {
        part[n - 1] = (char)toupper((unsigned char)part[n - 1]);
    }
    const char *units = " KMBT";
    const char *u = strchr(units, part[n - 1]);
    char *end;
    double v = strtod(part, &end);
    if (total_params != 0 && end == part + n - 1 && n > 1) {
        /* as Python's " KMBT".find(suffix): a lower-case suffix (7.1b) finds nothing (-1) */
        double label = u ? v : v / 1000;
        for (long k = u ? u - units : 0; k > 0; k--) {
            label *= 1000;
        }
        double diff = label - (double)total_params;
        if (total_params > 0 && (diff < 0 ? -diff : diff) > (double)(7 * total_params / 8)) {
            part[n - 1] = (char)tolower((unsigned char)part[n - 1]);
            return T_FINETUNE;
        }
    }
    return T_SIZE;
}

/* Metadata.get_model_id_components for "org/Name-7B-Instruct-v0.2". */
static void id_components(const char *model_id, int64_t total_params, struct names *out)
{
    char full[NAME_CAP], org[NAME_CAP] = "";
    if (strchr(model_id, ' ')) {
        set_if_empty(out->name, model_id);
        return;
    }
    const char *slash = strchr(model_id, '/');
    snprintf(full, sizeof full, "%s", slash ? slash + 1 : model_id);
    if (slash && slash != model_id && model_id[0] != '.') {
        snprintf(org, sizeof org, "%.*s", (int)(slash - model_id), model_id);
    }
    char parts[MAX_PARTS][NAME_CAP];
    unsigned types[MAX_PARTS] = { 0 };
    int n = 0;
    char buf[NAME_CAP];
    snprintf(buf, sizeof buf, "%s", full);
    for (char *save = NULL, *p = strtok_r(buf, "-", &save); p && n < MAX_PARTS;
         p = strtok_r(NULL, "-", &save)) {
        snprintf(parts[n++], NAME_CAP - 2, "%s", p); /* room for the 7b1 rewrite */
    }
    for (int i = 0; i < n; i++) {
        char *part = parts[i];
        if (full_match("^(v|iter)?[0-9]+([.][0-9]+)*$", part)) {
            types[i] |= T_VERSION;
        } else if (full_match("^(i?q[0-9](_[a-z0-9_])*|b?fp?(16|32))$", part)) {
            types[i] |= T_TYPE;
            for (char *p = part; *p; p++) {
                *p = (char)toupper((unsigned char)*p);
            }
        } else if (i > 0 && full_match("^((a|[0-9]+x)?[0-9]+([._][0-9]+)?[kmbt][0-9]?|small|mini|"
                                       "medium|large|x?xl)$", part)) {
            types[i] |= size_part(part, total_params);
        } else if (i > 0 && full_match("^(chat|instruct|vision|lora)$", part)) {
            types[i] |= T_FINETUNE;
        }
    }
    bool numeric_size = false;
    for (int i = 0; i < n; i++) {
        for (const char *p = parts[i]; (types[i] & T_SIZE) && *p; p++) {
            numeric_size |= isdigit((unsigned char)*p) != 0;
        }
    }
    for (int i = 0; numeric_size && i < n; i++) {
        bool alpha = true;
        for (const char *p = parts[i]; *p; p++) {
            alpha &= isalpha((unsigned char)*p) != 0;
        }
        if ((types[i] & T_SIZE) && alpha) {
            types[i] &= ~(unsigned)T_SIZE;
        }
    }
    bool at_start = true;
    for (int i = 0; i < n; i++) {
        if (at_start && ((types[i] == 0 && isalpha((unsigned char)parts[i][0])) ||
                         (types[i] & T_VERSION))) {
            types[i] |= T_BASENAME;
        } else {
            at_start = false;
            types[i] |= types[i] == 0 ? T_FINETUNE : 0;
        }
    }
    for (int i = n - 1; i >= 0 && (types[i] & T_BASENAME) && types[i] != T_BASENAME; i--) {
        types[i] &= ~(unsigned)T_BASENAME; /* a trailing version is not the basename's */
    }
    char basename[NAME_CAP], size[NAME_CAP], finetune[NAME_CAP], version[NAME_CAP];
    join(parts, types, n, T_BASENAME, 0, basename);
    join(parts, types, n, T_SIZE, 0, size);
    join(parts, types, n, T_FINETUNE, 0, finetune);
    join(parts, types, n, T_VERSION, T_BASENAME, version);
    if (!size[0] && !finetune[0] && !version[0]) {
        basename[0] = '\0'; /* too ambiguous */
    }
    char title[NAME_CAP];
    id_to_title(full, title, sizeof title);
    set_if_empty(out->name, title);
    if (org[0]) {
        id_to_title(org, title, sizeof title);
        set_if_empty(out->organization, title);
    }
    set_if_empty(out->basename, basename);
    set_if_empty(out->finetune, finetune);
    set_if_empty(out->version, version);
    set_if_empty(out->size_label, size);
}

/* One "key: value" line of YAML front matter (plain or quoted scalars only). */
static void card_line(char *line, struct names *nm)
{
    static const struct { const char *key; size_t off; } keys[] = {
        { "name", offsetof(struct names, name) },
        { "author", offsetof(struct names, author) },
        { "version", offsetof(struct names, version) },
        { "organization", offsetof(struct names, organization) },
        { "description", offsetof(struct names, description) },
        { "finetune", offsetof(struct names, finetune) },
        { "basename", offsetof(struct names, basename) },
        { "size_label", offsetof(struct names, size_label) },
        { "model_name", offsetof(struct names, name) },
        { "model_author", offsetof(struct names, author) },
        { "model_version", offsetof(struct names, version) },
        { "model_organization", offsetof(struct names, organization) },
        { "model_description", offsetof(struct names, description) },
        { "model_finetune", offsetof(struct names, finetune) },
        { "model_basename", offsetof(struct names, basename) },
        { "model_size_label", offsetof(struct names, size_label) },
        { "model_creator", offsetof(struct names, author) },
        { "model_type", offsetof(struct names, basename) },
    };
    char *colon = strchr(line, ':');
    if (!colon || line[0] == ' ' || line[0] == '-' || line[0] == '#') {
        return;
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ') {
        v++;
    }
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\r')) {
        v[--n] = '\0';
    }
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        v++;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(line, keys[i].key) == 0 && v[0]) {
            set_if_empty((char *)nm + keys[i].off, v);
        }
    }
}

/* README.md's front matter (between a first line "---" and the next "---"), read from the
 * first CARD_HEAD bytes: the front matter is at the top, and a model card may be large. */
#define CARD_HEAD 65536
static lq_status read_card(const struct lq_source *s, struct names *nm, struct lq_error *err)
{
    char path[4096];
    bool exists = false;
    LQ_TRY(lq_input_member(s->path, "README.md", path, sizeof path, &exists, err));
    if (!exists) {
        return LQ_OK;
    }
    int fd = -1;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    char *text = lqi_malloc(CARD_HEAD + 1);
    if (!text) {
        close(fd);
        return lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    }
    size_t len = 0;
    for (ssize_t got = 1; got > 0 && len < CARD_HEAD; len += got > 0 ? (size_t)got : 0) {
        got = read(fd, text + len, CARD_HEAD - len);
        if (got < 0) {
            close(fd);
            lqi_free(text);
            return lqi_set_error(err, LQ_E_IO, "%s: cannot read: %s", path, strerror(errno));
        }
    }
    close(fd);
    text[len] = '\0';
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (line && (strcmp(line, "---") == 0 || strcmp(line, "---\r") == 0)) {
        while ((line = strtok_r(NULL, "\n", &save)) && strncmp(line, "---", 3) != 0) {
            card_line(line, nm);
        }
    }
    lqi_free(text);
    return LQ_OK;
}

lq_status lqi_source_write_hf_names(const struct lq_source *s, lq_gguf_writer *w,
                                    struct lq_error *err)
{
    struct names nm;
    memset(&nm, 0, sizeof nm);
    LQ_TRY(read_card(s, &nm, err));
    const int64_t total = lqi_source_total_params(s);
    const char *id = NULL;
    if (lq_hf_config_str(s->hf, "_name_or_path", &id, NULL) == LQ_OK) {
        int slashes = 0;
        for (const char *p = id; *p; p++) {
            slashes += *p == '/';
        }
        if (slashes <= 1) {
            id_components(id, total, &nm);
        }
    }
    char stem[NAME_CAP];
    const char *slash = strrchr(s->path, '/');
    snprintf(stem, sizeof stem, "%s", slash && slash[1] ? slash + 1 : s->path);
    for (size_t n = strlen(stem); n > 1 && stem[n - 1] == '/'; n--) {
        stem[n - 1] = '\0';
    }
    id_components(stem, total, &nm);
    set_if_empty(nm.name, stem);
    if (!nm.size_label[0] && total > 0) {
        lqi_size_label(total, nm.size_label, sizeof nm.size_label);
    }
    const struct { const char *key; const char *v; } out[] = {
        { "general.name", nm.name },           { "general.author", nm.author },
        { "general.version", nm.version },     { "general.organization", nm.organization },
        { "general.finetune", nm.finetune },   { "general.basename", nm.basename },
        { "general.description", nm.description }, { "general.size_label", nm.size_label },
    };
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        if (out[i].v[0]) {
            LQ_TRY(lq_gguf_writer_set_str(w, out[i].key, out[i].v, err));
        }
    }
    return LQ_OK;
}

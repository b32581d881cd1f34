/* recipe_ftypes.c - llama.cpp's file types: the one table of their names, numbers, default
 * tensor types and whether llama-quantize needs an importance matrix for them, and the name
 * lists help texts and messages print, made from it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lq/recipe.h"
#include "lqi.h"

// ---- file types -------------------------------------------------------------------------

struct ftype_row {
    const char *name;
    enum lq_ftype ftype;
    enum lq_type default_type;
    bool needs_imatrix; /* llama-quantize refuses it without --imatrix (see requires_imatrix) */
};

/* llama-quantize's file types, in its help's order within each family. */
static const struct ftype_row ftypes[] = {
    { "F32", LQ_FTYPE_ALL_F32, LQ_TYPE_F32, false },
    { "F16", LQ_FTYPE_MOSTLY_F16, LQ_TYPE_F16, false },
    { "BF16", LQ_FTYPE_MOSTLY_BF16, LQ_TYPE_BF16, false },
    { "Q8_0", LQ_FTYPE_MOSTLY_Q8_0, LQ_TYPE_Q8_0, false },
    { "Q4_0", LQ_FTYPE_MOSTLY_Q4_0, LQ_TYPE_Q4_0, false },
    { "Q4_1", LQ_FTYPE_MOSTLY_Q4_1, LQ_TYPE_Q4_1, false },
    { "Q5_0", LQ_FTYPE_MOSTLY_Q5_0, LQ_TYPE_Q5_0, false },
    { "Q5_1", LQ_FTYPE_MOSTLY_Q5_1, LQ_TYPE_Q5_1, false },
    { "Q2_K", LQ_FTYPE_MOSTLY_Q2_K, LQ_TYPE_Q2_K, false },
    { "Q2_K_S", LQ_FTYPE_MOSTLY_Q2_K_S, LQ_TYPE_Q2_K, true },
    { "Q3_K_S", LQ_FTYPE_MOSTLY_Q3_K_S, LQ_TYPE_Q3_K, false },
    { "Q3_K_M", LQ_FTYPE_MOSTLY_Q3_K_M, LQ_TYPE_Q3_K, false },
    { "Q3_K_L", LQ_FTYPE_MOSTLY_Q3_K_L, LQ_TYPE_Q3_K, false },
    { "Q4_K_S", LQ_FTYPE_MOSTLY_Q4_K_S, LQ_TYPE_Q4_K, false },
    { "Q4_K_M", LQ_FTYPE_MOSTLY_Q4_K_M, LQ_TYPE_Q4_K, false },
    { "Q5_K_S", LQ_FTYPE_MOSTLY_Q5_K_S, LQ_TYPE_Q5_K, false },
    { "Q5_K_M", LQ_FTYPE_MOSTLY_Q5_K_M, LQ_TYPE_Q5_K, false },
    { "Q6_K", LQ_FTYPE_MOSTLY_Q6_K, LQ_TYPE_Q6_K, false },
    { "IQ4_XS", LQ_FTYPE_MOSTLY_IQ4_XS, LQ_TYPE_IQ4_XS, false },
    { "IQ4_NL", LQ_FTYPE_MOSTLY_IQ4_NL, LQ_TYPE_IQ4_NL, false },
    { "IQ3_M", LQ_FTYPE_MOSTLY_IQ3_M, LQ_TYPE_IQ3_S, false },
    { "IQ3_S", LQ_FTYPE_MOSTLY_IQ3_S, LQ_TYPE_IQ3_S, false },
    { "IQ3_XS", LQ_FTYPE_MOSTLY_IQ3_XS, LQ_TYPE_IQ3_S, true },
    { "IQ3_XXS", LQ_FTYPE_MOSTLY_IQ3_XXS, LQ_TYPE_IQ3_XXS, true },
    { "IQ2_M", LQ_FTYPE_MOSTLY_IQ2_M, LQ_TYPE_IQ2_S, true },
    { "IQ2_S", LQ_FTYPE_MOSTLY_IQ2_S, LQ_TYPE_IQ2_XS, true },
    { "IQ2_XS", LQ_FTYPE_MOSTLY_IQ2_XS, LQ_TYPE_IQ2_XS, true },
    { "IQ2_XXS", LQ_FTYPE_MOSTLY_IQ2_XXS, LQ_TYPE_IQ2_XXS, true },
    { "IQ1_M", LQ_FTYPE_MOSTLY_IQ1_M, LQ_TYPE_IQ1_M, true },
    { "IQ1_S", LQ_FTYPE_MOSTLY_IQ1_S, LQ_TYPE_IQ1_S, true },
    { "TQ1_0", LQ_FTYPE_MOSTLY_TQ1_0, LQ_TYPE_TQ1_0, false },
    { "TQ2_0", LQ_FTYPE_MOSTLY_TQ2_0, LQ_TYPE_TQ2_0, false },
    { "MXFP4_MOE", LQ_FTYPE_MOSTLY_MXFP4_MOE, LQ_TYPE_MXFP4, false },
};
#define N_FTYPES (sizeof ftypes / sizeof ftypes[0])

/* Short spellings llama-quantize takes for the _M recipes. */
static const struct { const char *alias, *name; } ftype_aliases[] = {
    { "Q3_K", "Q3_K_M" }, { "Q4_K", "Q4_K_M" }, { "Q5_K", "Q5_K_M" },
};
#define N_ALIASES (sizeof ftype_aliases / sizeof ftype_aliases[0])

lq_status lq_ftype_from_name(const char *name, enum lq_ftype *out, struct lq_error *err)
{
    LQ_FAIL_IF(!name || !out, err, LQ_E_INVALID_ARG, "file type: NULL argument");
    for (size_t i = 0; i < N_ALIASES; i++) {
        if (strcasecmp(name, ftype_aliases[i].alias) == 0) {
            name = ftype_aliases[i].name;
        }
    }
    for (size_t i = 0; i < N_FTYPES; i++) {
        if (strcasecmp(name, ftypes[i].name) == 0) {
            *out = ftypes[i].ftype;
            return LQ_OK;
        }
    }
    return lqi_set_error(err, LQ_E_NOT_FOUND, "unknown file type '%s' (known: %s)", name,
                         lq_ftype_names());
}

static const struct ftype_row *ftype_row(enum lq_ftype ftype)
{
    for (size_t i = 0; i < N_FTYPES; i++) {
        if (ftypes[i].ftype == ftype) {
            return &ftypes[i];
        }
    }
    return NULL;
}

const char *lq_ftype_name(enum lq_ftype ftype)
{
    const struct ftype_row *r = ftype_row(ftype);
    return r ? r->name : "unknown";
}

int lq_ftype_default_type(enum lq_ftype ftype)
{
    const struct ftype_row *r = ftype_row(ftype);
    return r ? (int)r->default_type : -1;
}

bool lq_ftype_needs_imatrix(enum lq_ftype ftype)
{
    const struct ftype_row *r = ftype_row(ftype);
    return r && r->needs_imatrix;
}

size_t lq_ftype_list(enum lq_ftype *out, size_t cap)
{
    for (size_t i = 0; out && i < N_FTYPES && i < cap; i++) {
        out[i] = ftypes[i].ftype;
    }
    return N_FTYPES;
}

// ---- name lists for help texts and messages, made once from the table ----------------------

static char all_names[1024], imatrix_names[512];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void append(char *buf, size_t cap, size_t *off, const char *s)
{
    int n = snprintf(buf + *off, cap - *off, "%s%s", *off ? ", " : "", s);
    *off += n > 0 && (size_t)n < cap - *off ? (size_t)n : 0;
}

static void make_names(void)
{
    size_t off = 0, ioff = 0;
    for (size_t i = 0; i < N_FTYPES; i++) {
        char one[64];
        const char *alias = NULL;
        for (size_t a = 0; a < N_ALIASES; a++) {
            alias = strcmp(ftype_aliases[a].name, ftypes[i].name) == 0 ? ftype_aliases[a].alias
                                                                        : alias;
        }
        if (alias) {
            snprintf(one, sizeof one, "%s (%s)", ftypes[i].name, alias);
        } else {
            snprintf(one, sizeof one, "%s", ftypes[i].name);
        }
        append(all_names, sizeof all_names, &off, one);
        if (ftypes[i].needs_imatrix) {
            append(imatrix_names, sizeof imatrix_names, &ioff, ftypes[i].name);
        }
    }
}

const char *lq_ftype_names(void)
{
    pthread_once(&names_once, make_names);
    return all_names;
}

const char *lq_ftype_imatrix_names(void)
{
    pthread_once(&names_once, make_names);
    return imatrix_names;
}

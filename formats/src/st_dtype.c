/* st_dtype.c - the safetensors element types: names, bit widths, libquant equivalents.
 * Bit widths follow the reference crate's Dtype::bitsize() (huggingface/safetensors). */
#include "lq/safetensors.h"

#include <string.h>

struct st_dtype_row {
    const char *name;
    unsigned bits;
    int lq_type; /* -1: no libquant type holds these elements */
};

static const struct st_dtype_row st_dtypes[LQ_ST_DTYPE_COUNT] = {
    [LQ_ST_BOOL] = {"BOOL", 8, -1},
    [LQ_ST_F4] = {"F4", 4, -1},
    [LQ_ST_F6_E2M3] = {"F6_E2M3", 6, -1},
    [LQ_ST_F6_E3M2] = {"F6_E3M2", 6, -1},
    [LQ_ST_U8] = {"U8", 8, -1},
    [LQ_ST_I8] = {"I8", 8, LQ_TYPE_I8},
    [LQ_ST_F8_E5M2] = {"F8_E5M2", 8, -1},
    [LQ_ST_F8_E4M3] = {"F8_E4M3", 8, -1},
    [LQ_ST_F8_E8M0] = {"F8_E8M0", 8, -1},
    [LQ_ST_I16] = {"I16", 16, LQ_TYPE_I16},
    [LQ_ST_U16] = {"U16", 16, -1},
    [LQ_ST_F16] = {"F16", 16, LQ_TYPE_F16},
    [LQ_ST_BF16] = {"BF16", 16, LQ_TYPE_BF16},
    [LQ_ST_I32] = {"I32", 32, LQ_TYPE_I32},
    [LQ_ST_U32] = {"U32", 32, -1},
    [LQ_ST_F32] = {"F32", 32, LQ_TYPE_F32},
    [LQ_ST_C64] = {"C64", 64, -1},
    [LQ_ST_F64] = {"F64", 64, LQ_TYPE_F64},
    [LQ_ST_I64] = {"I64", 64, LQ_TYPE_I64},
    [LQ_ST_U64] = {"U64", 64, -1},
};

const char *lq_st_dtype_name(int dtype)
{
    if (dtype < 0 || dtype >= LQ_ST_DTYPE_COUNT) {
        return "unknown";
    }
    return st_dtypes[dtype].name;
}

unsigned lq_st_dtype_bits(int dtype)
{
    if (dtype < 0 || dtype >= LQ_ST_DTYPE_COUNT) {
        return 0;
    }
    return st_dtypes[dtype].bits;
}

int lq_st_dtype_from_name(const char *name)
{
    if (!name) {
        return -1;
    }
    for (int i = 0; i < LQ_ST_DTYPE_COUNT; i++) {
        if (strcmp(st_dtypes[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

int lq_st_dtype_lq_type(int dtype)
{
    if (dtype < 0 || dtype >= LQ_ST_DTYPE_COUNT) {
        return -1;
    }
    return st_dtypes[dtype].lq_type;
}

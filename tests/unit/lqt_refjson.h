/* lqt_refjson.h - compares a GGUF file with a llama.cpp reference description (<type>.json of
 * data/reference/llama.cpp/tiny-<family>/: file size and XXH3-64, every metadata key in file
 * order with its type and value (long arrays by the XXH3-64 of their payload), every tensor
 * in file order with its type, shape, offset, size and XXH3-64). */
#ifndef LQT_REFJSON_H
#define LQT_REFJSON_H

#include <stdbool.h>
#include <stddef.h>

/* What to compare. */
enum {
    LQT_REF_TENSORS = 1,  /* names, order, types, shapes, sizes, data hashes */
    LQT_REF_METADATA = 2, /* keys in order, types, values */
    LQT_REF_FILE = 4,     /* file size and whole-file hash (offsets included) */
    LQT_REF_ANY_ORDER = 8, /* tensors may come in another order (no positions, no offsets) */
    LQT_REF_NO_DATA = 16,  /* tensors: no data hashes (types, shapes, sizes only) */
};

/* Appends one line per difference to report (cap bytes, NUL-terminated) and returns how many
 * differences were found (0: identical in what `what` covers). A file that cannot be read
 * counts as one difference. */
int lqt_ref_compare(const char *gguf_path, const char *json_path, unsigned what, char *report,
                    size_t cap);

#endif

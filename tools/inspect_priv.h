/* inspect_priv.h - what the per-format halves of the inspect view share. */
#ifndef LQ_INSPECT_PRIV_H
#define LQ_INSPECT_PRIV_H

#include "cli.h"
#include "inspect_view.h"

#define LQ_TRY_CLI(expr)                                                                   \
    do {                                                                                   \
        lq_status rc_ = (expr);                                                            \
        if (rc_ != LQ_OK) {                                                                \
            return rc_;                                                                    \
        }                                                                                  \
    } while (0)

lq_status ivi_nomem(struct lq_error *err);
void ivi_print_quoted(FILE *f, const char *s, size_t len, size_t max);

lq_status ivi_open_gguf(struct inspect_view *v, struct lq_error *err);
void ivi_gguf_metadata_print(const struct inspect_view *v, FILE *f);
json_t *ivi_gguf_metadata_json(const struct inspect_view *v);
int64_t ivi_gguf_metadata_count(const struct inspect_view *v);
void ivi_gguf_close(struct inspect_view *v);

lq_status ivi_open_safetensors(struct inspect_view *v, struct lq_error *err);
lq_status ivi_open_hf(struct inspect_view *v, struct lq_error *err);
void ivi_st_metadata_print(const struct inspect_view *v, FILE *f);
json_t *ivi_st_metadata_json(const struct inspect_view *v);
int64_t ivi_st_metadata_count(const struct inspect_view *v);
void ivi_st_close(struct inspect_view *v);

#endif

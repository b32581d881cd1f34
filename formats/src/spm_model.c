/* spm_model.c - SentencePiece ModelProto parsing: pieces, scores, types and the few trainer
 * and normalizer settings a GGUF converter needs. */
#include "lq/spm_model.h"

#include <string.h>

#include "file_map.h"
#include "lqi.h"
#include "protobuf.h"

struct lq_spm {
    int64_t n;
    const char **pieces; /* n pointers into text */
    char *text;          /* the pieces, each NUL-terminated */
    float *scores;
    int32_t *types;
    struct lq_spm_info info;
    char *normalizer_name;
    char *charsmap;
};

#define AT(r, f) (r)->name, (unsigned long long)(f)->offset

static lq_status expect_wire(const struct lqi_pb *r, const struct lqi_pb_field *f,
                             enum lqi_pb_wire want, const char *what, struct lq_error *err)
{
    LQ_FAIL_IF(f->wire != want, err, LQ_E_FORMAT,
               "%s: offset %llu: %s (field %u) has wire type %d, expected %d", AT(r, f), what,
               f->number, (int)f->wire, (int)want);
    return LQ_OK;
}

// ---- pieces ----

/* Pass one: how many pieces, and a bound on their text (each is inside its message). */
static lq_status count_pieces(struct lqi_pb r, int64_t *n, uint64_t *text_bound,
                              struct lq_error *err)
{
    *n = 0;
    *text_bound = 0;
    struct lqi_pb_field f;
    while (!lqi_pb_at_end(&r)) {
        LQ_TRY(lqi_pb_next(&r, &f, err));
        if (f.number == 1) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_LEN, "ModelProto.pieces", err));
            LQ_FAIL_IF(*n == INT32_MAX, err, LQ_E_RANGE,
                       "%s: offset %llu: more pieces than int32 token ids", AT(&r, &f));
            (*n)++;
            *text_bound += f.u + 1;
        }
    }
    LQ_FAIL_IF(*n == 0, err, LQ_E_FORMAT, "%s: no pieces (not a SentencePiece model?)", r.name);
    return LQ_OK;
}

static lq_status check_piece(const struct lqi_pb *r, const struct lqi_pb_field *at, int64_t id,
                             const struct lqi_pb *text, int32_t type, struct lq_error *err)
{
    size_t len = (size_t)(text->end - text->p);
    LQ_FAIL_IF(len == 0, err, LQ_E_FORMAT, "%s: offset %llu: piece %lld is empty", AT(r, at),
               (long long)id);
    LQ_FAIL_IF(memchr(text->p, 0, len) != NULL, err, LQ_E_FORMAT,
               "%s: offset %llu: piece %lld holds a NUL byte", AT(r, at), (long long)id);
    LQ_FAIL_IF(type < LQ_SPM_NORMAL || type > LQ_SPM_BYTE, err, LQ_E_FORMAT,
               "%s: offset %llu: piece %lld has unknown type %d", AT(r, at), (long long)id,
               type);
    return LQ_OK;
}

/* One SentencePiece message; its text is appended at *cursor. */
static lq_status parse_piece(lq_spm *sp, int64_t id, const struct lqi_pb_field *msg,
                             char **cursor, struct lq_error *err)
{
    struct lqi_pb r = msg->sub;
    struct lqi_pb text = { r.p, r.p, r.base, r.name };
    float score = 0.0f;
    int32_t type = LQ_SPM_NORMAL;
    struct lqi_pb_field f;
    while (!lqi_pb_at_end(&r)) {
        LQ_TRY(lqi_pb_next(&r, &f, err));
        if (f.number == 1) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_LEN, "SentencePiece.piece", err));
            text = f.sub;
        } else if (f.number == 2) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_FIXED32, "SentencePiece.score", err));
            uint32_t bits = (uint32_t)f.u;
            memcpy(&score, &bits, sizeof score);
        } else if (f.number == 3) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_VARINT, "SentencePiece.type", err));
            type = (int32_t)(uint32_t)f.u;
        }
    }
    LQ_TRY(check_piece(&msg->sub, msg, id, &text, type, err));
    size_t len = (size_t)(text.end - text.p);
    memcpy(*cursor, text.p, len);
    (*cursor)[len] = '\0';
    sp->pieces[id] = *cursor;
    *cursor += len + 1;
    sp->scores[id] = score;
    sp->types[id] = type;
    return LQ_OK;
}

// ---- trainer and normalizer specs ----

/* An int32 field: negative values arrive sign-extended to 64 bits. */
static lq_status get_i32(const struct lqi_pb *r, const struct lqi_pb_field *f, const char *what,
                         int32_t *out, struct lq_error *err)
{
    LQ_TRY(expect_wire(r, f, LQI_PB_VARINT, what, err));
    *out = (int32_t)(uint32_t)f->u;
    return LQ_OK;
}

static lq_status get_bool(const struct lqi_pb *r, const struct lqi_pb_field *f, const char *what,
                          bool *out, struct lq_error *err)
{
    LQ_TRY(expect_wire(r, f, LQI_PB_VARINT, what, err));
    *out = f->u != 0;
    return LQ_OK;
}

static lq_status parse_trainer(struct lq_spm_info *in, struct lqi_pb r, struct lq_error *err)
{
    struct lqi_pb_field f;
    while (!lqi_pb_at_end(&r)) {
        LQ_TRY(lqi_pb_next(&r, &f, err));
        switch (f.number) {
        case 3: LQ_TRY(get_i32(&r, &f, "TrainerSpec.model_type", &in->model_type, err)); break;
        case 4: LQ_TRY(get_i32(&r, &f, "TrainerSpec.vocab_size", &in->vocab_size, err)); break;
        case 35: LQ_TRY(get_bool(&r, &f, "TrainerSpec.byte_fallback", &in->byte_fallback, err));
            break;
        case 40: LQ_TRY(get_i32(&r, &f, "TrainerSpec.unk_id", &in->unk_id, err)); break;
        case 41: LQ_TRY(get_i32(&r, &f, "TrainerSpec.bos_id", &in->bos_id, err)); break;
        case 42: LQ_TRY(get_i32(&r, &f, "TrainerSpec.eos_id", &in->eos_id, err)); break;
        case 43: LQ_TRY(get_i32(&r, &f, "TrainerSpec.pad_id", &in->pad_id, err)); break;
        default: break;
        }
    }
    return LQ_OK;
}

/* Replaces *dst with a NUL-terminated copy of a LEN field's bytes. */
static lq_status copy_bytes(const struct lqi_pb_field *f, char **dst, struct lq_error *err)
{
    char *p = lqi_strndup((const char *)f->sub.p, (size_t)f->u);
    LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "%s: out of memory", f->sub.name);
    lqi_free(*dst);
    *dst = p;
    return LQ_OK;
}

static lq_status parse_normalizer(lq_spm *sp, struct lqi_pb r, struct lq_error *err)
{
    struct lq_spm_info *in = &sp->info;
    struct lqi_pb_field f;
    while (!lqi_pb_at_end(&r)) {
        LQ_TRY(lqi_pb_next(&r, &f, err));
        if (f.number == 1 || f.number == 2) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_LEN, "NormalizerSpec string", err));
        }
        if (f.number == 1) {
            LQ_TRY(copy_bytes(&f, &sp->normalizer_name, err));
        } else if (f.number == 2) {
            LQ_TRY(copy_bytes(&f, &sp->charsmap, err));
            in->precompiled_charsmap_size = (size_t)f.u;
        } else if (f.number == 3) {
            LQ_TRY(get_bool(&r, &f, "NormalizerSpec.add_dummy_prefix", &in->add_dummy_prefix,
                            err));
        } else if (f.number == 4) {
            LQ_TRY(get_bool(&r, &f, "NormalizerSpec.remove_extra_whitespaces",
                            &in->remove_extra_whitespaces, err));
        } else if (f.number == 5) {
            LQ_TRY(get_bool(&r, &f, "NormalizerSpec.escape_whitespaces",
                            &in->escape_whitespaces, err));
        }
    }
    return LQ_OK;
}

// ---- the model ----

static lq_status alloc_arrays(lq_spm *sp, int64_t n, uint64_t text_bound, const char *name,
                              struct lq_error *err)
{
    LQ_FAIL_IF(text_bound > SIZE_MAX, err, LQ_E_RANGE, "%s: pieces too large", name);
    sp->n = n;
    sp->pieces = lqi_calloc((size_t)n, sizeof *sp->pieces);
    sp->scores = lqi_calloc((size_t)n, sizeof *sp->scores);
    sp->types = lqi_calloc((size_t)n, sizeof *sp->types);
    sp->text = lqi_malloc((size_t)text_bound);
    LQ_FAIL_IF(!sp->pieces || !sp->scores || !sp->types || !sp->text, err, LQ_E_NOMEM,
               "%s: out of memory for %lld pieces", name, (long long)n);
    return LQ_OK;
}

/* Pass two: every top-level field, in file order (later specs override earlier fields, as
 * protobuf merges repeated singular messages). */
static lq_status parse_model(lq_spm *sp, struct lqi_pb r, struct lq_error *err)
{
    char *cursor = sp->text;
    int64_t id = 0;
    struct lqi_pb_field f;
    while (!lqi_pb_at_end(&r)) {
        LQ_TRY(lqi_pb_next(&r, &f, err));
        if (f.number == 1) {
            LQ_TRY(parse_piece(sp, id++, &f, &cursor, err));
        } else if (f.number == 2) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_LEN, "ModelProto.trainer_spec", err));
            LQ_TRY(parse_trainer(&sp->info, f.sub, err));
        } else if (f.number == 3) {
            LQ_TRY(expect_wire(&r, &f, LQI_PB_LEN, "ModelProto.normalizer_spec", err));
            LQ_TRY(parse_normalizer(sp, f.sub, err));
        }
    }
    return LQ_OK;
}

static void set_defaults(struct lq_spm_info *in)
{
    memset(in, 0, sizeof *in);
    in->model_type = LQ_SPM_MODEL_UNIGRAM;
    in->unk_id = 0;
    in->bos_id = 1;
    in->eos_id = 2;
    in->pad_id = -1;
    in->add_dummy_prefix = true;
    in->remove_extra_whitespaces = true;
    in->escape_whitespaces = true;
}

lq_status lq_spm_open_memory(const void *data, size_t size, const char *name, lq_spm **out,
                             struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "spm: out is NULL");
    *out = NULL;
    name = name ? name : "tokenizer.model";
    LQ_FAIL_IF(!data && size, err, LQ_E_INVALID_ARG, "%s: NULL data", name);
    const unsigned char *p = data ? data : (const unsigned char *)"";
    struct lqi_pb r = { p, p + size, p, name };
    int64_t n;
    uint64_t text_bound;
    LQ_TRY(count_pieces(r, &n, &text_bound, err));
    lq_spm *sp = lqi_calloc(1, sizeof *sp);
    LQ_FAIL_IF(!sp, err, LQ_E_NOMEM, "%s: out of memory", name);
    set_defaults(&sp->info);
    lq_status rc = alloc_arrays(sp, n, text_bound, name, err);
    if (rc == LQ_OK) {
        rc = parse_model(sp, r, err);
    }
    if (rc != LQ_OK) {
        lq_spm_free(sp);
        return rc;
    }
    sp->info.normalizer_name = sp->normalizer_name ? sp->normalizer_name : "";
    sp->info.precompiled_charsmap = (const unsigned char *)sp->charsmap;
    *out = sp;
    return LQ_OK;
}

lq_status lq_spm_open(const char *path, lq_spm **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || !path, err, LQ_E_INVALID_ARG, "spm: NULL path or out");
    *out = NULL;
    struct lqi_file_map m;
    LQ_TRY(lqi_file_map_open(path, &m, err));
    lq_status rc = lq_spm_open_memory(m.data, (size_t)m.size, path, out, err);
    lqi_file_map_close(&m);
    return rc;
}

void lq_spm_free(lq_spm *sp)
{
    if (!sp) {
        return;
    }
    lqi_free(sp->pieces);
    lqi_free(sp->text);
    lqi_free(sp->scores);
    lqi_free(sp->types);
    lqi_free(sp->normalizer_name);
    lqi_free(sp->charsmap);
    lqi_free(sp);
}

int64_t lq_spm_n_pieces(const lq_spm *sp)
{
    return sp ? sp->n : 0;
}

const char *const *lq_spm_pieces(const lq_spm *sp)
{
    return sp ? sp->pieces : NULL;
}

const float *lq_spm_scores(const lq_spm *sp)
{
    return sp ? sp->scores : NULL;
}

const int32_t *lq_spm_types(const lq_spm *sp)
{
    return sp ? sp->types : NULL;
}

const struct lq_spm_info *lq_spm_info(const lq_spm *sp)
{
    return sp ? &sp->info : NULL;
}

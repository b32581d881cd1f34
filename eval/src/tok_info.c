/* tok_info.c - read-only facts about a tokenizer's vocabulary. */
#include "tok_impl.h"

static bool valid(const lq_tokenizer *t, int32_t id)
{
    return t && id >= 0 && id < t->n_vocab;
}

int32_t lq_tokenizer_n_vocab(const lq_tokenizer *t)
{
    return t ? t->n_vocab : 0;
}

int32_t lq_tokenizer_bos(const lq_tokenizer *t)
{
    return t ? t->bos : LQ_TOKEN_NULL;
}

int32_t lq_tokenizer_eos(const lq_tokenizer *t)
{
    return t ? t->eos : LQ_TOKEN_NULL;
}

int32_t lq_tokenizer_eot(const lq_tokenizer *t)
{
    return t ? t->eot : LQ_TOKEN_NULL;
}

int32_t lq_tokenizer_unk(const lq_tokenizer *t)
{
    return t ? t->unk : LQ_TOKEN_NULL;
}

int32_t lq_tokenizer_pad(const lq_tokenizer *t)
{
    return t ? t->pad : LQ_TOKEN_NULL;
}

int32_t lq_tokenizer_nl(const lq_tokenizer *t)
{
    return t ? t->nl : LQ_TOKEN_NULL;
}

bool lq_tokenizer_add_bos(const lq_tokenizer *t)
{
    return t && t->add_bos;
}

bool lq_tokenizer_add_eos(const lq_tokenizer *t)
{
    return t && t->add_eos;
}

bool lq_tokenizer_is_eog(const lq_tokenizer *t, int32_t id)
{
    for (size_t i = 0; t && id != LQ_TOKEN_NULL && i < t->n_eog; i++) {
        if (t->eog[i] == id) {
            return true;
        }
    }
    return false;
}

const char *lq_tokenizer_token_text(const lq_tokenizer *t, int32_t id)
{
    return valid(t, id) ? lqi_tok_text(t, id) : NULL;
}

float lq_tokenizer_token_score(const lq_tokenizer *t, int32_t id)
{
    return valid(t, id) ? t->tokens[id].score : 0.0f;
}

unsigned lq_tokenizer_token_attr(const lq_tokenizer *t, int32_t id)
{
    return valid(t, id) ? t->tokens[id].attr : 0u;
}

int32_t lq_tokenizer_find(const lq_tokenizer *t, const char *text, size_t len)
{
    return t && (text || !len) ? lqi_tok_find(t, text, len) : LQ_TOKEN_NULL;
}

const char *lq_tokenizer_model_name(const lq_tokenizer *t)
{
    return t ? t->model : NULL;
}

const char *lq_tokenizer_pre_name(const lq_tokenizer *t)
{
    return t ? t->pre : NULL;
}

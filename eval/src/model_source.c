/* model_source.c - a Llama model and tokenizer from any lq_source (Hugging Face folders,
 * GPTQ folders, PyTorch checkpoints, llama2.c): the source's GGUF metadata gives the
 * hyperparameters and tokenizer, its tensors the weights (borrowed from the mapping, except
 * q/k rows, which are read once into GGUF row order). */
#include "model_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lq/source.h"
#include "lqi.h"
#include "model_impl.h"

struct src_user {
    lq_source *src;
    void **bufs; /* q/k tensors permuted into GGUF order (one per tensor at most) */
};

static bool src_find_tensor(void *user, const char *name, struct lq_model_tensor *out)
{
    struct src_user *u = user;
    const int64_t id = lq_source_find_tensor(u->src, name);
    if (id < 0) {
        return false;
    }
    const struct lq_source_tensor *t = lq_source_tensor(u->src, id);
    const void *data = t->data;
    if (t->permute_heads > 0 || !data) {
        if (!u->bufs[id]) {
            u->bufs[id] = lqi_malloc(t->nbytes ? t->nbytes : 1);
            if (!u->bufs[id] || lq_source_read_raw(u->src, id, u->bufs[id], NULL) != LQ_OK) {
                return false; /* the model reports the tensor as missing */
            }
        }
        data = u->bufs[id];
    }
    *out = (struct lq_model_tensor){.type = t->type, .data = data, .nbytes = t->nbytes};
    for (int i = 0; i < 4; i++) {
        out->ne[i] = t->ne[i];
    }
    return true;
}

static void src_close(void *user)
{
    struct src_user *u = user;
    const int64_t n = lq_source_n_tensors(u->src);
    for (int64_t i = 0; i < n; i++) {
        lqi_free(u->bufs[i]);
    }
    lqi_free(u->bufs);
    lq_source_free(u->src);
    lqi_free(u);
}

/* The metadata a GGUF conversion would carry, written to a scratch file and read back:
 * the one place the llama.* and tokenizer keys are derived from a source. */
static lq_status read_meta(const lq_source *src, struct lq_model_hparams *hp, lq_tokenizer **tok,
                           struct lq_error *err)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/lq-meta-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    LQ_FAIL_IF(!mkdtemp(dir), err, LQ_E_IO, "%s: cannot create a scratch folder for metadata", dir);
    snprintf(file, sizeof file, "%s/meta.gguf", dir);
    lq_gguf_writer *w = NULL;
    lq_gguf *g = NULL;
    lq_status rc = lq_gguf_writer_open(file, &w, err);
    rc = rc == LQ_OK ? lq_source_write_metadata(src, w, err) : rc;
    rc = rc == LQ_OK ? lq_gguf_writer_finish(w, err) : rc;
    rc = rc == LQ_OK ? lq_gguf_open(file, &g, err) : rc;
    rc = rc == LQ_OK ? lqi_model_hparams_gguf(g, lq_source_path(src), hp, err) : rc;
    if (rc == LQ_OK && tok) {
        rc = lq_tokenizer_from_gguf(g, tok, err);
    }
    lq_gguf_free(g);
    lq_gguf_writer_free(w);
    unlink(file);
    rmdir(dir);
    return rc;
}

lq_status lqi_model_open_any_source(const char *path, const struct lq_model_params *params,
                                    lq_model **m, lq_tokenizer **tok, struct lq_error *err)
{
    lq_source *src = NULL;
    LQ_TRY(lq_source_open(path, &src, err));
    struct lq_model_hparams hp;
    lq_status rc = read_meta(src, &hp, tok, err);
    struct src_user *u = rc == LQ_OK ? lqi_calloc(1, sizeof *u) : NULL;
    if (rc == LQ_OK && u) {
        u->src = src;
        u->bufs = lqi_calloc((size_t)lq_source_n_tensors(src) + 1, sizeof *u->bufs);
    }
    if (rc == LQ_OK && (!u || !u->bufs)) {
        lqi_free(u);
        rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    }
    if (rc != LQ_OK) {
        lq_source_free(src);
        return rc;
    }
    const int64_t emb = lq_source_find_tensor(src, "token_embd.weight");
    hp.n_vocab = emb >= 0 ? lq_source_tensor(src, emb)->ne[1] : lq_source_hparams(src)->n_vocab;
    const struct lq_model_source ms = {
        .name = path, .user = u, .find_tensor = src_find_tensor, .close = src_close};
    return lq_model_open_source(&hp, &ms, params, m, err);
}

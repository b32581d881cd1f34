/* fuzz_tokenizer_json.c - arbitrary bytes as a Hugging Face tokenizer.json, parsed from memory
 * into the tokenizer.ggml.* keys `quant convert` writes, for a vocabulary as large as the
 * file's own entries (what config.json's vocab_size would say); when that succeeds the
 * metadata is serialized and read back. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "source_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    size_t n = json_object_size(json_object_get(json_object_get(root, "model"), "vocab")) +
               json_array_size(json_object_get(root, "added_tokens"));
    json_decref(root);
    n = n == 0 ? 1 : n > 65536 ? 65536 : n;
    struct lq_error err;
    lq_gguf_writer *w = NULL;
    if (lq_gguf_writer_open_memory(&w, &err) != LQ_OK) {
        abort();
    }
    size_t bytes = 0;
    /* both readings of a SentencePiece-style file, by the input's length */
    if (lqi_source_bpe_json((const char *)data, size, "fuzz/tokenizer.json", (int64_t)n, size & 1,
                            w, &err) == LQ_OK &&
        lq_gguf_writer_header_bytes(w, NULL, 0, &bytes, &err) == LQ_OK) {
        void *buf = malloc(bytes);
        lq_gguf *g = NULL;
        if (!buf || lq_gguf_writer_header_bytes(w, buf, bytes, &bytes, &err) != LQ_OK ||
            lq_gguf_open_memory(buf, bytes, "fuzz", &g, &err) != LQ_OK ||
            lq_gguf_find_key(g, "tokenizer.ggml.tokens") < 0) {
            abort(); /* what the writer accepted, the reader must read */
        }
        lq_gguf_free(g);
        free(buf);
    }
    lq_gguf_writer_free(w);
    return 0;
}

#!/usr/bin/env python3
"""vocab_hash.py - FNV-1a 64 hash of a GGUF file's vocabulary, the expected value of
tests/unit/test_spm_model.c (which hashes what lq_spm reads from tokenizer.model the same way).

Hashed per token, in id order: length (uint64 LE), the token bytes, score (float32 LE bits),
type (int32 LE), from tokenizer.ggml.tokens / scores / token_type. Pure Python, standard
library only, independent of libquant's readers.

usage: scripts/vocab_hash.py FILE.gguf
"""
import struct
import sys

SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q',
          12: 'd'}


class Reader:
    def __init__(self, data):
        self.b, self.o = data, 0

    def take(self, fmt):
        v = struct.unpack_from('<' + fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take('Q')
        s = self.b[self.o:self.o + n]
        self.o += n
        return s

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take('I'), self.take('Q')
            return [self.value(et) for _ in range(n)]
        return self.take(SCALAR[t])


def read_kv(path):
    r = Reader(open(path, 'rb').read())
    assert r.b[:4] == b'GGUF', 'not a GGUF file'
    r.o = 4
    version = r.take('I')
    assert version in (2, 3), 'GGUF v2/v3 only'
    r.take('Q')
    kv = {}
    for _ in range(r.take('Q')):
        key = r.string().decode()
        kv[key] = r.value(r.take('I'))
    return kv


def fnv1a(h, data):
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


def main():
    kv = read_kv(sys.argv[1])
    toks = kv['tokenizer.ggml.tokens']
    h = 0xcbf29ce484222325
    for t, s, ty in zip(toks, kv['tokenizer.ggml.scores'], kv['tokenizer.ggml.token_type']):
        h = fnv1a(h, struct.pack('<Q', len(t)) + t + struct.pack('<f', s) + struct.pack('<i', ty))
    print('%d tokens, hash 0x%016x' % (len(toks), h))


if __name__ == '__main__':
    main()

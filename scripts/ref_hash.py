#!/usr/bin/env python3
"""ref_hash.py - FNV-1a 64 hashes of reference files' vocabularies or tensors: the expected
values of tests/unit/test_spm_model.c, test_llama2c.c and test_pytorch.c, which hash what
libquant's readers return the same way. Pure Python (standard library only), independent of
libquant. GGUF v1-v3 and safetensors.

  vocab:       (GGUF) per token, in id order: length (uint64 LE), the token bytes, score
               (float32 LE bits), type (int32 LE), from tokenizer.ggml.tokens / scores /
               token_type.
  tensors:     (GGUF, F32 only) per tensor, sorted by name (bytewise), skipping names given
               with --skip: the name bytes, a NUL, ne[0..n_dims-1] (int64 LE), the data bytes.
  safetensors: per tensor, sorted by name: the name bytes, a NUL, shape[0..n-1] (int64 LE,
               file order), the data bytes.

usage: scripts/ref_hash.py vocab FILE.gguf
       scripts/ref_hash.py tensors FILE.gguf [--skip NAME]...
       scripts/ref_hash.py safetensors FILE.safetensors
"""
import json
import struct
import sys

SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q',
          12: 'd'}
F32 = 0


class Reader:
    def __init__(self, data):
        self.b, self.o, self.version = data, 0, 3

    def take(self, fmt):
        v = struct.unpack_from('<' + fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def count(self):
        return self.take('I' if self.version == 1 else 'Q')

    def string(self):
        n = self.count()
        s = self.b[self.o:self.o + n]
        self.o += n
        return s

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take('I'), self.count()
            return [self.value(et) for _ in range(n)]
        return self.take(SCALAR[t])


def read(path):
    r = Reader(open(path, 'rb').read())
    assert r.b[:4] == b'GGUF', 'not a GGUF file'
    r.o = 4
    r.version = r.take('I')
    n_tensors, n_kv = r.count(), r.count()
    kv = {}
    for _ in range(n_kv):
        key = r.string().decode()
        kv[key] = r.value(r.take('I'))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        ne = [r.count() for _ in range(r.take('I'))]
        infos.append((name, ne, r.take('I'), r.take('Q')))
    align = kv.get('general.alignment', 32)
    data = (r.o + align - 1) // align * align
    return r.b, kv, infos, data


def fnv1a(h, data):
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


def vocab_hash(kv):
    h = 0xcbf29ce484222325
    toks = kv['tokenizer.ggml.tokens']
    for t, s, ty in zip(toks, kv['tokenizer.ggml.scores'], kv['tokenizer.ggml.token_type']):
        h = fnv1a(h, struct.pack('<Q', len(t)) + t + struct.pack('<f', s) + struct.pack('<i', ty))
    return len(toks), h


def tensor_hash(b, infos, data, skip):
    h, n = 0xcbf29ce484222325, 0
    for name, ne, typ, off in sorted(infos):
        if name.decode() in skip:
            continue
        assert typ == F32, 'F32 tensors only'
        count = 1
        for x in ne:
            count *= x
        h = fnv1a(h, name + b'\0' + b''.join(struct.pack('<q', x) for x in ne))
        h = fnv1a(h, b[data + off:data + off + 4 * count])
        n += 1
    return n, h


def safetensors_hash(path):
    b = open(path, 'rb').read()
    n = struct.unpack_from('<Q', b, 0)[0]
    header = json.loads(b[8:8 + n])
    header.pop('__metadata__', None)
    h = 0xcbf29ce484222325
    for name in sorted(header, key=lambda k: k.encode()):
        t = header[name]
        begin, end = t['data_offsets']
        h = fnv1a(h, name.encode() + b'\0' + b''.join(struct.pack('<q', x) for x in t['shape']))
        h = fnv1a(h, b[8 + n + begin:8 + n + end])
    return len(header), h


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == 'safetensors':
        print('%d tensors, hash 0x%016x' % safetensors_hash(path))
        return
    b, kv, infos, data = read(path)
    if mode == 'vocab':
        n, h = vocab_hash(kv)
        print('%d tokens, hash 0x%016x' % (n, h))
    else:
        skip = [sys.argv[i + 1] for i in range(3, len(sys.argv) - 1) if sys.argv[i] == '--skip']
        n, h = tensor_hash(b, infos, data, skip)
        print('%d tensors, hash 0x%016x' % (n, h))


if __name__ == '__main__':
    main()

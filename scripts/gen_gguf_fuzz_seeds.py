#!/usr/bin/env python3
"""Writes the seed corpus of the gguf_read fuzz target (tests/fuzz/corpus/gguf_read/):
small GGUF files, valid and broken, in versions 1 to 3. Standard library only.
Usage: scripts/gen_gguf_fuzz_seeds.py [OUT_DIR]"""
import os
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: 'B', I8: 'b', U16: 'H', I16: 'h', U32: 'I', I32: 'i', F32: 'f', BOOL: '?',
          U64: 'Q', I64: 'q', F64: 'd'}


class W:
    def __init__(self, version):
        self.v = version
        self.b = bytearray()

    def put(self, fmt, *x):
        self.b += struct.pack('<' + fmt, *x)

    def cnt(self, n):
        self.put('I' if self.v == 1 else 'Q', n)

    def s(self, text):
        raw = text.encode() if isinstance(text, str) else text
        self.cnt(len(raw))
        self.b += raw

    def val(self, t, x):
        if t == STR:
            self.s(x)
        elif t == ARR:
            et, items = x
            self.put('I', et)
            self.cnt(len(items))
            for it in items:
                self.val(et, it)
        else:
            self.put(SCALAR[t], x)


def gguf(version, kvs, tensors, align=32, data=True):
    """tensors: (name, ne list, ggml type, bytes per tensor)."""
    w = W(version)
    w.b += b'GGUF'
    w.put('I', version)
    w.cnt(len(tensors))
    w.cnt(len(kvs))
    for k, t, x in kvs:
        w.s(k)
        w.put('I', t)
        w.val(t, x)
    off = 0
    offs = []
    for name, ne, ty, nbytes in tensors:
        w.s(name)
        w.put('I', len(ne))
        for n in ne:
            w.cnt(n)
        w.put('I', ty)
        w.put('Q', off)
        offs.append(off)
        off += (nbytes + align - 1) // align * align
    if data and tensors:
        w.b += b'\0' * (-len(w.b) % align)
        blob = bytearray()
        for (name, ne, ty, nbytes), o in zip(tensors, offs):
            blob += b'\0' * (o - len(blob))
            blob += bytes((i * 13 + 7) & 255 for i in range(nbytes))
        w.b += blob
    return bytes(w.b)


KVS = [
    ('general.architecture', STR, 'llama'),
    ('a.u8', U8, 200), ('a.i8', I8, -5), ('a.u16', U16, 60000), ('a.i16', I16, -3),
    ('a.u32', U32, 7), ('a.i32', I32, -7), ('a.f32', F32, 1.5), ('a.bool', BOOL, True),
    ('a.u64', U64, 2**40), ('a.i64', I64, -2**40), ('a.f64', F64, -2.25),
    ('a.strs', ARR, (STR, ['<unk>', '', 'abc'])),
    ('a.floats', ARR, (F32, [0.5, -1.0, 2.0])),
    ('a.nested', ARR, (ARR, [(I32, [1, 2]), (U8, []), (STR, ['x'])])),
]
TENSORS = [('token_embd.weight', [4, 3], 0, 48), ('blk.0.attn_q.weight', [32, 2], 8, 68),
           ('output_norm.weight', [5], 1, 10)]


def seeds():
    yield 'valid-v3.gguf', gguf(3, KVS, TENSORS)
    yield 'valid-v2-align64.gguf', gguf(2, KVS + [('general.alignment', U32, 64)], TENSORS, 64)
    yield 'valid-v1.gguf', gguf(1, KVS, TENSORS)
    yield 'vocab-only-v3.gguf', gguf(3, KVS[:1] + [('t.tokens', ARR, (STR, ['a', 'b', 'c']))], [])
    yield 'q4k-v3.gguf', gguf(3, KVS[:1], [('w', [256, 2], 12, 288)])
    yield 'bad-value-type-13.gguf', (b'GGUF' + struct.pack('<IQQ', 3, 0, 1) +
                                     struct.pack('<Q', 1) + b'k' + struct.pack('<I', 13))
    yield 'bad-alignment-3.gguf', gguf(3, [('general.alignment', U32, 3)], TENSORS[:1])
    yield 'bad-overlap.gguf', overlap()
    yield 'truncated-v3.gguf', gguf(3, KVS, TENSORS)[:300]


def overlap():
    b = bytearray(gguf(3, KVS[:1], TENSORS[:2]))
    # second tensor's offset field (last 8 bytes of its info) -> 32, inside the first
    name = b'blk.0.attn_q.weight'
    at = b.index(name) + len(name) + 4 + 16 + 4
    b[at:at + 8] = struct.pack('<Q', 32)
    return bytes(b)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), '..', 'tests', 'fuzz', 'corpus', 'gguf_read')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        assert len(data) < 64 * 1024
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        print(name, len(data))


if __name__ == '__main__':
    main()

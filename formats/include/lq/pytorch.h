/*
 * lq/pytorch.h - reading PyTorch state-dict checkpoints (pytorch_model.bin, torch.save's zip
 * format, torch >= 1.6) without Python and without executing anything.
 *
 * File layout: a zip archive (members stored uncompressed, data 64-byte aligned by torch):
 *   ARCHIVE/data.pkl     the pickled object (protocol 2 by default): here a dict or
 *                        OrderedDict of name -> tensor, each tensor pickled as
 *                        torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 *                        stride, requires_grad, backward_hooks[, metadata]), possibly wrapped
 *                        in torch._utils._rebuild_parameter, where storage is a persistent id
 *                        ('storage', torch.<Type>Storage, key, location, numel)
 *   ARCHIVE/data/<key>   the raw little-endian bytes of each storage
 *   ARCHIVE/version, ARCHIVE/byteorder ("little"; absent in older files), ...
 *
 * The unpickler accepts only the opcodes torch.save uses for state dicts (PROTO, FRAME, STOP,
 * MARK, EMPTY_DICT/LIST/TUPLE, TUPLE/TUPLE1-3, BINUNICODE/SHORT_BINUNICODE/BINUNICODE8,
 * BININT/BININT1/BININT2/LONG1, NONE, NEWTRUE/NEWFALSE, BINPUT/LONG_BINPUT/MEMOIZE,
 * BINGET/LONG_BINGET, GLOBAL/STACK_GLOBAL, BINPERSID, REDUCE, SETITEM(S), APPEND(S), BUILD)
 * and only the globals collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter and torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,
 * Byte,Bool}Storage. Anything else is an LQ_E_FORMAT error naming the opcode or global and
 * its offset in data.pkl.
 *
 * Limits (memory bounded by the pickle's size): the unpickler's stack holds at most 2^20
 * values (torch.save batches items by 1,000), it makes at most one value per opcode byte and
 * 2^23 in all, memo indices must be assigned in order (one new entry per PUT), and NONE and
 * booleans cost no allocation; shape and stride products are overflow-checked. Messages name
 * the pickle as FILE:MEMBER ("pytorch_model.bin:archive/data.pkl").
 *
 * Tensors must be contiguous (row-major strides; dimensions of size 1 may have any stride)
 * and lie inside their storage. Tensor data are views into the read-only mapping of the file
 * (no copy); torch aligns storages to 64 bytes, but a view is only guaranteed to be aligned
 * to its element size when the archive writer aligned it. Several tensors may share one
 * storage (e.g. tied weights).
 *
 * Handles are read-only after open and may be shared between threads.
 */
#ifndef LQ_PYTORCH_H
#define LQ_PYTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_PT_MAX_DIMS 8

/* Element types, one per torch storage class. Values are libquant's own (not on disk). */
enum lq_pt_dtype {
    LQ_PT_F32 = 0,  /* FloatStorage */
    LQ_PT_F64 = 1,  /* DoubleStorage */
    LQ_PT_F16 = 2,  /* HalfStorage */
    LQ_PT_BF16 = 3, /* BFloat16Storage */
    LQ_PT_I64 = 4,  /* LongStorage */
    LQ_PT_I32 = 5,  /* IntStorage */
    LQ_PT_I16 = 6,  /* ShortStorage */
    LQ_PT_I8 = 7,   /* CharStorage */
    LQ_PT_U8 = 8,   /* ByteStorage */
    LQ_PT_BOOL = 9, /* BoolStorage */
    LQ_PT_DTYPE_COUNT = 10,
};

/* torch's name of a dtype ("bfloat16"); "unknown" outside the enum. Never NULL. */
LQ_API const char *lq_pt_dtype_name(int dtype);
/* Bytes per element; 0 outside the enum. */
LQ_API size_t lq_pt_dtype_size(int dtype);
/* The matching enum lq_type (F32, F64, F16, BF16, I64, I32, I16, I8), or -1 (U8, BOOL). */
LQ_API int lq_pt_dtype_lq_type(int dtype);

struct lq_pt_tensor_info {
    const char *name;        /* state-dict key, NUL-terminated, borrowed */
    enum lq_pt_dtype dtype;
    int lq_type;             /* enum lq_type when one matches, else -1 */
    uint32_t n_dims;         /* 0 for a scalar */
    int64_t shape[LQ_PT_MAX_DIMS];  /* torch order: shape[0] outermost; unused dims are 1.
                                     * (ggml's ne[] is the reverse.) */
    int64_t stride[LQ_PT_MAX_DIMS]; /* in elements, as pickled; unused dims 0 */
    int64_t n_elements;
    const char *storage_key; /* the storage's key (member ARCHIVE/data/<key>), borrowed */
    int64_t storage_offset;  /* in elements */
    uint64_t file_offset;    /* absolute position of the first byte */
    size_t nbytes;           /* n_elements x element size */
    const void *data;        /* view into the mapping, borrowed */
};

typedef struct lq_pt lq_pt;

/* Opens and validates a torch.save zip checkpoint. On failure *out is NULL and err names the
 * file and the problem: LQ_E_FORMAT for malformed zips or pickles (with the offset and the
 * opcode or global), LQ_E_UNSUPPORTED for legacy (pre-1.6, non-zip) files, big-endian or
 * compressed archives, and tensors of more than LQ_PT_MAX_DIMS dimensions. */
LQ_API lq_status lq_pt_open(const char *path, lq_pt **out, struct lq_error *err);

/* Same, over bytes in memory (not copied; must outlive the handle). For fuzzing and tests. */
LQ_API lq_status lq_pt_open_memory(const void *data, size_t size, const char *name,
                                   lq_pt **out, struct lq_error *err);

/* Unmaps and frees; accepts NULL. */
LQ_API void lq_pt_free(lq_pt *pt);

/* Tensors in the state dict's order. NULL for an id out of range. */
LQ_API int64_t lq_pt_n_tensors(const lq_pt *pt);
LQ_API const struct lq_pt_tensor_info *lq_pt_tensor(const lq_pt *pt, int64_t id);
LQ_API int64_t lq_pt_find_tensor(const lq_pt *pt, const char *name); /* -1 when absent */

#ifdef __cplusplus
}
#endif
#endif /* LQ_PYTORCH_H */

/* pytorch_pickle.c - a safe unpickler for torch.save state dicts.
 *
 * It is a pickle machine that knows a fixed set of opcodes (those torch.save emits for a
 * dict of tensors, protocols 2 to 5) and a fixed set of globals (OrderedDict, the tensor and
 * parameter rebuilders, the typed storage classes). It builds inert values only: a "call"
 * (REDUCE) of a whitelisted global constructs the value that global would return, and
 * anything else is an error naming the opcode or global and its offset. Nothing from the
 * file is ever executed or imported. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "lqi.h"
#include "pytorch_impl.h"

// ---- values ----

enum pk { PK_NONE, PK_BOOL, PK_INT, PK_STR, PK_TUPLE, PK_LIST, PK_DICT, PK_GLOBAL, PK_STORAGE,
          PK_TENSOR };

enum glob { G_ORDERED_DICT, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE_TYPE };

/* An inert value. TUPLE/LIST hold items; DICT holds key, value pairs in items; TENSOR holds
 * storage, shape, stride in items and the storage offset in i; STORAGE holds its key in s
 * and numel in i; GLOBAL holds enum glob in i (and the storage type in n for storages). */
struct pv {
    enum pk kind;
    int64_t i;
    const char *s;
    size_t len;
    struct pv **items;
    size_t n, cap;
    uint64_t at; /* offset of the opcode that made it */
};

struct vm {
    const unsigned char *p;
    size_t size, pos, op_at;
    const char *name;
    unsigned char op;
    struct pv **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    struct pv **memo;
    size_t memo_cap, memo_n;
    struct lqi_arena values; /* every struct pv */
    struct pv **all;         /* the containers, whose items arrays are freed at the end */
    size_t n_all, all_cap, n_values, max_values;
    struct pv none, yes, no; /* immutable constants: not allocated per opcode */
    struct lq_error *err;
};

/* Growth bounds (see lq/pytorch.h): torch.save batches SETITEMS/APPENDS by 1000 items and
 * nests a few levels, so its stack stays below a few thousand values. Every value costs at
 * least one opcode byte, so the values are fewer than the pickle's bytes; the fixed cap keeps
 * a huge hostile pickle from using gigabytes before it fails. */
#define PT_MAX_STACK ((size_t)1 << 20)
#define PT_MAX_VALUES ((size_t)1 << 23)

/* Pickle's opcode names, for messages (every opcode of protocols 0-5). */
static const char *op_name(unsigned char op)
{
    static const struct {
        unsigned char op;
        const char *name;
    } names[] = {
        { '(', "MARK" }, { '.', "STOP" }, { '0', "POP" }, { '1', "POP_MARK" }, { '2', "DUP" },
        { 'F', "FLOAT" }, { 'I', "INT" }, { 'J', "BININT" }, { 'K', "BININT1" },
        { 'L', "LONG" }, { 'M', "BININT2" }, { 'N', "NONE" }, { 'P', "PERSID" },
        { 'Q', "BINPERSID" }, { 'R', "REDUCE" }, { 'S', "STRING" }, { 'T', "BINSTRING" },
        { 'U', "SHORT_BINSTRING" }, { 'V', "UNICODE" }, { 'X', "BINUNICODE" },
        { 'a', "APPEND" }, { 'b', "BUILD" }, { 'c', "GLOBAL" }, { 'd', "DICT" },
        { '}', "EMPTY_DICT" }, { 'e', "APPENDS" }, { 'g', "GET" }, { 'h', "BINGET" },
        { 'i', "INST" }, { 'j', "LONG_BINGET" }, { 'l', "LIST" }, { ']', "EMPTY_LIST" },
        { 'o', "OBJ" }, { 'p', "PUT" }, { 'q', "BINPUT" }, { 'r', "LONG_BINPUT" },
        { 's', "SETITEM" }, { 't', "TUPLE" }, { ')', "EMPTY_TUPLE" }, { 'u', "SETITEMS" },
        { 'G', "BINFLOAT" }, { 0x80, "PROTO" }, { 0x81, "NEWOBJ" }, { 0x82, "EXT1" },
        { 0x83, "EXT2" }, { 0x84, "EXT4" }, { 0x85, "TUPLE1" }, { 0x86, "TUPLE2" },
        { 0x87, "TUPLE3" }, { 0x88, "NEWTRUE" }, { 0x89, "NEWFALSE" }, { 0x8a, "LONG1" },
        { 0x8b, "LONG4" }, { 0x8c, "SHORT_BINUNICODE" }, { 0x8d, "BINUNICODE8" },
        { 0x8e, "BINBYTES8" }, { 0x8f, "EMPTY_SET" }, { 0x90, "ADDITEMS" },
        { 0x91, "FROZENSET" }, { 0x92, "NEWOBJ_EX" }, { 0x93, "STACK_GLOBAL" },
        { 0x94, "MEMOIZE" }, { 0x95, "FRAME" }, { 0x96, "BYTEARRAY8" },
        { 0x97, "NEXT_BUFFER" }, { 0x98, "READONLY_BUFFER" }, { 'B', "BINBYTES" },
        { 'C', "SHORT_BINBYTES" },
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (names[i].op == op) {
            return names[i].name;
        }
    }
    return "unknown";
}

static lq_status vm_fail(struct vm *vm, const char *fmt, ...) LQI_PRINTF(2, 3);

static lq_status vm_fail(struct vm *vm, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return lqi_set_error(vm->err, LQ_E_FORMAT, "%s: offset %zu: opcode 0x%02x (%s): %s",
                         vm->name, vm->op_at, vm->op, op_name(vm->op), what);
}

/* Grows *arr (of elsize elements) to hold at least need. */
static lq_status grow(struct vm *vm, void **arr, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap) {
        return LQ_OK;
    }
    size_t c = *cap ? *cap * 2 : 16;
    c = c < need ? need : c;
    void *q = c <= SIZE_MAX / elsize ? lqi_realloc(*arr, c * elsize) : NULL;
    LQ_FAIL_IF(!q, vm->err, LQ_E_NOMEM, "%s: out of memory unpickling", vm->name);
    *arr = q;
    *cap = c;
    return LQ_OK;
}

static lq_status new_value(struct vm *vm, enum pk kind, struct pv **out)
{
    if (vm->n_values >= vm->max_values) {
        return vm_fail(vm, "more than %zu values (at most one per opcode byte, %zu in all)",
                       vm->max_values, PT_MAX_VALUES);
    }
    bool container = kind == PK_TUPLE || kind == PK_LIST || kind == PK_DICT || kind == PK_TENSOR;
    if (container) {
        LQ_TRY(grow(vm, (void **)&vm->all, &vm->all_cap, vm->n_all + 1, sizeof *vm->all));
    }
    struct pv *v = lqi_arena_alloc(&vm->values, sizeof *v, _Alignof(struct pv));
    LQ_FAIL_IF(!v, vm->err, LQ_E_NOMEM, "%s: out of memory unpickling", vm->name);
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->at = vm->op_at;
    vm->n_values++;
    if (container) {
        vm->all[vm->n_all++] = v;
    }
    *out = v;
    return LQ_OK;
}

static lq_status add_item(struct vm *vm, struct pv *to, struct pv *item)
{
    LQ_TRY(grow(vm, (void **)&to->items, &to->cap, to->n + 1, sizeof *to->items));
    to->items[to->n++] = item;
    return LQ_OK;
}

static void free_values(struct vm *vm)
{
    for (size_t i = 0; i < vm->n_all; i++) {
        lqi_free(vm->all[i]->items);
    }
    lqi_free(vm->all);
    lqi_arena_free(&vm->values);
    lqi_free(vm->stack);
    lqi_free(vm->marks);
    lqi_free(vm->memo);
}

// ---- stack ----

static size_t stack_base(const struct vm *vm)
{
    return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
}

static lq_status push(struct vm *vm, struct pv *v)
{
    if (vm->sp >= PT_MAX_STACK) {
        return vm_fail(vm, "stack deeper than %zu values", PT_MAX_STACK);
    }
    LQ_TRY(grow(vm, (void **)&vm->stack, &vm->stack_cap, vm->sp + 1, sizeof *vm->stack));
    vm->stack[vm->sp++] = v;
    return LQ_OK;
}

static lq_status pop(struct vm *vm, struct pv **v)
{
    if (vm->sp <= stack_base(vm)) {
        return vm_fail(vm, "stack underflow");
    }
    *v = vm->stack[--vm->sp];
    return LQ_OK;
}

static lq_status top(struct vm *vm, struct pv **v)
{
    if (vm->sp <= stack_base(vm)) {
        return vm_fail(vm, "stack underflow");
    }
    *v = vm->stack[vm->sp - 1];
    return LQ_OK;
}

/* Pops back to the last MARK; the items are stack[*start .. sp) until the next push. */
static lq_status pop_mark(struct vm *vm, size_t *start)
{
    if (vm->n_marks == 0) {
        return vm_fail(vm, "no MARK to pop to");
    }
    *start = vm->marks[--vm->n_marks];
    return LQ_OK;
}

// ---- reading arguments ----

static lq_status need(struct vm *vm, size_t n)
{
    if (vm->size - vm->pos < n) {
        return vm_fail(vm, "truncated: %zu argument bytes needed, %zu left", n,
                       vm->size - vm->pos);
    }
    return LQ_OK;
}

static lq_status arg_uint(struct vm *vm, size_t n, uint64_t *v)
{
    LQ_TRY(need(vm, n));
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        *v |= (uint64_t)vm->p[vm->pos + i] << (8 * i);
    }
    vm->pos += n;
    return LQ_OK;
}

/* A line of a GLOBAL argument, without its newline. */
static lq_status arg_line(struct vm *vm, const char **s, size_t *len)
{
    const unsigned char *nl = memchr(vm->p + vm->pos, '\n', vm->size - vm->pos);
    if (!nl) {
        return vm_fail(vm, "truncated: GLOBAL name without a newline");
    }
    *s = (const char *)vm->p + vm->pos;
    *len = (size_t)(nl - (vm->p + vm->pos));
    vm->pos += *len + 1;
    return LQ_OK;
}

// ---- opcodes: constants ----

static lq_status op_int(struct vm *vm, int64_t v, enum pk kind)
{
    struct pv *x = NULL;
    LQ_TRY(new_value(vm, kind, &x));
    x->i = v;
    return push(vm, x);
}

static lq_status op_string(struct vm *vm, size_t len_bytes)
{
    uint64_t n = 0;
    LQ_TRY(arg_uint(vm, len_bytes, &n));
    LQ_TRY(need(vm, n > SIZE_MAX ? SIZE_MAX : (size_t)n));
    struct pv *x = NULL;
    LQ_TRY(new_value(vm, PK_STR, &x));
    x->s = (const char *)vm->p + vm->pos;
    x->len = (size_t)n;
    vm->pos += (size_t)n;
    return push(vm, x);
}

/* LONG1: a little-endian two's complement integer of n bytes; more than 8 do not fit. */
static lq_status op_long1(struct vm *vm)
{
    uint64_t n = 0, u = 0;
    LQ_TRY(arg_uint(vm, 1, &n));
    if (n > 8) {
        return vm_fail(vm, "LONG1 of %llu bytes does not fit 64 bits", (unsigned long long)n);
    }
    LQ_TRY(arg_uint(vm, (size_t)n, &u));
    if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) {
        u |= ~(uint64_t)0 << (8 * n);
    }
    return op_int(vm, (int64_t)u, PK_INT);
}

// ---- opcodes: memo ----

static lq_status memo_put(struct vm *vm, uint64_t idx)
{
    /* picklers number memo entries in order: an index past the next free one is refused,
     * so the memo grows by one entry per PUT opcode at most */
    if (idx > vm->memo_n) {
        return vm_fail(vm, "memo index %llu out of range (the next free entry is %zu)",
                       (unsigned long long)idx, vm->memo_n);
    }
    struct pv *v = NULL;
    LQ_TRY(top(vm, &v));
    size_t old = vm->memo_cap;
    LQ_TRY(grow(vm, (void **)&vm->memo, &vm->memo_cap, (size_t)idx + 1, sizeof *vm->memo));
    memset(vm->memo + old, 0, (vm->memo_cap - old) * sizeof *vm->memo);
    vm->memo_n += vm->memo[idx] == NULL;
    vm->memo[idx] = v;
    return LQ_OK;
}

static lq_status memo_get(struct vm *vm, uint64_t idx)
{
    if (idx >= vm->memo_cap || !vm->memo[idx]) {
        return vm_fail(vm, "memo index %llu was never set", (unsigned long long)idx);
    }
    return push(vm, vm->memo[idx]);
}

static lq_status op_put_get(struct vm *vm, size_t arg_bytes, bool put)
{
    uint64_t idx = 0;
    LQ_TRY(arg_uint(vm, arg_bytes, &idx));
    return put ? memo_put(vm, idx) : memo_get(vm, idx);
}

// ---- opcodes: containers ----

static lq_status op_empty(struct vm *vm, enum pk kind)
{
    struct pv *x = NULL;
    LQ_TRY(new_value(vm, kind, &x));
    return push(vm, x);
}

/* TUPLE1..3 (n items) or TUPLE (n = SIZE_MAX: back to the mark). */
static lq_status op_tuple(struct vm *vm, size_t n)
{
    size_t start = 0;
    if (n == SIZE_MAX) {
        LQ_TRY(pop_mark(vm, &start));
    } else {
        if (vm->sp - stack_base(vm) < n) {
            return vm_fail(vm, "stack underflow");
        }
        start = vm->sp - n;
    }
    struct pv *t = NULL;
    LQ_TRY(new_value(vm, PK_TUPLE, &t));
    if (vm->sp > start) { /* tuples never grow: no spare capacity */
        t->items = lqi_malloc((vm->sp - start) * sizeof *t->items);
        LQ_FAIL_IF(!t->items, vm->err, LQ_E_NOMEM, "%s: out of memory unpickling", vm->name);
        t->cap = vm->sp - start;
    }
    for (size_t i = start; i < vm->sp; i++) {
        LQ_TRY(add_item(vm, t, vm->stack[i]));
    }
    vm->sp = start;
    return push(vm, t);
}

/* SETITEM(S) and APPEND(S): items from the stack into the dict/list below them. */
static lq_status op_fill(struct vm *vm, enum pk kind, bool to_mark)
{
    size_t start = vm->sp - (kind == PK_DICT ? 2 : 1);
    if (to_mark) {
        LQ_TRY(pop_mark(vm, &start));
    } else if (vm->sp < stack_base(vm) + (kind == PK_DICT ? 3 : 2)) {
        return vm_fail(vm, "stack underflow");
    }
    if (start <= stack_base(vm)) {
        return vm_fail(vm, "stack underflow: no container below the items");
    }
    struct pv *c = vm->stack[start - 1];
    if (c->kind != kind) {
        return vm_fail(vm, "target is not a %s", kind == PK_DICT ? "dict" : "list");
    }
    if (kind == PK_DICT && (vm->sp - start) % 2 != 0) {
        return vm_fail(vm, "odd number of items for a dict");
    }
    for (size_t i = start; i < vm->sp; i++) {
        LQ_TRY(add_item(vm, c, vm->stack[i]));
    }
    vm->sp = start;
    return LQ_OK;
}

// ---- opcodes: globals, persistent ids, calls ----

static const char *const k_storage_names[LQI_PT_ST_COUNT] = {
    [LQI_PT_ST_FLOAT] = "FloatStorage", [LQI_PT_ST_DOUBLE] = "DoubleStorage",
    [LQI_PT_ST_HALF] = "HalfStorage",   [LQI_PT_ST_BFLOAT16] = "BFloat16Storage",
    [LQI_PT_ST_LONG] = "LongStorage",   [LQI_PT_ST_INT] = "IntStorage",
    [LQI_PT_ST_SHORT] = "ShortStorage", [LQI_PT_ST_CHAR] = "CharStorage",
    [LQI_PT_ST_BYTE] = "ByteStorage",   [LQI_PT_ST_BOOL] = "BoolStorage",
};

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* The whitelist: anything not named here is refused. */
static lq_status resolve_global(struct vm *vm, const char *mod, size_t ml, const char *nm,
                                size_t nl)
{
    struct pv *g;
    LQ_TRY(new_value(vm, PK_GLOBAL, &g));
    if (eq(mod, ml, "collections") && eq(nm, nl, "OrderedDict")) {
        g->i = G_ORDERED_DICT;
    } else if (eq(mod, ml, "torch._utils") && eq(nm, nl, "_rebuild_tensor_v2")) {
        g->i = G_REBUILD_TENSOR_V2;
    } else if (eq(mod, ml, "torch._utils") && eq(nm, nl, "_rebuild_parameter")) {
        g->i = G_REBUILD_PARAMETER;
    } else {
        g->i = -1;
        for (int t = 0; eq(mod, ml, "torch") && t < LQI_PT_ST_COUNT; t++) {
            if (eq(nm, nl, k_storage_names[t])) {
                g->i = G_STORAGE_TYPE;
                g->n = (size_t)t;
            }
        }
    }
    if (g->i < 0) {
        return vm_fail(vm, "global '%.*s.%.*s' is not allowed", (int)(ml > 64 ? 64 : ml), mod,
                       (int)(nl > 64 ? 64 : nl), nm);
    }
    return push(vm, g);
}

static lq_status op_global(struct vm *vm)
{
    const char *mod = NULL, *nm = NULL;
    size_t ml = 0, nl = 0;
    LQ_TRY(arg_line(vm, &mod, &ml));
    LQ_TRY(arg_line(vm, &nm, &nl));
    return resolve_global(vm, mod, ml, nm, nl);
}

static lq_status op_stack_global(struct vm *vm)
{
    struct pv *nm = NULL, *mod = NULL;
    LQ_TRY(pop(vm, &nm));
    LQ_TRY(pop(vm, &mod));
    if (nm->kind != PK_STR || mod->kind != PK_STR) {
        return vm_fail(vm, "STACK_GLOBAL needs two strings");
    }
    return resolve_global(vm, mod->s, mod->len, nm->s, nm->len);
}

static bool is_kind(const struct pv *t, size_t i, enum pk kind)
{
    return t->items[i]->kind == kind;
}

/* BINPERSID: ('storage', storage type, key, location, numel) becomes a storage reference. */
static lq_status op_persid(struct vm *vm)
{
    struct pv *t = NULL, *s = NULL;
    LQ_TRY(pop(vm, &t));
    if (t->kind != PK_TUPLE || t->n != 5 || !is_kind(t, 0, PK_STR) ||
        !eq(t->items[0]->s, t->items[0]->len, "storage") || !is_kind(t, 1, PK_GLOBAL) ||
        t->items[1]->i != G_STORAGE_TYPE || !is_kind(t, 2, PK_STR) || !is_kind(t, 3, PK_STR) ||
        !is_kind(t, 4, PK_INT) || t->items[4]->i < 0) {
        return vm_fail(vm, "persistent id is not ('storage', type, key, location, numel)");
    }
    LQ_TRY(new_value(vm, PK_STORAGE, &s));
    s->n = t->items[1]->n;
    s->s = t->items[2]->s;
    s->len = t->items[2]->len;
    s->i = t->items[4]->i;
    return push(vm, s);
}

static bool is_int_tuple(const struct pv *t)
{
    if (t->kind != PK_TUPLE) {
        return false;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != PK_INT) {
            return false;
        }
    }
    return true;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static lq_status call_rebuild_tensor(struct vm *vm, struct pv *a, struct pv **out)
{
    if ((a->n != 6 && a->n != 7) || !is_kind(a, 0, PK_STORAGE) || !is_kind(a, 1, PK_INT) ||
        !is_int_tuple(a->items[2]) || !is_int_tuple(a->items[3]) ||
        a->items[2]->n != a->items[3]->n || !is_kind(a, 4, PK_BOOL)) {
        return vm_fail(vm, "_rebuild_tensor_v2 arguments are not (storage, offset, size, "
                           "stride, requires_grad, hooks)");
    }
    LQ_TRY(new_value(vm, PK_TENSOR, out));
    (*out)->i = a->items[1]->i;
    LQ_TRY(add_item(vm, *out, a->items[0])); /* storage */
    LQ_TRY(add_item(vm, *out, a->items[2])); /* size */
    return add_item(vm, *out, a->items[3]);  /* stride */
}

static lq_status op_reduce(struct vm *vm)
{
    struct pv *args = NULL, *fn = NULL, *r = NULL;
    LQ_TRY(pop(vm, &args));
    LQ_TRY(pop(vm, &fn));
    if (fn->kind != PK_GLOBAL || args->kind != PK_TUPLE) {
        return vm_fail(vm, "REDUCE of something that is not a whitelisted global");
    }
    if (fn->i == G_ORDERED_DICT && args->n == 0) {
        LQ_TRY(new_value(vm, PK_DICT, &r));
    } else if (fn->i == G_REBUILD_TENSOR_V2) {
        LQ_TRY(call_rebuild_tensor(vm, args, &r));
    } else if (fn->i == G_REBUILD_PARAMETER && args->n == 3 && is_kind(args, 0, PK_TENSOR)) {
        r = args->items[0];
    } else {
        return vm_fail(vm, "REDUCE: unsupported call of a %s global with %zu arguments",
                       fn->i == G_STORAGE_TYPE ? "storage type" : "whitelisted", args->n);
    }
    return push(vm, r);
}

/* BUILD only sets an OrderedDict's attributes (state dicts carry _metadata): ignored. */
static lq_status op_build(struct vm *vm)
{
    struct pv *state = NULL, *obj = NULL;
    LQ_TRY(pop(vm, &state));
    LQ_TRY(top(vm, &obj));
    if (obj->kind != PK_DICT) {
        return vm_fail(vm, "BUILD on something other than an OrderedDict");
    }
    return LQ_OK;
}

// ---- the machine ----

static lq_status step(struct vm *vm, bool *stop)
{
    vm->op_at = vm->pos;
    vm->op = vm->p[vm->pos++];
    uint64_t u = 0;
    switch (vm->op) {
    case 0x80: /* PROTO */
        LQ_TRY(arg_uint(vm, 1, &u));
        return u <= 5 ? LQ_OK : vm_fail(vm, "pickle protocol %llu", (unsigned long long)u);
    case 0x95: return arg_uint(vm, 8, &u);                 /* FRAME: a hint only */
    case '.': *stop = true; return LQ_OK;                  /* STOP */
    case '(':                                              /* MARK */
        if (vm->n_marks >= PT_MAX_STACK) {
            return vm_fail(vm, "more than %zu nested MARKs", PT_MAX_STACK);
        }
        LQ_TRY(grow(vm, (void **)&vm->marks, &vm->marks_cap, vm->n_marks + 1, sizeof(size_t)));
        vm->marks[vm->n_marks++] = vm->sp;
        return LQ_OK;
    case '}': return op_empty(vm, PK_DICT);                /* EMPTY_DICT */
    case ']': return op_empty(vm, PK_LIST);                /* EMPTY_LIST */
    case ')': return op_empty(vm, PK_TUPLE);               /* EMPTY_TUPLE */
    case 't': return op_tuple(vm, SIZE_MAX);               /* TUPLE */
    case 0x85: return op_tuple(vm, 1);                     /* TUPLE1 */
    case 0x86: return op_tuple(vm, 2);                     /* TUPLE2 */
    case 0x87: return op_tuple(vm, 3);                     /* TUPLE3 */
    case 'X': return op_string(vm, 4);                     /* BINUNICODE */
    case 0x8c: return op_string(vm, 1);                    /* SHORT_BINUNICODE */
    case 0x8d: return op_string(vm, 8);                    /* BINUNICODE8 */
    case 'J':                                              /* BININT */
        LQ_TRY(arg_uint(vm, 4, &u));
        return op_int(vm, (int32_t)(uint32_t)u, PK_INT);
    case 'K': LQ_TRY(arg_uint(vm, 1, &u)); return op_int(vm, (int64_t)u, PK_INT); /* BININT1 */
    case 'M': LQ_TRY(arg_uint(vm, 2, &u)); return op_int(vm, (int64_t)u, PK_INT); /* BININT2 */
    case 0x8a: return op_long1(vm);                        /* LONG1 */
    case 'N': return push(vm, &vm->none);                  /* NONE */
    case 0x88: return push(vm, &vm->yes);                  /* NEWTRUE */
    case 0x89: return push(vm, &vm->no);                   /* NEWFALSE */
    case 'q': return op_put_get(vm, 1, true);              /* BINPUT */
    case 'r': return op_put_get(vm, 4, true);              /* LONG_BINPUT */
    case 0x94: return memo_put(vm, vm->memo_n);            /* MEMOIZE */
    case 'h': return op_put_get(vm, 1, false);             /* BINGET */
    case 'j': return op_put_get(vm, 4, false);             /* LONG_BINGET */
    case 'c': return op_global(vm);                        /* GLOBAL */
    case 0x93: return op_stack_global(vm);                 /* STACK_GLOBAL */
    case 'Q': return op_persid(vm);                        /* BINPERSID */
    case 'R': return op_reduce(vm);                        /* REDUCE */
    case 's': return op_fill(vm, PK_DICT, false);          /* SETITEM */
    case 'u': return op_fill(vm, PK_DICT, true);           /* SETITEMS */
    case 'a': return op_fill(vm, PK_LIST, false);          /* APPEND */
    case 'e': return op_fill(vm, PK_LIST, true);           /* APPENDS */
    case 'b': return op_build(vm);                         /* BUILD */
    default: return vm_fail(vm, "opcode not allowed in a state dict");
    }
}

static lq_status run(struct vm *vm, struct pv **result)
{
    bool stop = false;
    while (!stop) {
        if (vm->pos >= vm->size) {
            return lqi_set_error(vm->err, LQ_E_FORMAT, "%s: offset %zu: truncated (no STOP)",
                                 vm->name, vm->pos);
        }
        LQ_TRY(step(vm, &stop));
    }
    if (vm->sp != 1 || vm->n_marks != 0) {
        return vm_fail(vm, "STOP with %zu values and %zu marks on the stack (want 1 and 0)",
                       vm->sp, vm->n_marks);
    }
    *result = vm->stack[0];
    return LQ_OK;
}

// ---- the state dict ----

static lq_status make_record(struct vm *vm, const struct pv *k, const struct pv *t,
                             struct lqi_pt_record *r)
{
    const struct pv *st = t->items[0], *shape = t->items[1], *stride = t->items[2];
    if (shape->n > LQI_PT_MAX_DIMS) {
        return lqi_set_error(vm->err, LQ_E_UNSUPPORTED, "%s: tensor '%.*s': %zu dimensions "
                             "(at most %d)", vm->name, (int)k->len, k->s, shape->n,
                             LQI_PT_MAX_DIMS);
    }
    *r = (struct lqi_pt_record){
        .name = k->s, .name_len = k->len, .storage_type = (int)st->n, .key = st->s,
        .key_len = st->len, .storage_numel = (uint64_t)st->i, .offset = t->i,
        .n_dims = (uint32_t)shape->n, .pickle_offset = k->at,
    };
    for (size_t i = 0; i < shape->n; i++) {
        r->shape[i] = shape->items[i]->i;
        r->stride[i] = stride->items[i]->i;
    }
    return LQ_OK;
}

static lq_status collect(struct vm *vm, const struct pv *d, struct lqi_pt_record **recs,
                         int64_t *n)
{
    if (d->kind != PK_DICT) {
        return lqi_set_error(vm->err, LQ_E_FORMAT, "%s: the pickled object is not a dict",
                             vm->name);
    }
    struct lqi_pt_record *r = lqi_calloc(d->n / 2 ? d->n / 2 : 1, sizeof *r);
    LQ_FAIL_IF(!r, vm->err, LQ_E_NOMEM, "%s: out of memory", vm->name);
    lq_status rc = LQ_OK;
    for (size_t i = 0; i < d->n && rc == LQ_OK; i += 2) {
        const struct pv *k = d->items[i], *v = d->items[i + 1];
        if (k->kind != PK_STR || v->kind != PK_TENSOR) {
            rc = lqi_set_error(vm->err, LQ_E_FORMAT, "%s: offset %llu: state dict entry %zu is "
                               "not a name and a tensor", vm->name, (unsigned long long)k->at,
                               i / 2);
        } else {
            rc = make_record(vm, k, v, &r[i / 2]);
        }
    }
    if (rc != LQ_OK) {
        lqi_free(r);
        return rc;
    }
    *recs = r;
    *n = (int64_t)(d->n / 2);
    return LQ_OK;
}

lq_status lqi_pt_unpickle(const unsigned char *pkl, size_t size, const char *name,
                          struct lqi_pt_record **recs, int64_t *n, struct lq_error *err)
{
    struct vm vm = { .p = pkl, .size = size, .name = name, .err = err };
    vm.max_values = size < PT_MAX_VALUES ? size : PT_MAX_VALUES;
    vm.none.kind = PK_NONE;
    vm.yes.kind = vm.no.kind = PK_BOOL;
    vm.yes.i = 1;
    struct pv *result = NULL;
    *recs = NULL;
    *n = 0;
    lq_status rc = run(&vm, &result);
    if (rc == LQ_OK) {
        rc = collect(&vm, result, recs, n);
    }
    free_values(&vm);
    return rc;
}

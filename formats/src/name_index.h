/* name_index.h - a hash index from names (byte strings) to ids, for duplicate detection
 * and O(1) lookups of GGUF keys and tensor names. Internal to lq_formats. The index
 * borrows the name bytes; they must outlive it. */
#ifndef LQ_NAME_INDEX_H
#define LQ_NAME_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lqi_name_slot;

struct lqi_name_index {
    struct lqi_name_slot *slots;
    size_t cap; /* a power of two, or 0 before init */
};

/* Sizes the table for n names; false when out of memory. */
bool lqi_name_index_init(struct lqi_name_index *ix, size_t n);

/* Makes room for n names in all, keeping (rehashing) those stored: for tables that grow one
 * name at a time. False when out of memory (the table is unchanged then). */
bool lqi_name_index_reserve(struct lqi_name_index *ix, size_t n);

/* Forgets every name, keeping the capacity. */
void lqi_name_index_clear(struct lqi_name_index *ix);

/* Adds a name with its id. Returns -1 when added, or the id already stored under the
 * same name (nothing is added then). The table must have been sized for every insert. */
int64_t lqi_name_index_insert(struct lqi_name_index *ix, const char *s, size_t len, int64_t id);

/* The id stored under a name, or -1. */
int64_t lqi_name_index_find(const struct lqi_name_index *ix, const char *s, size_t len);

void lqi_name_index_free(struct lqi_name_index *ix);

#endif

/* tmp_registry.h - the registry behind lq_tmp_cleanup_all (internal to lq_formats). */
#ifndef LQ_TMP_REGISTRY_H
#define LQ_TMP_REGISTRY_H

#include <stdbool.h>

/* Registers a temporary file or folder; returns its slot, or -1 when the registry is full or
 * the path too long (the temporary then works but a signal leaves it behind). */
int lqi_tmp_add(const char *path, bool dir);

/* Forgets a slot (after the rename or removal); -1 is ignored. */
void lqi_tmp_remove(int slot);

/* Removes a folder's entries (files only, links not followed) and the folder, using only
 * async-signal-safe calls. */
void lqi_tmp_remove_flat_dir(const char *path);

#endif

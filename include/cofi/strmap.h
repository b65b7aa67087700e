/* cofi/strmap.h - look up an id string's index in a cofi_strings list.
 * Plain C; used to match ids between files (--test, predict --pairs) and to
 * find a user by name.  Open addressing, at most half full. */
#ifndef COFI_STRMAP_H
#define COFI_STRMAP_H

#include <stdint.h>
#include "cofi/text.h"

typedef struct {
    const cofi_strings *s;
    cofi_idx *slot; /* index + 1, 0 = empty */
    size_t nslot;
} cofi_strmap;

/* 64-bit hash of a NUL-terminated string (FNV-1a, then mixed). */
uint64_t cofi_hash_str(const char *s);

/* Index the strings of s (kept by reference).  With duplicates, the first wins. */
int cofi_strmap_build(cofi_strmap *m, const cofi_strings *s);
/* The index of `key`, or -1. */
cofi_idx cofi_strmap_find(const cofi_strmap *m, const char *key);
void cofi_strmap_free(cofi_strmap *m);

#endif

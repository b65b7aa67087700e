/* strmap.c - read-only hash index over a list of id strings. */
#include "cofi/strmap.h"
#include "cofi/error.h"
#include "cofi/rng.h"

#include <string.h>

uint64_t cofi_hash_str(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    return cofi_mix64(h);
}

int cofi_strmap_build(cofi_strmap *m, const cofi_strings *s)
{
    memset(m, 0, sizeof *m);
    m->s = s;
    size_t n = 16;
    while (n < 2 * (size_t)s->n + 2) n *= 2;
    m->slot = cofi_calloc(n, sizeof *m->slot, "id index");
    if (!m->slot) return COFI_ERR_NOMEM;
    m->nslot = n;
    for (cofi_idx i = 0; i < s->n; i++) {
        const char *key = s->buf + s->off[i];
        size_t h = (size_t)cofi_hash_str(key) & (n - 1);
        for (;; h = (h + 1) & (n - 1)) {
            if (m->slot[h] == 0) {
                m->slot[h] = i + 1;
                break;
            }
            if (strcmp(s->buf + s->off[m->slot[h] - 1], key) == 0) break;
        }
    }
    return COFI_OK;
}

cofi_idx cofi_strmap_find(const cofi_strmap *m, const char *key)
{
    if (!m->nslot) return -1;
    size_t h = (size_t)cofi_hash_str(key) & (m->nslot - 1);
    for (; m->slot[h]; h = (h + 1) & (m->nslot - 1))
        if (strcmp(m->s->buf + m->s->off[m->slot[h] - 1], key) == 0) return m->slot[h] - 1;
    return -1;
}

void cofi_strmap_free(cofi_strmap *m)
{
    cofi_free(m->slot);
    memset(m, 0, sizeof *m);
}

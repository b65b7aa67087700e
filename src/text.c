/* text.c - text rating files parsed into triplets, and triplets into CSR.
 *
 * Formats: MovieLens 100K u.data, MovieLens ratings.csv, MovieLens 1M/10M
 * ratings.dat, item/user/rating triplets, and the notebook's dense table
 * (users across, items down).  The parser reads exactly the `len` bytes it is
 * given (no NUL terminator needed), goes through them once line by line, and
 * stops at the first bad line with a message naming the file and the line.
 *
 * Rules shared by every format:
 *   - lines end in LF or CRLF; the last line may lack its newline; a UTF-8
 *     byte order mark at the start is skipped;
 *   - a line that is empty or only whitespace is skipped, and so is a line
 *     whose first non-whitespace character is '#' (a comment);
 *   - a NUL byte anywhere is an error (the input is not text);
 *   - fields are trimmed of spaces, tabs, CR, VT and FF;
 *   - a rating must be a finite number written entirely as one field (what
 *     strtod accepts, all of it); ids must be non-empty;
 *   - an input without a single rating is an error.
 *
 * Ids are interned in one hash table per dimension (items, users) in order of
 * first appearance.  At the end a dimension whose ids are all integers (fits
 * in int64) is reordered numerically, text order breaking ties, and the
 * triplets are renumbered to match.
 *
 * cofi_triplets_to_csr sorts with two stable counting sorts (by user, then by
 * item), so it is linear in the number of ratings and ids; duplicates are then
 * adjacent and the reported pair is the one whose later line comes first. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "cofi/text.h"
#include "cofi/error.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------ */
/* Format names                                                             */

static const char *const format_names[COFI_TEXT_FORMAT_COUNT] = {
    "movielens-100k", "movielens-csv", "movielens-dat", "triplets", "dense"};

int cofi_text_format_parse(const char *name, enum cofi_text_format *fmt)
{
    for (int f = 0; f < COFI_TEXT_FORMAT_COUNT; f++) {
        if (name && strcmp(name, format_names[f]) == 0) {
            *fmt = (enum cofi_text_format)f;
            return COFI_OK;
        }
    }
    return cofi_error(COFI_ERR_USAGE,
                      "unknown format '%.100s': expected one of movielens-100k, "
                      "movielens-csv, movielens-dat, triplets, dense",
                      name ? name : "");
}

const char *cofi_text_format_name(enum cofi_text_format fmt)
{
    if ((int)fmt < 0 || (int)fmt >= COFI_TEXT_FORMAT_COUNT) return "unknown";
    return format_names[fmt];
}

/* ------------------------------------------------------------------------ */
/* Spans of the input and splitting a line into fields                      */

/* n bytes at p, not NUL-terminated. */
typedef struct {
    const char *p;
    size_t n;
} span;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static span trim(span s)
{
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space(s.p[s.n - 1])) s.n--;
    return s;
}

static int span_is(span s, const char *text)
{
    size_t n = strlen(text);
    return s.n == n && memcmp(s.p, text, n) == 0;
}

/* Messages quote at most SHOW_MAX bytes of a field: "%.*s%s" with SHOW(s). */
#define SHOW_MAX 60
#define SHOW(s) (int)((s).n > SHOW_MAX ? SHOW_MAX : (s).n), (s).p, ((s).n > SHOW_MAX ? "..." : "")

/* Next `sep` in [p, end), or NULL. */
static const char *find_char(const char *p, const char *end, char sep)
{
    if (p >= end) return NULL;
    return memchr(p, sep, (size_t)(end - p));
}

/* Split on every `sep`, trimming each field.  Returns the number of fields and
 * stores the first `maxf` of them. */
static size_t split_char(span line, char sep, span *f, size_t maxf)
{
    const char *p = line.p, *end = line.p + line.n;
    size_t k = 0;
    for (;;) {
        const char *q = find_char(p, end, sep);
        const char *fe = q ? q : end;
        if (k < maxf) f[k] = trim((span){p, (size_t)(fe - p)});
        k++;
        if (!q) return k;
        p = q + 1;
    }
}

/* Split a trimmed line on runs of whitespace. */
static size_t split_ws(span line, span *f, size_t maxf)
{
    size_t k = 0, i = 0;
    while (i < line.n) {
        while (i < line.n && is_space(line.p[i])) i++;
        if (i >= line.n) break;
        size_t s = i;
        while (i < line.n && !is_space(line.p[i])) i++;
        if (k < maxf) f[k] = (span){line.p + s, i - s};
        k++;
    }
    return k;
}

/* Split on "::" (left to right, non-overlapping), trimming each field. */
static size_t split_dcolon(span line, span *f, size_t maxf)
{
    const char *p = line.p, *s = line.p, *end = line.p + line.n;
    size_t k = 0;
    while (end - p >= 2) {
        if (p[0] == ':' && p[1] == ':') {
            if (k < maxf) f[k] = trim((span){s, (size_t)(p - s)});
            k++;
            p += 2;
            s = p;
        } else {
            p++;
        }
    }
    if (k < maxf) f[k] = trim((span){s, (size_t)(end - s)});
    return k + 1;
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */

/* A decimal integer (optional sign, digits only) that fits in int64. */
static int parse_int64(span s, int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    if (s.n > 0 && (s.p[0] == '+' || s.p[0] == '-')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (i >= s.n) return 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX, m = 0;
    for (; i < s.n; i++) {
        unsigned d = (unsigned)(unsigned char)s.p[i] - (unsigned)'0';
        if (d > 9) return 0;
        if (m > (limit - d) / 10) return 0;
        m = m * 10 + d;
    }
    if (!neg) *v = (int64_t)m;
    else if (m == (uint64_t)INT64_MAX + 1u) *v = INT64_MIN;
    else *v = -(int64_t)m;
    return 1;
}

/* The common case "4", "3.5", "-0.25" without strtod: at most 15 significant
 * digits and 22 decimals, so the mantissa and the power of ten are exact
 * doubles and one correctly rounded division gives what strtod gives.
 * Returns 0 when the text is not of that simple form (strtod decides then). */
static int fast_decimal(span s, double *out)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    int neg = 0, dot = 0, any = 0, sig = 0, frac = 0;
    uint64_t m = 0;
    if (s.n > 0 && (s.p[0] == '+' || s.p[0] == '-')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    for (; i < s.n; i++) {
        char c = s.p[i];
        if (c >= '0' && c <= '9') {
            if (m != 0 || c != '0') sig++;
            if (sig > 15) return 0;
            m = m * 10 + (uint64_t)(c - '0');
            any = 1;
            if (dot && ++frac > 22) return 0;
        } else if (c == '.' && !dot) {
            dot = 1;
        } else {
            return 0;
        }
    }
    if (!any) return 0;
    double v = frac ? (double)m / pow10[frac] : (double)m;
    *out = neg ? -v : v;
    return 1;
}

enum { NUM_OK, NUM_BAD, NUM_NONFINITE, NUM_RANGE };

/* ------------------------------------------------------------------------ */
/* Id tables                                                                */

/* A hash table slot.  An id of at most 8 bytes is stored in `tag` itself
 * (zero-padded: ids hold no NUL, so the padding is unambiguous) with
 * id1 = -(id + 1); a longer id has its hash in `tag` and id1 = id + 1.  So
 * the common short ids are found without touching their text.  id1 = 0 marks
 * an empty slot. */
typedef struct {
    uint64_t tag;
    cofi_idx id1;
} idslot;

/* The distinct ids of one dimension in order of first appearance: id i is
 * buf[off[i] .. off[i+1]) (no NUL), found through an open-addressing hash
 * table (linear probing, at most half full). */
typedef struct {
    cofi_idx n, cap;
    cofi_idx *off;   /* cap + 1 */
    int64_t *val;    /* cap: the integer value, meaningful while all_int */
    cofi_idx *where; /* cap: line (or column) of the first appearance */
    char *buf;
    size_t used, bufcap;
    idslot *slot;
    size_t nslot;  /* 0 or a power of two */
    cofi_idx last; /* the id found last + 1: files grouped by user repeat it */
    int all_int;   /* every id so far is an int64 */
} idmap;

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211u;
    }
    return mix64(h);
}

/* The slot tag of a short id (at most 8 bytes). */
static uint64_t pack8(span s)
{
    uint64_t v = 0;
    memcpy(&v, s.p, s.n);
    return v;
}

/* Where slot k's id wants to be: its hash. */
static uint64_t slot_hash(const idslot *sl) { return sl->id1 < 0 ? mix64(sl->tag) : sl->tag; }

/* A copy of `old` (have elements) in a new array of `want`; `old` is freed on
 * success and kept on failure. */
static void *grown(void *old, size_t have, size_t want, size_t size, const char *what)
{
    void *q = cofi_malloc(want, size, what);
    if (!q) return NULL;
    if (have > 0) memcpy(q, old, have * size);
    cofi_free(old);
    return q;
}

static void idmap_free(idmap *m)
{
    cofi_free(m->off);
    cofi_free(m->val);
    cofi_free(m->where);
    cofi_free(m->buf);
    cofi_free(m->slot);
    memset(m, 0, sizeof *m);
}

static int idmap_rehash(idmap *m)
{
    size_t nslot = m->nslot ? m->nslot : 512;
    while ((size_t)m->n + 1 > nslot / 2) nslot *= 2;
    idslot *slot = cofi_calloc(nslot, sizeof *slot, "the id hash table");
    if (!slot) return COFI_ERR_NOMEM;
    size_t mask = nslot - 1;
    for (size_t k = 0; k < m->nslot; k++) {
        if (m->slot[k].id1 == 0) continue;
        size_t i = (size_t)slot_hash(&m->slot[k]) & mask;
        while (slot[i].id1 != 0) i = (i + 1) & mask;
        slot[i] = m->slot[k];
    }
    cofi_free(m->slot);
    m->slot = slot;
    m->nslot = nslot;
    return COFI_OK;
}

static int idmap_reserve(idmap *m, size_t bytes)
{
    if (m->n == m->cap) {
        size_t have = (size_t)m->cap, want = have ? 2 * have : 256;
        cofi_idx *off = grown(m->off, have ? have + 1 : 0, want + 1, sizeof *off, "the id offsets");
        if (!off) return COFI_ERR_NOMEM;
        if (have == 0) off[0] = 0;
        m->off = off;
        int64_t *val = grown(m->val, have, want, sizeof *val, "the id values");
        if (!val) return COFI_ERR_NOMEM;
        m->val = val;
        cofi_idx *where = grown(m->where, have, want, sizeof *where, "the id lines");
        if (!where) return COFI_ERR_NOMEM;
        m->where = where;
        m->cap = (cofi_idx)want;
    }
    if (bytes > m->bufcap - m->used) {
        size_t want = m->bufcap ? 2 * m->bufcap : 4096;
        if (want < m->used + bytes) want = m->used + bytes;
        char *buf = grown(m->buf, m->used, want, 1, "the id text");
        if (!buf) return COFI_ERR_NOMEM;
        m->buf = buf;
        m->bufcap = want;
    }
    return COFI_OK;
}

static int idmap_is(const idmap *m, cofi_idx e, span s)
{
    return (size_t)(m->off[e + 1] - m->off[e]) == s.n && memcmp(m->buf + m->off[e], s.p, s.n) == 0;
}

/* The id of `s` (non-empty), added with `where` if new (*is_new = 1). */
static int idmap_get(idmap *m, span s, cofi_idx where, cofi_idx *id, int *is_new)
{
    if (m->last > 0 && idmap_is(m, m->last - 1, s)) {
        *id = m->last - 1;
        *is_new = 0;
        return COFI_OK;
    }
    if ((size_t)m->n + 1 > m->nslot / 2) COFI_TRY(idmap_rehash(m));
    int shrt = s.n <= 8;
    uint64_t tag = shrt ? pack8(s) : hash_bytes(s.p, s.n);
    size_t mask = m->nslot - 1, i = (size_t)(shrt ? mix64(tag) : tag) & mask;
    for (; m->slot[i].id1 != 0; i = (i + 1) & mask) {
        const idslot *sl = &m->slot[i];
        if (sl->tag != tag) continue;
        cofi_idx e;
        if (shrt && sl->id1 < 0) e = -sl->id1 - 1;
        else if (!shrt && sl->id1 > 0 && idmap_is(m, sl->id1 - 1, s)) e = sl->id1 - 1;
        else continue;
        *id = e;
        *is_new = 0;
        m->last = e + 1;
        return COFI_OK;
    }
    COFI_TRY(idmap_reserve(m, s.n));
    cofi_idx e = m->n;
    memcpy(m->buf + m->used, s.p, s.n);
    m->off[e] = (cofi_idx)m->used;
    m->used += s.n;
    m->off[e + 1] = (cofi_idx)m->used;
    m->where[e] = where;
    m->val[e] = 0;
    if (m->all_int && !parse_int64(s, &m->val[e])) m->all_int = 0;
    m->slot[i].tag = tag;
    m->slot[i].id1 = shrt ? -(e + 1) : e + 1;
    m->n = e + 1;
    m->last = e + 1;
    *id = e;
    *is_new = 1;
    return COFI_OK;
}

static span idmap_text(const idmap *m, cofi_idx e)
{
    return (span){m->buf + m->off[e], (size_t)(m->off[e + 1] - m->off[e])};
}

/* Numeric order, ties (such as "7" and "007") by the bytes of the text. */
static int id_less(const idmap *m, cofi_idx a, cofi_idx b)
{
    if (m->val[a] != m->val[b]) return m->val[a] < m->val[b];
    span x = idmap_text(m, a), y = idmap_text(m, b);
    int c = memcmp(x.p, y.p, x.n < y.n ? x.n : y.n);
    if (c != 0) return c < 0;
    return x.n < y.n;
}

/* Stable bottom-up merge sort of ids a[0..n) by id_less; tmp has n entries. */
static void sort_ids(const idmap *m, cofi_idx *a, cofi_idx *tmp, cofi_idx n)
{
    cofi_idx *src = a, *dst = tmp;
    for (cofi_idx w = 1; w < n; w *= 2) {
        for (cofi_idx lo = 0; lo < n; lo += 2 * w) {
            cofi_idx mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            cofi_idx i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = id_less(m, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        cofi_idx *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* The ids in their final order as cofi_strings.  *rank (rank[old id] = new
 * id) is NULL when the order is the order of first appearance. */
static int idmap_finish(const idmap *m, cofi_strings *out, cofi_idx **rank)
{
    cofi_idx n = m->n;
    cofi_idx *ord = NULL, *tmp = NULL;
    *rank = NULL;
    memset(out, 0, sizeof *out);
    int rc = COFI_ERR_NOMEM;
    out->off = cofi_malloc((size_t)n + 1, sizeof *out->off, "the id offsets");
    out->buf = cofi_malloc(m->used + (size_t)n, 1, "the id text");
    if (!out->off || !out->buf) goto fail;
    out->n = n;
    if (m->all_int && n > 1) {
        ord = cofi_malloc((size_t)n, sizeof *ord, "the id order");
        tmp = cofi_malloc((size_t)n, sizeof *tmp, "the id order");
        *rank = cofi_malloc((size_t)n, sizeof **rank, "the id ranks");
        if (!ord || !tmp || !*rank) goto fail;
        for (cofi_idx e = 0; e < n; e++) ord[e] = e;
        sort_ids(m, ord, tmp, n);
        for (cofi_idx k = 0; k < n; k++) (*rank)[ord[k]] = k;
    }
    size_t used = 0;
    for (cofi_idx k = 0; k < n; k++) {
        span s = idmap_text(m, ord ? ord[k] : k);
        out->off[k] = (cofi_idx)used;
        if (s.n > 0) memcpy(out->buf + used, s.p, s.n);
        used += s.n;
        out->buf[used++] = '\0';
    }
    out->off[n] = (cofi_idx)used;
    rc = COFI_OK;
fail:
    cofi_free(ord);
    cofi_free(tmp);
    if (rc != COFI_OK) {
        cofi_strings_free(out);
        cofi_free(*rank);
        *rank = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The parser                                                               */

typedef struct {
    enum cofi_text_format fmt;
    const char *name;
    cofi_idx lineno;
    int started; /* a line with content has been seen */
    idmap items, users;
    cofi_idx n, cap, cap_hint;
    cofi_idx *item, *user, *line;
    cofi_val *rating;
    char *scratch; /* a NUL-terminated copy of a field for strtod */
    size_t scratch_cap;
    char sep;          /* dense: the cell separator */
    cofi_idx ncols;    /* dense: cells per row */
    cofi_idx header;   /* dense: line of the header */
} parser;

static void parser_free(parser *ps)
{
    idmap_free(&ps->items);
    idmap_free(&ps->users);
    cofi_free(ps->item);
    cofi_free(ps->user);
    cofi_free(ps->line);
    cofi_free(ps->rating);
    cofi_free(ps->scratch);
    memset(ps, 0, sizeof *ps);
}

/* Classify s as a number (NUM_*); *v is set when NUM_OK. */
static int parse_number(parser *ps, span s, double *v, int *kind)
{
    *kind = NUM_BAD;
    if (s.n == 0) return COFI_OK;
    if (fast_decimal(s, v)) {
        *kind = NUM_OK;
        return COFI_OK;
    }
    if (s.n + 1 > ps->scratch_cap) {
        size_t want = s.n + 1 > 64 ? s.n + 1 : 64;
        char *b = cofi_malloc(want, 1, "a number's text");
        if (!b) return COFI_ERR_NOMEM;
        cofi_free(ps->scratch);
        ps->scratch = b;
        ps->scratch_cap = want;
    }
    memcpy(ps->scratch, s.p, s.n);
    ps->scratch[s.n] = '\0';
    char *end = NULL;
    errno = 0;
    double x = strtod(ps->scratch, &end);
    if (end != ps->scratch + s.n) *kind = NUM_BAD;
    else if (isnan(x) || (isinf(x) && errno != ERANGE)) *kind = NUM_NONFINITE;
    else if (isinf(x)) *kind = NUM_RANGE;
    else {
        *kind = NUM_OK;
        *v = x;
    }
    return COFI_OK;
}

/* A rating field; `col` > 0 adds the column (dense) to messages. */
static int read_rating(parser *ps, span s, cofi_idx col, double *v)
{
    int kind;
    COFI_TRY(parse_number(ps, s, v, &kind));
    if (kind == NUM_OK) return COFI_OK;
    char where[48] = "";
    if (col > 0) snprintf(where, sizeof where, ", column %" PRIidx, col);
    if (s.n == 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s' line %" PRIidx "%s: empty rating", ps->name,
                          ps->lineno, where);
    const char *what = kind == NUM_BAD         ? "is not a number"
                       : kind == NUM_NONFINITE ? "is not finite"
                                               : "is out of range";
    return cofi_error(COFI_ERR_FORMAT, "'%s' line %" PRIidx "%s: rating '%.*s%s' %s", ps->name,
                      ps->lineno, where, SHOW(s), what);
}

static int push(parser *ps, cofi_idx item, cofi_idx user, double v)
{
    if (ps->n == ps->cap) {
        size_t have = (size_t)ps->cap;
        size_t want = have ? 2 * have : (size_t)(ps->cap_hint > 0 ? ps->cap_hint : 1024);
        cofi_idx *it = grown(ps->item, have, want, sizeof *it, "the ratings' items");
        if (!it) return COFI_ERR_NOMEM;
        ps->item = it;
        cofi_idx *us = grown(ps->user, have, want, sizeof *us, "the ratings' users");
        if (!us) return COFI_ERR_NOMEM;
        ps->user = us;
        cofi_idx *ln = grown(ps->line, have, want, sizeof *ln, "the ratings' lines");
        if (!ln) return COFI_ERR_NOMEM;
        ps->line = ln;
        cofi_val *r = grown(ps->rating, have, want, sizeof *r, "the ratings");
        if (!r) return COFI_ERR_NOMEM;
        ps->rating = r;
        ps->cap = (cofi_idx)want;
    }
    ps->item[ps->n] = item;
    ps->user[ps->n] = user;
    ps->line[ps->n] = ps->lineno;
    ps->rating[ps->n] = v;
    ps->n++;
    return COFI_OK;
}

/* One rating line of the id-based formats. */
static int add_rating(parser *ps, span item, span user, span rating)
{
    if (item.n == 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s' line %" PRIidx ": empty item id", ps->name,
                          ps->lineno);
    if (user.n == 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s' line %" PRIidx ": empty user id", ps->name,
                          ps->lineno);
    double v = 0;
    COFI_TRY(read_rating(ps, rating, 0, &v));
    cofi_idx it, us;
    int fresh;
    COFI_TRY(idmap_get(&ps->items, item, ps->lineno, &it, &fresh));
    COFI_TRY(idmap_get(&ps->users, user, ps->lineno, &us, &fresh));
    return push(ps, it, us, v);
}

static int field_count_error(parser *ps, size_t want, const char *how, size_t found)
{
    return cofi_error(COFI_ERR_FORMAT, "'%s' line %" PRIidx ": expected %zu %s fields, found %zu",
                      ps->name, ps->lineno, want, how, found);
}

/* u.data: user item rating timestamp, separated by tabs (or any whitespace). */
static int line_100k(parser *ps, span t)
{
    span f[4];
    size_t k = split_ws(t, f, 4);
    if (k != 4) return field_count_error(ps, 4, "tab-separated", k);
    return add_rating(ps, f[1], f[0], f[2]);
}

/* ratings.csv: the header, then user,item,rating,timestamp. */
static int line_csv(parser *ps, span t, int first)
{
    static const char *const header[4] = {"userId", "movieId", "rating", "timestamp"};
    span f[4];
    size_t k = split_char(t, ',', f, 4);
    if (first) {
        int ok = k == 4;
        for (size_t i = 0; ok && i < 4; i++) ok = span_is(f[i], header[i]);
        if (!ok)
            return cofi_error(COFI_ERR_FORMAT,
                              "'%s' line %" PRIidx ": expected the header "
                              "'userId,movieId,rating,timestamp', found '%.*s%s'",
                              ps->name, ps->lineno, SHOW(t));
        return COFI_OK;
    }
    if (k != 4) return field_count_error(ps, 4, "comma-separated", k);
    return add_rating(ps, f[1], f[0], f[2]);
}

/* ratings.dat: user::item::rating::timestamp. */
static int line_dat(parser *ps, span t)
{
    span f[4];
    size_t k = split_dcolon(t, f, 4);
    if (k != 4) return field_count_error(ps, 4, "'::'-separated", k);
    return add_rating(ps, f[1], f[0], f[2]);
}

/* item user rating: split on commas when the line has one, otherwise on runs
 * of whitespace.  On the first line a rating that is not a number marks a
 * header. */
static int line_triplets(parser *ps, span t, int first)
{
    span f[3];
    int comma = memchr(t.p, ',', t.n) != NULL;
    size_t k = comma ? split_char(t, ',', f, 3) : split_ws(t, f, 3);
    if (k != 3)
        return cofi_error(COFI_ERR_FORMAT,
                          "'%s' line %" PRIidx ": expected 3 %s fields (item, user, rating), "
                          "found %zu",
                          ps->name, ps->lineno, comma ? "comma-separated" : "whitespace-separated",
                          k);
    if (first && f[2].n > 0) {
        double v;
        int kind;
        COFI_TRY(parse_number(ps, f[2], &v, &kind));
        if (kind == NUM_BAD) return COFI_OK;
    }
    return add_rating(ps, f[0], f[1], f[2]);
}

/* The dense table's header: a corner cell, then one unique user per cell. */
static int dense_header(parser *ps, span raw)
{
    int tab = memchr(raw.p, '\t', raw.n) != NULL, comma = memchr(raw.p, ',', raw.n) != NULL;
    ps->sep = tab && !comma ? '\t' : ',';
    ps->header = ps->lineno;
    const char *p = raw.p, *end = raw.p + raw.n;
    cofi_idx col = 0;
    for (;;) {
        const char *q = find_char(p, end, ps->sep);
        span c = trim((span){p, (size_t)((q ? q : end) - p)});
        col++;
        if (col > 1) {
            if (c.n == 0)
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s' line %" PRIidx ": empty user name in column %" PRIidx,
                                  ps->name, ps->lineno, col);
            cofi_idx id;
            int fresh;
            COFI_TRY(idmap_get(&ps->users, c, col, &id, &fresh));
            if (!fresh)
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s' line %" PRIidx ": duplicate user name '%.*s%s' in "
                                  "columns %" PRIidx " and %" PRIidx,
                                  ps->name, ps->lineno, SHOW(c), ps->users.where[id], col);
        }
        if (!q) break;
        p = q + 1;
    }
    ps->ncols = col;
    if (col < 2)
        return cofi_error(COFI_ERR_FORMAT,
                          "'%s' line %" PRIidx ": the header names no users (expected a corner "
                          "cell, then user names separated by commas or tabs)",
                          ps->name, ps->lineno);
    return COFI_OK;
}

/* A dense row: an item name, then one cell per user; empty cells are missing
 * ratings.  A row of empty cells only is skipped like a blank line. */
static int dense_row(parser *ps, span raw)
{
    const char *p = raw.p, *end = raw.p + raw.n;
    int any = 0;
    for (size_t i = 0; i < raw.n && !any; i++) any = raw.p[i] != ps->sep && !is_space(raw.p[i]);
    if (!any) return COFI_OK;
    cofi_idx cells = 1;
    for (const char *q = find_char(p, end, ps->sep); q; q = find_char(q + 1, end, ps->sep)) cells++;
    if (cells != ps->ncols)
        return cofi_error(COFI_ERR_FORMAT,
                          "'%s' line %" PRIidx ": expected %" PRIidx " cells as in the header "
                          "(line %" PRIidx "), found %" PRIidx,
                          ps->name, ps->lineno, ps->ncols, ps->header, cells);
    cofi_idx item = 0;
    for (cofi_idx col = 1;; col++) {
        const char *q = find_char(p, end, ps->sep);
        span c = trim((span){p, (size_t)((q ? q : end) - p)});
        if (col == 1) {
            if (c.n == 0)
                return cofi_error(COFI_ERR_FORMAT, "'%s' line %" PRIidx ": empty item name",
                                  ps->name, ps->lineno);
            int fresh;
            COFI_TRY(idmap_get(&ps->items, c, ps->lineno, &item, &fresh));
            if (!fresh)
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s' lines %" PRIidx " and %" PRIidx
                                  ": duplicate item name '%.*s%s'",
                                  ps->name, ps->items.where[item], ps->lineno, SHOW(c));
        } else if (c.n > 0) {
            double v = 0;
            COFI_TRY(read_rating(ps, c, col, &v));
            COFI_TRY(push(ps, item, col - 2, v));
        }
        if (!q) break;
        p = q + 1;
    }
    return COFI_OK;
}

static int parse_line(parser *ps, span raw, span t)
{
    int first = !ps->started;
    ps->started = 1;
    switch (ps->fmt) {
    case COFI_TEXT_MOVIELENS_100K: return line_100k(ps, t);
    case COFI_TEXT_MOVIELENS_CSV: return line_csv(ps, t, first);
    case COFI_TEXT_MOVIELENS_DAT: return line_dat(ps, t);
    case COFI_TEXT_TRIPLETS: return line_triplets(ps, t, first);
    case COFI_TEXT_DENSE: return first ? dense_header(ps, raw) : dense_row(ps, raw);
    default: break;
    }
    return cofi_error(COFI_ERR_INTERNAL, "unknown text format %d", (int)ps->fmt);
}

static int parse_lines(parser *ps, const char *data, size_t len)
{
    size_t pos = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    while (pos < len) {
        const char *p = data + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos;
        pos += n + (nl ? 1 : 0);
        ps->lineno++;
        span raw = {p, n};
        if (n > 0 && memchr(p, '\0', n))
            return cofi_error(COFI_ERR_FORMAT,
                              "'%s' line %" PRIidx ": NUL byte (is this a text file?)", ps->name,
                              ps->lineno);
        span t = trim(raw);
        if (t.n == 0 || t.p[0] == '#') continue;
        COFI_TRY(parse_line(ps, raw, t));
    }
    return COFI_OK;
}

/* Hand the ratings and the ids, in their final order, over to out. */
static int finish(parser *ps, cofi_triplets *out)
{
    cofi_idx *irank = NULL, *urank = NULL;
    int rc = idmap_finish(&ps->items, &out->items, &irank);
    if (rc == COFI_OK) rc = idmap_finish(&ps->users, &out->users, &urank);
    if (rc != COFI_OK) {
        cofi_strings_free(&out->items);
        cofi_free(irank);
        return rc;
    }
    for (cofi_idx r = 0; r < ps->n; r++) {
        if (irank) ps->item[r] = irank[ps->item[r]];
        if (urank) ps->user[r] = urank[ps->user[r]];
    }
    cofi_free(irank);
    cofi_free(urank);
    out->n = ps->n;
    out->item = ps->item;
    out->user = ps->user;
    out->rating = ps->rating;
    out->line = ps->line;
    ps->item = ps->user = ps->line = NULL;
    ps->rating = NULL;
    return COFI_OK;
}

int cofi_text_parse_buffer(enum cofi_text_format fmt, const char *data, size_t len,
                           const char *display_name, cofi_triplets *out)
{
    memset(out, 0, sizeof *out);
    const char *name = display_name ? display_name : "input";
    if ((int)fmt < 0 || (int)fmt >= COFI_TEXT_FORMAT_COUNT)
        return cofi_error(COFI_ERR_INTERNAL, "unknown text format %d", (int)fmt);
    if (!data) {
        data = "";
        len = 0;
    }

    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.fmt = fmt;
    ps.name = name;
    ps.items.all_int = ps.users.all_int = 1;
    if (fmt != COFI_TEXT_DENSE) {
        /* At most one rating per line: size the arrays once. */
        cofi_idx lines = 1;
        for (const char *q = find_char(data, data + len, '\n'); q;
             q = find_char(q + 1, data + len, '\n'))
            lines++;
        ps.cap_hint = lines;
    }

    int rc = parse_lines(&ps, data, len);
    if (rc == COFI_OK && ps.n == 0)
        rc = cofi_error(COFI_ERR_FORMAT, "'%s': no ratings found", name);
    if (rc == COFI_OK) rc = finish(&ps, out);
    parser_free(&ps);
    return rc;
}

int cofi_text_parse_file(enum cofi_text_format fmt, const char *path, cofi_triplets *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return cofi_error(COFI_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = (size_t)1 << 16, len = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size < SIZE_MAX)
        cap = (size_t)st.st_size + 1; /* + 1: reach EOF without growing */
    char *buf = cofi_malloc(cap, 1, "the text file");
    if (!buf) {
        fclose(f);
        return COFI_ERR_NOMEM;
    }
    for (;;) {
        if (len == cap) {
            char *b = grown(buf, len, 2 * cap, 1, "the text file");
            if (!b) {
                cofi_free(buf);
                fclose(f);
                return COFI_ERR_NOMEM;
            }
            buf = b;
            cap *= 2;
        }
        errno = 0;
        len += fread(buf + len, 1, cap - len, f);
        if (ferror(f)) {
            int err = errno;
            cofi_free(buf);
            fclose(f);
            return cofi_error(COFI_ERR_IO, "cannot read '%s': %s", path,
                              err ? strerror(err) : "read error");
        }
        if (feof(f)) break;
    }
    fclose(f);
    int rc = cofi_text_parse_buffer(fmt, buf, len, path, out);
    cofi_free(buf);
    return rc;
}

void cofi_triplets_free(cofi_triplets *t)
{
    if (!t) return;
    cofi_free(t->item);
    cofi_free(t->user);
    cofi_free(t->rating);
    cofi_free(t->line);
    cofi_strings_free(&t->items);
    cofi_strings_free(&t->users);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------ */
/* Triplets to CSR                                                          */

static const char *string_at(const cofi_strings *s, cofi_idx i) { return s->buf + s->off[i]; }

int cofi_triplets_to_csr(const cofi_triplets *t, const char *display_name, cofi_csr *out)
{
    memset(out, 0, sizeof *out);
    const char *name = display_name ? display_name : "input";
    cofi_idx n = t->n, ni = t->items.n, nu = t->users.n;
    for (cofi_idx r = 0; r < n; r++)
        if (t->item[r] < 0 || t->item[r] >= ni || t->user[r] < 0 || t->user[r] >= nu)
            return cofi_error(COFI_ERR_INTERNAL,
                              "'%s': rating %" PRIidx " refers to item %" PRIidx " and user %" PRIidx
                              " outside %" PRIidx " items and %" PRIidx " users",
                              name, r, t->item[r], t->user[r], ni, nu);

    int rc = COFI_ERR_NOMEM;
    cofi_idx *ucount = cofi_calloc((size_t)nu + 1, sizeof *ucount, "the user counts");
    cofi_idx *byuser = cofi_malloc((size_t)n, sizeof *byuser, "the rating order");
    cofi_idx *perm = cofi_malloc((size_t)n, sizeof *perm, "the rating order");
    cofi_idx *indptr = cofi_calloc((size_t)ni + 1, sizeof *indptr, "the CSR row pointers");
    cofi_idx *user = NULL;
    cofi_val *rating = NULL;
    if (!ucount || !byuser || !perm || !indptr) goto done;

    /* Stable counting sort by user, then by item: (item, user, input order). */
    for (cofi_idx r = 0; r < n; r++) ucount[t->user[r] + 1]++;
    for (cofi_idx u = 0; u < nu; u++) ucount[u + 1] += ucount[u];
    for (cofi_idx r = 0; r < n; r++) byuser[ucount[t->user[r]]++] = r;
    cofi_free(ucount);
    ucount = NULL;
    for (cofi_idx r = 0; r < n; r++) indptr[t->item[r] + 1]++;
    for (cofi_idx i = 0; i < ni; i++) indptr[i + 1] += indptr[i];
    for (cofi_idx k = 0; k < n; k++) {
        cofi_idx r = byuser[k];
        perm[indptr[t->item[r]]++] = r; /* indptr[i] becomes the end of row i */
    }
    for (cofi_idx i = ni; i > 0; i--) indptr[i] = indptr[i - 1];
    indptr[0] = 0;
    cofi_free(byuser);
    byuser = NULL;

    /* Duplicates are adjacent within a row; report the one found first when
     * reading the file (smallest later line). */
    cofi_idx dup = -1;
    for (cofi_idx i = 0; i < ni; i++) {
        for (cofi_idx k = indptr[i] + 1; k < indptr[i + 1]; k++) {
            if (t->user[perm[k]] != t->user[perm[k - 1]]) continue;
            if (dup < 0 || perm[k] < perm[dup]) dup = k;
        }
    }
    if (dup >= 0) {
        cofi_idx a = perm[dup - 1], b = perm[dup];
        const char *item = string_at(&t->items, t->item[b]), *u = string_at(&t->users, t->user[b]);
        if (t->line)
            rc = cofi_error(COFI_ERR_FORMAT,
                            "'%s' lines %" PRIidx " and %" PRIidx
                            ": duplicate rating for item '%.100s' and user '%.100s'",
                            name, t->line[a], t->line[b], item, u);
        else
            rc = cofi_error(COFI_ERR_FORMAT,
                            "'%s' ratings %" PRIidx " and %" PRIidx
                            ": duplicate rating for item '%.100s' and user '%.100s'",
                            name, a + 1, b + 1, item, u);
        goto done;
    }

    user = cofi_malloc((size_t)n, sizeof *user, "the CSR users");
    rating = cofi_malloc((size_t)n, sizeof *rating, "the CSR ratings");
    if (!user || !rating) goto done;
    for (cofi_idx k = 0; k < n; k++) {
        user[k] = t->user[perm[k]];
        rating[k] = t->rating[perm[k]];
    }
    out->n_items = ni;
    out->n_users = nu;
    out->nnz = n;
    out->indptr = indptr;
    out->user = user;
    out->rating = rating;
    indptr = NULL;
    user = NULL;
    rating = NULL;
    rc = COFI_OK;
done:
    cofi_free(ucount);
    cofi_free(byuser);
    cofi_free(perm);
    cofi_free(indptr);
    cofi_free(user);
    cofi_free(rating);
    return rc;
}

void cofi_csr_free(cofi_csr *c)
{
    if (!c) return;
    cofi_free(c->indptr);
    cofi_free(c->user);
    cofi_free(c->rating);
    memset(c, 0, sizeof *c);
}

void cofi_strings_free(cofi_strings *s)
{
    if (!s) return;
    cofi_free(s->off);
    cofi_free(s->buf);
    memset(s, 0, sizeof *s);
}

int cofi_strings_numbered(const char *prefix, cofi_idx begin, cofi_idx n, cofi_strings *s)
{
    memset(s, 0, sizeof *s);
    size_t width = strlen(prefix) + 21;
    s->off = cofi_malloc((size_t)n + 1, sizeof *s->off, "ids");
    s->buf = cofi_malloc((size_t)n * width + 1, 1, "ids");
    if (!s->off || !s->buf) {
        cofi_strings_free(s);
        return COFI_ERR_NOMEM;
    }
    s->n = n;
    cofi_idx pos = 0;
    for (cofi_idx i = 0; i < n; i++) {
        s->off[i] = pos;
        pos += snprintf(s->buf + pos, width, "%s%" PRIidx, prefix, begin + i) + 1;
    }
    s->off[n] = pos;
    return COFI_OK;
}

cofi_idx cofi_strings_maxlen(const cofi_strings *s)
{
    cofi_idx m = 0;
    for (cofi_idx i = 0; s && s->off && i < s->n; i++) {
        cofi_idx len = s->off[i + 1] - s->off[i] - 1;
        if (len > m) m = len;
    }
    return m;
}

/* fuzz_text.c - the body of the text-format fuzz targets.
 *
 * cofi_fuzz_text() parses the input with cofi_text_parse_buffer and checks:
 *   - a refused input leaves the output empty and records a format error
 *     that names the input;
 *   - an accepted input, against a second, deliberately simple reading of
 *     the same bytes (lines, fields, strtod): every content line gives its
 *     ratings (no more, no fewer), each rating's item id, user id and value
 *     (bitwise what strtod reads) match the fields of its line, ids are
 *     unique, non-empty, trimmed and free of NUL, and they are ordered as
 *     text.h promises (numerically when every id is an integer, else by first
 *     appearance);
 *   - cofi_triplets_to_csr then either refuses a real duplicate pair or
 *     returns a CSR with the right sizes, row pointers from 0 to nnz, users
 *     strictly increasing and in range in every row, holding exactly the
 *     triplets. */
#include "fuzz.h"

#include "cofi/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cofi_fuzz_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: fuzz invariant violated: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    abort();
}

/* ------------------------------------------------------------------------ */
/* The simple reading: lines and fields as text.c documents them.           */

typedef struct {
    const char *p;
    size_t n;
} fspan;

static int fz_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static fspan fz_trim(fspan s)
{
    while (s.n > 0 && fz_space(s.p[0])) s.p++, s.n--;
    while (s.n > 0 && fz_space(s.p[s.n - 1])) s.n--;
    return s;
}

static int fz_eq(fspan s, const char *z) { return strlen(z) == s.n && memcmp(s.p, z, s.n) == 0; }

static int fz_has(fspan s, char c) { return s.n > 0 && memchr(s.p, c, s.n) != NULL; }

/* Up to `max` fields of `line` split at every `sep`, each trimmed; returns
 * the number of fields. */
static size_t fz_split_char(fspan line, char sep, fspan *f, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= line.n; i++) {
        if (i == line.n || line.p[i] == sep) {
            if (k < max) f[k] = fz_trim((fspan){line.p + start, i - start});
            k++;
            start = i + 1;
        }
    }
    return k;
}

static size_t fz_split_ws(fspan line, fspan *f, size_t max)
{
    size_t k = 0, i = 0;
    while (i < line.n) {
        if (fz_space(line.p[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < line.n && !fz_space(line.p[i])) i++;
        if (k < max) f[k] = (fspan){line.p + s, i - s};
        k++;
    }
    return k;
}

/* Fields separated by "::", leftmost first, not overlapping. */
static size_t fz_split_dcolon(fspan line, fspan *f, size_t max)
{
    size_t k = 0, start = 0, i = 0;
    while (i + 1 < line.n) {
        if (line.p[i] == ':' && line.p[i + 1] == ':') {
            if (k < max) f[k] = fz_trim((fspan){line.p + start, i - start});
            k++;
            i += 2;
            start = i;
        } else {
            i++;
        }
    }
    if (k < max) f[k] = fz_trim((fspan){line.p + start, line.n - start});
    return k + 1;
}

/* strtod over the whole field: 1 and *v when it reads all of it. */
static int fz_number(fspan s, double *v)
{
    if (s.n == 0) return 0;
    char *buf = malloc(s.n + 1);
    FUZZ_CHECK(buf != NULL, "out of memory");
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    char *end = NULL;
    *v = strtod(buf, &end);
    int all = end == buf + s.n;
    free(buf);
    return all;
}

/* An id made only of an optional sign and decimal digits that fits int64. */
static int fz_int64(const char *z, long long *v)
{
    const char *d = (z[0] == '+' || z[0] == '-') ? z + 1 : z;
    if (*d == '\0') return 0;
    for (const char *q = d; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    errno = 0;
    *v = strtoll(z, NULL, 10);
    return errno != ERANGE;
}

/* ------------------------------------------------------------------------ */
/* Checks of the parsed ids                                                 */

static const char *str_at(const cofi_strings *s, cofi_idx i) { return s->buf + s->off[i]; }

static const cofi_strings *g_sort_strings; /* for the qsort comparator */

static int cmp_by_text(const void *a, const void *b)
{
    return strcmp(str_at(g_sort_strings, *(const cofi_idx *)a),
                  str_at(g_sort_strings, *(const cofi_idx *)b));
}

/* Well-formed, non-empty, trimmed, found in the input, unique.  Returns
 * whether every id is an integer; vals gets their values then. */
static int check_strings(const cofi_strings *s, const char *what, const uint8_t *data,
                         size_t size, long long *vals)
{
    FUZZ_CHECK(s->n >= 1 && s->off && s->buf, "%s: no ids", what);
    FUZZ_CHECK(s->off[0] == 0, "%s: off[0] = %lld", what, (long long)s->off[0]);
    int all_int = 1;
    for (cofi_idx i = 0; i < s->n; i++) {
        cofi_idx len = s->off[i + 1] - s->off[i] - 1;
        const char *z = str_at(s, i);
        FUZZ_CHECK(len >= 1, "%s %lld: empty or malformed (off %lld..%lld)", what, (long long)i,
                   (long long)s->off[i], (long long)s->off[i + 1]);
        FUZZ_CHECK(z[len] == '\0' && strlen(z) == (size_t)len, "%s %lld: bad terminator", what,
                   (long long)i);
        FUZZ_CHECK(!fz_space(z[0]) && !fz_space(z[len - 1]), "%s %lld '%s': not trimmed", what,
                   (long long)i, z);
        FUZZ_CHECK(memchr(z, '\n', (size_t)len) == NULL, "%s %lld: holds a newline", what,
                   (long long)i);
        int found = 0;
        for (size_t p = 0; !found && p + (size_t)len <= size; p++)
            found = memcmp(data + p, z, (size_t)len) == 0;
        FUZZ_CHECK(found, "%s %lld '%s': not in the input", what, (long long)i, z);
        if (!fz_int64(z, &vals[i])) all_int = 0;
    }
    cofi_idx *ord = malloc((size_t)s->n * sizeof *ord);
    FUZZ_CHECK(ord != NULL, "out of memory");
    for (cofi_idx i = 0; i < s->n; i++) ord[i] = i;
    g_sort_strings = s;
    qsort(ord, (size_t)s->n, sizeof *ord, cmp_by_text);
    for (cofi_idx i = 1; i < s->n; i++)
        FUZZ_CHECK(strcmp(str_at(s, ord[i - 1]), str_at(s, ord[i])) != 0,
                   "%s: '%s' appears twice (%lld and %lld)", what, str_at(s, ord[i]),
                   (long long)ord[i - 1], (long long)ord[i]);
    free(ord);
    return all_int;
}

/* Integer ids: numeric order, ties (such as "7" and "007") by the bytes of
 * the text, which for NUL-free strings is strcmp's order. */
static void check_numeric_order(const cofi_strings *s, const char *what, const long long *v)
{
    for (cofi_idx i = 1; i < s->n; i++) {
        const char *a = str_at(s, i - 1), *b = str_at(s, i);
        FUZZ_CHECK(v[i - 1] < v[i] || (v[i - 1] == v[i] && strcmp(a, b) < 0),
                   "%s: integer ids out of order: %lld '%s' before %lld '%s'", what,
                   (long long)(i - 1), a, (long long)i, b);
    }
}

/* Ids not all integers, in first-appearance order: the order in which the
 * ratings (in input order) first use them must be 0, 1, 2, ... */
static void check_first_appearance(const cofi_idx *id, cofi_idx n, cofi_idx n_ids,
                                   const char *what)
{
    cofi_idx next = 0;
    for (cofi_idx r = 0; r < n; r++) {
        FUZZ_CHECK(id[r] <= next, "%s: rating %lld uses id %lld before id %lld appeared", what,
                   (long long)r, (long long)id[r], (long long)next);
        if (id[r] == next) next++;
    }
    FUZZ_CHECK(next == n_ids, "%s: %lld ids but ratings use %lld", what, (long long)n_ids,
               (long long)next);
}

/* ------------------------------------------------------------------------ */
/* The triplets against the text                                            */

typedef struct {
    fspan *line; /* line[l - 1] is line l, untrimmed, without its newline */
    size_t n;
} lines;

static lines split_lines(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    size_t pos = size >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    lines L = {malloc((size + 1) * sizeof(fspan)), 0};
    FUZZ_CHECK(L.line != NULL, "out of memory");
    while (pos < size) {
        const char *nl = memchr(d + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (d + pos)) : size - pos;
        L.line[L.n++] = (fspan){d + pos, n};
        pos += n + (nl ? 1 : 0);
    }
    return L;
}

static int content(fspan raw)
{
    fspan t = fz_trim(raw);
    return t.n > 0 && t.p[0] != '#';
}

static void check_rating(const cofi_triplets *t, cofi_idx r, fspan item, fspan user,
                         fspan rating)
{
    const char *it = str_at(&t->items, t->item[r]), *us = str_at(&t->users, t->user[r]);
    FUZZ_CHECK(item.n == strlen(it) && memcmp(item.p, it, item.n) == 0,
               "rating %lld (line %lld): item '%s', the line says '%.*s'", (long long)r,
               (long long)t->line[r], it, (int)item.n, item.p);
    FUZZ_CHECK(user.n == strlen(us) && memcmp(user.p, us, user.n) == 0,
               "rating %lld (line %lld): user '%s', the line says '%.*s'", (long long)r,
               (long long)t->line[r], us, (int)user.n, user.p);
    double v = 0;
    FUZZ_CHECK(fz_number(rating, &v), "rating %lld (line %lld): '%.*s' accepted as a number",
               (long long)r, (long long)t->line[r], (int)rating.n, rating.p);
    FUZZ_CHECK(isfinite(t->rating[r]), "rating %lld is not finite", (long long)r);
    FUZZ_CHECK(memcmp(&v, &t->rating[r], sizeof v) == 0,
               "rating %lld (line %lld): '%.*s' read as %.17g, strtod says %.17g", (long long)r,
               (long long)t->line[r], (int)rating.n, rating.p, t->rating[r], v);
}

/* The id-based formats: one rating per content line, except a header. */
static void check_id_lines(enum cofi_text_format fmt, const cofi_triplets *t, const lines *L)
{
    cofi_idx r = 0;
    int first = 1;
    for (size_t l = 0; l < L->n; l++) {
        if (!content(L->line[l])) continue;
        fspan s = fz_trim(L->line[l]), f[4];
        fspan item = {0}, user = {0}, rating = {0};
        size_t k = 0;
        switch (fmt) {
        case COFI_TEXT_MOVIELENS_100K:
            k = fz_split_ws(s, f, 4);
            item = f[1], user = f[0], rating = f[2];
            FUZZ_CHECK(k == 4, "line %zu: %zu fields accepted", l + 1, k);
            break;
        case COFI_TEXT_MOVIELENS_CSV:
            k = fz_split_char(s, ',', f, 4);
            FUZZ_CHECK(k == 4, "line %zu: %zu fields accepted", l + 1, k);
            if (first) {
                FUZZ_CHECK(fz_eq(f[0], "userId") && fz_eq(f[1], "movieId") &&
                               fz_eq(f[2], "rating") && fz_eq(f[3], "timestamp"),
                           "line %zu: header '%.*s' accepted", l + 1, (int)s.n, s.p);
                first = 0;
                continue;
            }
            item = f[1], user = f[0], rating = f[2];
            break;
        case COFI_TEXT_MOVIELENS_DAT:
            k = fz_split_dcolon(s, f, 4);
            FUZZ_CHECK(k == 4, "line %zu: %zu fields accepted", l + 1, k);
            item = f[1], user = f[0], rating = f[2];
            break;
        case COFI_TEXT_TRIPLETS: {
            k = fz_has(s, ',') ? fz_split_char(s, ',', f, 3) : fz_split_ws(s, f, 3);
            FUZZ_CHECK(k == 3, "line %zu: %zu fields accepted", l + 1, k);
            double v;
            if (first && !fz_number(f[2], &v)) {
                first = 0;
                continue; /* a header */
            }
            item = f[0], user = f[1], rating = f[2];
            break;
        }
        default: FUZZ_CHECK(0, "format %d", (int)fmt);
        }
        first = 0;
        FUZZ_CHECK(r < t->n, "line %zu has no rating (%lld ratings)", l + 1, (long long)t->n);
        FUZZ_CHECK(t->line[r] == (cofi_idx)(l + 1), "rating %lld is from line %lld, expected %zu",
                   (long long)r, (long long)t->line[r], l + 1);
        check_rating(t, r, item, user, rating);
        r++;
    }
    FUZZ_CHECK(r == t->n, "%lld ratings, the text has %lld", (long long)t->n, (long long)r);
}

/* The dense table: the header names the users, each row an item; a
 * non-empty cell is a rating.  Users are in column order and items in row
 * order unless all of them are integers. */
static void check_dense(const cofi_triplets *t, const lines *L, int items_int, int users_int)
{
    size_t l = 0;
    while (l < L->n && !content(L->line[l])) l++;
    FUZZ_CHECK(l < L->n, "no header line");
    fspan hraw = L->line[l];
    char sep = fz_has(hraw, '\t') && !fz_has(hraw, ',') ? '\t' : ',';
    size_t ncols = fz_split_char(hraw, sep, NULL, 0);
    fspan *head = malloc(ncols * sizeof *head), *cell = malloc(ncols * sizeof *cell);
    FUZZ_CHECK(head && cell, "out of memory");
    fz_split_char(hraw, sep, head, ncols);
    FUZZ_CHECK((cofi_idx)ncols - 1 == t->users.n, "%zu header cells, %lld users", ncols,
               (long long)t->users.n);
    for (size_t c = 1; c < ncols; c++) {
        cofi_idx u = (cofi_idx)c - 1;
        if (users_int) /* numeric order: look the name up */
            for (u = 0; u < t->users.n && !fz_eq(head[c], str_at(&t->users, u)); u++) continue;
        FUZZ_CHECK(u < t->users.n && fz_eq(head[c], str_at(&t->users, u)),
                   "column %zu: user '%.*s' is not user %lld", c + 1, (int)head[c].n, head[c].p,
                   (long long)u);
    }
    cofi_idx r = 0, rows = 0;
    for (l = l + 1; l < L->n; l++) {
        fspan raw = L->line[l];
        if (!content(raw)) continue;
        int any = 0;
        for (size_t i = 0; i < raw.n && !any; i++) any = raw.p[i] != sep && !fz_space(raw.p[i]);
        if (!any) continue;
        size_t k = fz_split_char(raw, sep, cell, ncols);
        FUZZ_CHECK(k == ncols, "line %zu: %zu cells accepted, header has %zu", l + 1, k, ncols);
        FUZZ_CHECK(rows < t->items.n, "line %zu: a row beyond the %lld items", l + 1,
                   (long long)t->items.n);
        FUZZ_CHECK(items_int || fz_eq(cell[0], str_at(&t->items, rows)),
                   "line %zu: row '%.*s' is not item %lld '%s'", l + 1, (int)cell[0].n,
                   cell[0].p, (long long)rows, str_at(&t->items, rows));
        rows++;
        for (size_t c = 1; c < ncols; c++) {
            if (cell[c].n == 0) continue;
            FUZZ_CHECK(r < t->n && t->line[r] == (cofi_idx)(l + 1),
                       "line %zu, column %zu: rating missing", l + 1, c + 1);
            check_rating(t, r, cell[0], head[c], cell[c]);
            r++;
        }
    }
    FUZZ_CHECK(r == t->n, "%lld ratings, the table has %lld", (long long)t->n, (long long)r);
    FUZZ_CHECK(rows == t->items.n, "%lld items, the table has %lld rows", (long long)t->items.n,
               (long long)rows);
    free(head);
    free(cell);
}

/* ------------------------------------------------------------------------ */
/* The CSR                                                                  */

static const cofi_triplets *g_sort_trip;

static int cmp_pair(const void *a, const void *b)
{
    cofi_idx x = *(const cofi_idx *)a, y = *(const cofi_idx *)b;
    const cofi_triplets *t = g_sort_trip;
    if (t->item[x] != t->item[y]) return t->item[x] < t->item[y] ? -1 : 1;
    if (t->user[x] != t->user[y]) return t->user[x] < t->user[y] ? -1 : 1;
    return 0;
}

/* Does some (item, user) pair occur twice? */
static int has_duplicate(const cofi_triplets *t)
{
    cofi_idx *ord = malloc((size_t)t->n * sizeof *ord);
    FUZZ_CHECK(ord != NULL, "out of memory");
    for (cofi_idx r = 0; r < t->n; r++) ord[r] = r;
    g_sort_trip = t;
    qsort(ord, (size_t)t->n, sizeof *ord, cmp_pair);
    int dup = 0;
    for (cofi_idx k = 1; k < t->n && !dup; k++) dup = cmp_pair(&ord[k - 1], &ord[k]) == 0;
    free(ord);
    return dup;
}

static void check_csr(const cofi_triplets *t)
{
    cofi_csr c;
    cofi_error_clear();
    int rc = cofi_triplets_to_csr(t, "fuzz", &c);
    int dup = has_duplicate(t);
    if (rc != COFI_OK) {
        FUZZ_CHECK(dup, "to_csr refused input without duplicates: %s", cofi_error_message());
        FUZZ_CHECK(rc == COFI_ERR_FORMAT && strstr(cofi_error_message(), "duplicate rating") &&
                       strstr(cofi_error_message(), "'fuzz' lines "),
                   "to_csr: code %d, message '%s'", rc, cofi_error_message());
        FUZZ_CHECK(c.indptr == NULL && c.user == NULL && c.rating == NULL, "to_csr: output left");
        return;
    }
    FUZZ_CHECK(!dup, "to_csr accepted a duplicate pair");
    FUZZ_CHECK(c.n_items == t->items.n && c.n_users == t->users.n && c.nnz == t->n,
               "csr sizes %lld x %lld, %lld; triplets %lld x %lld, %lld", (long long)c.n_items,
               (long long)c.n_users, (long long)c.nnz, (long long)t->items.n,
               (long long)t->users.n, (long long)t->n);
    FUZZ_CHECK(c.indptr[0] == 0 && c.indptr[c.n_items] == c.nnz, "indptr ends %lld, %lld",
               (long long)c.indptr[0], (long long)c.indptr[c.n_items]);
    for (cofi_idx i = 0; i < c.n_items; i++) {
        FUZZ_CHECK(c.indptr[i] <= c.indptr[i + 1], "indptr decreases at %lld", (long long)i);
        for (cofi_idx p = c.indptr[i]; p < c.indptr[i + 1]; p++) {
            FUZZ_CHECK(c.user[p] >= 0 && c.user[p] < c.n_users, "user %lld out of range",
                       (long long)c.user[p]);
            FUZZ_CHECK(p == c.indptr[i] || c.user[p - 1] < c.user[p],
                       "row %lld: users not strictly increasing", (long long)i);
        }
    }
    /* Every triplet is in its row (binary search); with equal counts and no
     * duplicates that makes the CSR exactly the triplets. */
    for (cofi_idx r = 0; r < t->n; r++) {
        cofi_idx i = t->item[r], lo = c.indptr[i], hi = c.indptr[i + 1];
        while (lo < hi) {
            cofi_idx mid = lo + (hi - lo) / 2;
            if (c.user[mid] < t->user[r]) lo = mid + 1;
            else hi = mid;
        }
        FUZZ_CHECK(lo < c.indptr[i + 1] && c.user[lo] == t->user[r] &&
                       memcmp(&c.rating[lo], &t->rating[r], sizeof(double)) == 0,
                   "rating %lld (item %lld, user %lld) missing from the CSR", (long long)r,
                   (long long)i, (long long)t->user[r]);
    }
    cofi_csr_free(&c);
}

/* ------------------------------------------------------------------------ */

int cofi_fuzz_text(enum cofi_text_format fmt, const uint8_t *data, size_t size)
{
    cofi_triplets t;
    cofi_error_clear();
    int rc = cofi_text_parse_buffer(fmt, (const char *)data, size, "fuzz", &t);
    if (rc != COFI_OK) {
        FUZZ_CHECK(rc == COFI_ERR_FORMAT, "parse: code %d (%s)", rc, cofi_error_message());
        FUZZ_CHECK(strncmp(cofi_error_message(), "'fuzz'", 6) == 0,
                   "parse: message does not name the input: '%s'", cofi_error_message());
        FUZZ_CHECK(t.n == 0 && !t.item && !t.user && !t.rating && !t.line && !t.items.buf &&
                       !t.users.buf && !t.items.off && !t.users.off,
                   "parse failed but left output");
        return 0;
    }
    FUZZ_CHECK(t.n >= 1 && t.item && t.user && t.rating && t.line, "parse: empty result");
    for (cofi_idx r = 0; r < t.n; r++) {
        FUZZ_CHECK(t.item[r] >= 0 && t.item[r] < t.items.n, "rating %lld: item %lld of %lld",
                   (long long)r, (long long)t.item[r], (long long)t.items.n);
        FUZZ_CHECK(t.user[r] >= 0 && t.user[r] < t.users.n, "rating %lld: user %lld of %lld",
                   (long long)r, (long long)t.user[r], (long long)t.users.n);
        FUZZ_CHECK(t.line[r] >= 1 && (r == 0 || t.line[r - 1] <= t.line[r]),
                   "rating %lld: line %lld", (long long)r, (long long)t.line[r]);
    }
    long long *ivals = malloc((size_t)t.items.n * sizeof *ivals);
    long long *uvals = malloc((size_t)t.users.n * sizeof *uvals);
    FUZZ_CHECK(ivals && uvals, "out of memory");
    int items_int = check_strings(&t.items, "items", data, size, ivals);
    int users_int = check_strings(&t.users, "users", data, size, uvals);
    if (items_int) check_numeric_order(&t.items, "items", ivals);
    if (users_int) check_numeric_order(&t.users, "users", uvals);

    lines L = split_lines(data, size);
    if (fmt == COFI_TEXT_DENSE) {
        check_dense(&t, &L, items_int, users_int);
    } else {
        check_id_lines(fmt, &t, &L);
        if (!items_int) check_first_appearance(t.item, t.n, t.items.n, "items");
        if (!users_int) check_first_appearance(t.user, t.n, t.users.n, "users");
    }
    free(L.line);
    free(ivals);
    free(uvals);
    check_csr(&t);
    cofi_triplets_free(&t);
    return 0;
}

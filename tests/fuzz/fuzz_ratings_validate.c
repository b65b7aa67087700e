/* fuzz_ratings_validate.c - fuzz target: the checks and the compact storage
 * of a ratings file's contents, as cofi_read_ratings runs them.
 *
 * The input is read as a small ratings matrix (missing bytes read as 0):
 *   byte 0        n_items = b & 31
 *   bytes 1-2     n_users = (b1 | b2 << 8) & 1023
 *   bytes 3-4     nnz (int16, may disagree with the row pointers)
 *   byte 5        ranks P = 1 + (b & 3), this rank = (b >> 2) % P; bit 7:
 *                 then convert the ratings to single precision
 *   then          n_items + 1 row pointers (int16 each: negative, decreasing
 *                 and out-of-range pointers are all reachable),
 *                 this rank's users (int16 each), its ratings (one byte each,
 *                 a few of them NaN, infinities, 0.1, values beyond float).
 * It checks cofi_indptr_validate and cofi_ratings_validate against a direct
 * scan (refused exactly when something is wrong, with a message naming the
 * file), the partition (P contiguous blocks covering the rows), and for valid
 * input cofi_ratings_store (the same users and ratings, in float exactly
 * when every rating is a float) and cofi_ratings_build_transpose (each
 * rating listed once under its user, in item order, pointing back at its
 * row and position). */
#include "fuzz.h"

#include "cofi/error.h"
#include "cofi/partition.h"
#include "cofi/ratings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} reader;

static unsigned byte_at(reader *in)
{
    return in->pos < in->n ? in->p[in->pos++] : (in->pos++, 0u);
}

static int16_t i16_at(reader *in)
{
    unsigned lo = byte_at(in), hi = byte_at(in);
    return (int16_t)(uint16_t)(lo | hi << 8);
}

static double rating_of(unsigned b)
{
    switch (b) {
    case 255: return NAN;
    case 254: return INFINITY;
    case 253: return -INFINITY;
    case 252: return 0.1;     /* not a float */
    case 251: return 1e300;   /* far beyond float */
    case 250: return 4.9e-324; /* a denormal double, 0 as a float */
    case 249: return -0.0;
    case 248: return 3.4028234663852886e38; /* FLT_MAX, a float */
    default: return ((double)b - 100.0) * 0.5;
    }
}

static void check_message(int rc, const char *what)
{
    FUZZ_CHECK(rc == COFI_ERR_FORMAT, "%s: code %d (%s)", what, rc, cofi_error_message());
    FUZZ_CHECK(strncmp(cofi_error_message(), "'fuzz'", 6) == 0,
               "%s: message does not name the file: '%s'", what, cofi_error_message());
}

/* The transposed index against the CSR. */
static void check_transpose(const cofi_ratings *R)
{
    cofi_idx nnz = R->nnz_local;
    FUZZ_CHECK(R->tptr[0] == 0 && R->tptr[R->n_users] == nnz, "tptr ends %lld, %lld of %lld",
               (long long)R->tptr[0], (long long)R->tptr[R->n_users], (long long)nnz);
    for (cofi_idx j = 0; j < R->n_users; j++)
        FUZZ_CHECK(R->tptr[j] <= R->tptr[j + 1], "tptr decreases at user %lld", (long long)j);
    /* rpos sends each rating to a distinct place in its user's list, which
     * names the rating's item; each list is in increasing item order */
    unsigned char *seen = calloc((size_t)nnz + 1, 1);
    FUZZ_CHECK(seen != NULL, "out of memory");
    for (cofi_idx i = 0; i < R->n_local; i++)
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            cofi_lidx t = R->rpos[r];
            cofi_idx j = R->user[r];
            FUZZ_CHECK(t >= R->tptr[j] && t < R->tptr[j + 1] && !seen[t],
                       "rating %lld: place %d not free in user %lld's list", (long long)r, (int)t,
                       (long long)j);
            seen[t] = 1;
            FUZZ_CHECK(R->titem[t] == i, "rating %lld: place %d names item %d, not %lld",
                       (long long)r, (int)t, (int)R->titem[t], (long long)i);
        }
    for (cofi_idx j = 0; j < R->n_users; j++)
        for (cofi_idx t = R->tptr[j] + 1; t < R->tptr[j + 1]; t++)
            FUZZ_CHECK(R->titem[t - 1] < R->titem[t], "user %lld: items not increasing", (long long)j);
    free(seen);
}

int cofi_fuzz_ratings_validate(const uint8_t *data, size_t size)
{
    reader in = {data, size, 0};
    cofi_idx n_items = byte_at(&in) & 31;
    cofi_idx n_users = (cofi_idx)((byte_at(&in) | byte_at(&in) << 8) & 1023);
    cofi_idx nnz = i16_at(&in);
    unsigned b5 = byte_at(&in);
    int nparts = 1 + (int)(b5 & 3), rank = (int)((b5 >> 2) & 31) % nparts;
    int single = (b5 & 128) != 0;

    /* The row pointers, as rank 0 reads and checks them. */
    cofi_idx *indptr = malloc(((size_t)n_items + 1) * sizeof *indptr);
    FUZZ_CHECK(indptr != NULL, "out of memory");
    for (cofi_idx i = 0; i <= n_items; i++) indptr[i] = i16_at(&in);
    int bad = indptr[0] != 0 || indptr[n_items] != nnz;
    for (cofi_idx i = 0; i < n_items; i++) bad |= indptr[i + 1] < indptr[i];
    cofi_error_clear();
    int rc = cofi_indptr_validate(indptr, n_items, nnz, "fuzz");
    if (rc != COFI_OK || bad) {
        FUZZ_CHECK(rc != COFI_OK && bad, "indptr_validate says %d, the scan %s", rc,
                   bad ? "finds a fault" : "finds none");
        check_message(rc, "indptr_validate");
        free(indptr);
        return 0;
    }

    /* This rank's block of items. */
    cofi_idx starts[5];
    cofi_partition_rows(indptr, n_items, nparts, starts);
    FUZZ_CHECK(starts[0] == 0 && starts[nparts] == n_items, "partition covers %lld..%lld of %lld",
               (long long)starts[0], (long long)starts[nparts], (long long)n_items);
    for (int p = 0; p < nparts; p++)
        FUZZ_CHECK(starts[p] <= starts[p + 1], "partition block %d is negative", p);

    cofi_ratings R;
    memset(&R, 0, sizeof R);
    R.n_items = n_items;
    R.n_users = n_users;
    R.nnz = nnz;
    R.item_begin = starts[rank];
    R.n_local = starts[rank + 1] - starts[rank];
    R.nnz_begin = indptr[R.item_begin];
    R.nnz_local = indptr[R.item_begin + R.n_local] - R.nnz_begin;
    R.indptr = cofi_malloc((size_t)R.n_local + 1, sizeof *R.indptr, "fuzz");
    cofi_idx *user = malloc(((size_t)R.nnz_local + 1) * sizeof *user);
    double *rating = malloc(((size_t)R.nnz_local + 1) * sizeof *rating);
    const cofi_idx nl = R.nnz_local;
    FUZZ_CHECK(R.indptr && user && rating, "out of memory");
    for (cofi_idx i = 0; i <= R.n_local; i++) R.indptr[i] = indptr[R.item_begin + i] - R.nnz_begin;
    for (cofi_idx r = 0; r < R.nnz_local; r++) user[r] = i16_at(&in);
    for (cofi_idx r = 0; r < R.nnz_local; r++) rating[r] = rating_of(byte_at(&in));
    free(indptr);

    bad = 0;
    for (cofi_idx i = 0; i < R.n_local; i++)
        for (cofi_idx r = R.indptr[i]; r < R.indptr[i + 1]; r++)
            bad |= user[r] < 0 || user[r] >= n_users || !isfinite(rating[r]) ||
                   (r > R.indptr[i] && user[r] <= user[r - 1]);
    rc = cofi_ratings_validate(&R, user, rating, "fuzz");
    if (rc != COFI_OK || bad) {
        FUZZ_CHECK(rc != COFI_OK && bad, "ratings_validate says %d, the scan %s", rc,
                   bad ? "finds a fault" : "finds none");
        check_message(rc, "ratings_validate");
        cofi_ratings_free(&R);
        free(user);
        free(rating);
        return 0;
    }

    int exact = 1;
    for (cofi_idx r = 0; r < R.nnz_local; r++) exact &= (double)(float)rating[r] == rating[r];
    FUZZ_CHECK(cofi_ratings_float_exact(rating, R.nnz_local) == exact, "float_exact disagrees");
    rc = cofi_ratings_store(&R, user, rating, exact);
    FUZZ_CHECK(rc == COFI_OK, "store: %s", cofi_error_message());
    FUZZ_CHECK((R.rating32 != NULL) == exact && (R.rating64 != NULL) == !exact,
               "store: float %d, double %d for exact %d", R.rating32 != NULL,
               R.rating64 != NULL, exact);
    if (single) {
        FUZZ_CHECK(cofi_ratings_to_single(&R) == COFI_OK, "to_single: %s", cofi_error_message());
        FUZZ_CHECK(R.rating32 && !R.rating64, "to_single left double ratings");
    }
    FUZZ_CHECK(R.nnz_local == nl, "store changed the rating count: %lld, was %lld",
               (long long)R.nnz_local, (long long)nl);
    for (cofi_idx r = 0; r < nl; r++) {
        double want = single ? (double)(float)rating[r] : rating[r];
        FUZZ_CHECK(R.user[r] == user[r], "store: user %lld is %d, was %lld", (long long)r,
                   (int)R.user[r], (long long)user[r]);
        FUZZ_CHECK(cofi_rating(&R, r) == want, "store: rating %lld is %.17g, want %.17g",
                   (long long)r, cofi_rating(&R, r), want);
    }
    rc = cofi_ratings_build_transpose(&R);
    FUZZ_CHECK(rc == COFI_OK, "build_transpose: %s", cofi_error_message());
    check_transpose(&R);
    double bytes = cofi_ratings_bytes(&R);
    FUZZ_CHECK(isfinite(bytes) && bytes > 0, "ratings_bytes %g", bytes);
    cofi_ratings_free(&R);
    free(user);
    free(rating);
    return 0;
}

COFI_FUZZ_ENTRY(cofi_fuzz_ratings_validate)

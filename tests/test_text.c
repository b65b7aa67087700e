/* test_text.c - unit tests of the text rating parsers and cofi_triplets_to_csr.
 *
 * Every expected array below was worked out by hand from the input shown next
 * to it.  Inputs are copied into a heap buffer of exactly their length (no NUL
 * terminator) before parsing, so a sanitizer build catches any read past the
 * end.  The sample files in tests/data/convert are checked too when
 * COFI_TEST_DATA is set (ctest sets it). */
#include "cofi/error.h"
#include "cofi/text.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) ((cofi_idx)(sizeof(a) / sizeof((a)[0])))

static const char *fmt_name(enum cofi_text_format f) { return cofi_text_format_name(f); }

/* Parse `len` bytes of `text` from an exact-size heap copy. */
static int parse_n(enum cofi_text_format fmt, const char *text, size_t len, const char *name,
                   cofi_triplets *t)
{
    char *buf = malloc(len ? len : 1);
    if (!buf) abort();
    memcpy(buf, text, len);
    cofi_error_clear();
    int rc = cofi_text_parse_buffer(fmt, buf, len, name, t);
    free(buf);
    return rc;
}

static int parse(enum cofi_text_format fmt, const char *text, cofi_triplets *t)
{
    return parse_n(fmt, text, strlen(text), "f", t);
}

static int is_empty_triplets(const cofi_triplets *t)
{
    return t->n == 0 && !t->item && !t->user && !t->rating && !t->line && !t->items.off &&
           !t->items.buf && !t->users.off && !t->users.buf && t->items.n == 0 && t->users.n == 0;
}

static void check_strings(const cofi_strings *s, const char *const *want, cofi_idx n,
                          const char *what, int at)
{
    CHECK(s->n == n, "line %d: %s: %" PRIidx " ids, expected %" PRIidx, at, what, s->n, n);
    if (s->n != n) return;
    CHECK(s->off[0] == 0, "line %d: %s: off[0] = %" PRIidx, at, what, s->off[0]);
    for (cofi_idx i = 0; i < n; i++) {
        const char *got = s->buf + s->off[i];
        CHECK(strcmp(got, want[i]) == 0, "line %d: %s[%" PRIidx "] = '%s', expected '%s'", at,
              what, i, got, want[i]);
        CHECK(s->off[i + 1] == s->off[i] + (cofi_idx)strlen(want[i]) + 1,
              "line %d: %s: off[%" PRIidx "] wrong", at, what, i + 1);
    }
}

static void check_idx(const cofi_idx *got, const cofi_idx *want, cofi_idx n, const char *what,
                      int at)
{
    for (cofi_idx i = 0; i < n; i++)
        CHECK(got[i] == want[i], "line %d: %s[%" PRIidx "] = %" PRIidx ", expected %" PRIidx, at,
              what, i, got[i], want[i]);
}

static void check_val(const cofi_val *got, const double *want, cofi_idx n, const char *what,
                      int at)
{
    for (cofi_idx i = 0; i < n; i++)
        CHECK(got[i] == want[i], "line %d: %s[%" PRIidx "] = %.17g, expected %.17g", at, what,
              i, got[i], want[i]);
}

static void check_triplets(const cofi_triplets *t, cofi_idx n, const cofi_idx *item,
                           const cofi_idx *user, const double *rating, const cofi_idx *line,
                           int at)
{
    CHECK(t->n == n, "line %d: %" PRIidx " ratings, expected %" PRIidx, at, t->n, n);
    if (t->n != n) return;
    check_idx(t->item, item, n, "item", at);
    check_idx(t->user, user, n, "user", at);
    check_val(t->rating, rating, n, "rating", at);
    check_idx(t->line, line, n, "line", at);
}

static void check_csr(const cofi_csr *c, cofi_idx ni, cofi_idx nu, cofi_idx nnz,
                      const cofi_idx *indptr, const cofi_idx *user, const double *rating, int at)
{
    CHECK(c->n_items == ni, "line %d: n_items %" PRIidx ", expected %" PRIidx, at, c->n_items, ni);
    CHECK(c->n_users == nu, "line %d: n_users %" PRIidx ", expected %" PRIidx, at, c->n_users, nu);
    CHECK(c->nnz == nnz, "line %d: nnz %" PRIidx ", expected %" PRIidx, at, c->nnz, nnz);
    if (c->n_items != ni || c->nnz != nnz) return;
    check_idx(c->indptr, indptr, ni + 1, "indptr", at);
    check_idx(c->user, user, nnz, "csr user", at);
    check_val(c->rating, rating, nnz, "csr rating", at);
}

/* Parse, expect failure with `code`, and a message equal to `msg` (exact) or
 * containing it. */
static void expect_fail_n(enum cofi_text_format fmt, const char *text, size_t len,
                          const char *name, int code, const char *msg, int exact, int at)
{
    cofi_triplets t;
    memset(&t, 0x5a, sizeof t);
    int rc = parse_n(fmt, text, len, name, &t);
    CHECK(rc == code, "line %d: %s: rc %d, expected %d (message: %s)", at, fmt_name(fmt), rc,
          code, cofi_error_message());
    const char *m = cofi_error_message();
    if (exact)
        CHECK(strcmp(m, msg) == 0, "line %d: message '%s', expected '%s'", at, m, msg);
    else
        CHECK(strstr(m, msg) != NULL, "line %d: message '%s' lacks '%s'", at, m, msg);
    CHECK(is_empty_triplets(&t), "line %d: output not left empty on error", at);
    if (rc == COFI_OK) cofi_triplets_free(&t);
}

#define EXPECT_FAIL(fmt, lit, msg) \
    expect_fail_n((fmt), (lit), sizeof(lit) - 1, "f", COFI_ERR_FORMAT, (msg), 0, __LINE__)
#define EXPECT_FAIL_EXACT(fmt, lit, name, msg) \
    expect_fail_n((fmt), (lit), sizeof(lit) - 1, (name), COFI_ERR_FORMAT, (msg), 1, __LINE__)

/* Parse and build the CSR; 0 on success. */
static int parse_csr(enum cofi_text_format fmt, const char *text, cofi_triplets *t, cofi_csr *c)
{
    int rc = parse(fmt, text, t);
    CHECK(rc == COFI_OK, "parse failed: %s", cofi_error_message());
    if (rc != COFI_OK) return rc;
    rc = cofi_triplets_to_csr(t, "f", c);
    CHECK(rc == COFI_OK, "csr failed: %s", cofi_error_message());
    if (rc != COFI_OK) cofi_triplets_free(t);
    return rc;
}

/* ------------------------------------------------------------------------ */

static void test_format_names(void)
{
    const char *names[] = {"movielens-100k", "movielens-csv", "movielens-dat", "triplets",
                           "dense"};
    for (int f = 0; f < COFI_TEXT_FORMAT_COUNT; f++) {
        enum cofi_text_format got = COFI_TEXT_FORMAT_COUNT;
        cofi_error_clear();
        CHECK(cofi_text_format_parse(names[f], &got) == COFI_OK, "parse '%s'", names[f]);
        CHECK((int)got == f, "'%s' -> %d", names[f], (int)got);
        CHECK(strcmp(cofi_text_format_name((enum cofi_text_format)f), names[f]) == 0,
              "name of %d", f);
    }
    enum cofi_text_format got;
    cofi_error_clear();
    CHECK(cofi_text_format_parse("csv", &got) == COFI_ERR_USAGE, "unknown format accepted");
    CHECK(strstr(cofi_error_message(), "unknown format 'csv'") != NULL &&
              strstr(cofi_error_message(), "movielens-100k") &&
              strstr(cofi_error_message(), "dense"),
          "message: %s", cofi_error_message());
    cofi_error_clear();
    CHECK(cofi_text_format_parse(NULL, &got) == COFI_ERR_USAGE, "NULL name accepted");
    CHECK(strcmp(cofi_text_format_name(COFI_TEXT_FORMAT_COUNT), "unknown") == 0, "bad enum");
}

/* u.data: users 10, 2 (numeric order 2, 10); items 5, 1, 20 (order 1, 5, 20). */
static const char ml100k_text[] = "10\t5\t3\t881250949\n"
                                  "2\t5\t4\t881250950\n"
                                  "\n"
                                  "# comment\n"
                                  "10  1\t5\t1\n"
                                  "2\t20\t1.5\t0"; /* no final newline */

static void check_ml100k(const char *text, size_t len, int at)
{
    cofi_triplets t;
    int rc = parse_n(COFI_TEXT_MOVIELENS_100K, text, len, "u.data", &t);
    CHECK(rc == COFI_OK, "line %d: %s", at, cofi_error_message());
    if (rc != COFI_OK) return;
    static const char *items[] = {"1", "5", "20"}, *users[] = {"2", "10"};
    check_strings(&t.items, items, 3, "items", at);
    check_strings(&t.users, users, 2, "users", at);
    cofi_idx item[] = {1, 1, 0, 2}, user[] = {1, 0, 1, 0}, line[] = {1, 2, 5, 6};
    double rating[] = {3, 4, 5, 1.5};
    check_triplets(&t, 4, item, user, rating, line, at);
    cofi_csr c;
    rc = cofi_triplets_to_csr(&t, "u.data", &c);
    CHECK(rc == COFI_OK, "line %d: %s", at, cofi_error_message());
    if (rc == COFI_OK) {
        cofi_idx indptr[] = {0, 1, 3, 4}, cu[] = {1, 0, 1, 0};
        double cr[] = {5, 4, 3, 1.5};
        check_csr(&c, 3, 2, 4, indptr, cu, cr, at);
        cofi_csr_free(&c);
        CHECK(c.indptr == NULL && c.nnz == 0, "csr_free leaves it empty");
    }
    CHECK(cofi_strings_maxlen(&t.items) == 2 && cofi_strings_maxlen(&t.users) == 2, "maxlen");
    cofi_triplets_free(&t);
    CHECK(is_empty_triplets(&t), "triplets_free leaves it empty");
}

static void test_ml100k(void)
{
    check_ml100k(ml100k_text, sizeof ml100k_text - 1, __LINE__);

    /* The same with CRLF line ends and a final CRLF, and with a byte order mark. */
    static const char crlf[] = "10\t5\t3\t881250949\r\n"
                               "2\t5\t4\t881250950\r\n"
                               "\r\n"
                               "# comment\r\n"
                               "10  1\t5\t1\r\n"
                               "2\t20\t1.5\t0\r\n";
    check_ml100k(crlf, sizeof crlf - 1, __LINE__);
    static const char bom[] = "\xEF\xBB\xBF"
                              "10\t5\t3\t881250949\n"
                              "2\t5\t4\t881250950\n"
                              "   \t \n"
                              "  # indented comment\n"
                              "10  1\t5\t1\n"
                              "2\t20\t1.5\t0\n";
    check_ml100k(bom, sizeof bom - 1, __LINE__);

    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_100K, "1\t2\t3\t4\n1\t2\t3\n", "u.data",
                      "'u.data' line 2: expected 4 tab-separated fields, found 3");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_100K, "1\t2\t3\t4\t5\n", "u.data",
                      "'u.data' line 1: expected 4 tab-separated fields, found 5");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_100K, "1\t2\tx\t4\n", "u.data",
                      "'u.data' line 1: rating 'x' is not a number");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_100K, "1\t2\t4.5.1\t4\n", "u.data",
                      "'u.data' line 1: rating '4.5.1' is not a number");
}

/* ratings.csv: header; users 1, 7; items 31, 1029. */
static void test_mlcsv(void)
{
    cofi_triplets t;
    cofi_csr c;
    if (parse_csr(COFI_TEXT_MOVIELENS_CSV,
                  "userId,movieId,rating,timestamp\r\n"
                  "1,31,2.5,1260759144\r\n"
                  "1,1029,3.0,1260759179\r\n"
                  "7,31,4.5,1\r\n"
                  " 7 , 1029 , 0.5 , 2 \r\n",
                  &t, &c) == COFI_OK) {
        static const char *items[] = {"31", "1029"}, *users[] = {"1", "7"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {0, 1, 0, 1}, user[] = {0, 0, 1, 1}, line[] = {2, 3, 4, 5};
        double rating[] = {2.5, 3.0, 4.5, 0.5};
        check_triplets(&t, 4, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 2, 4}, cu[] = {0, 1, 0, 1};
        double cr[] = {2.5, 4.5, 3.0, 0.5};
        check_csr(&c, 2, 2, 4, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }

    /* Comments and blank lines may come before the header. */
    if (parse(COFI_TEXT_MOVIELENS_CSV, "# ml\n\nuserId,movieId,rating,timestamp\n3,4,5,6", &t) ==
        COFI_OK) {
        static const char *items[] = {"4"}, *users[] = {"3"};
        check_strings(&t.items, items, 1, "items", __LINE__);
        check_strings(&t.users, users, 1, "users", __LINE__);
        cofi_idx z[] = {0}, line[] = {4};
        double r[] = {5};
        check_triplets(&t, 1, z, z, r, line, __LINE__);
        cofi_triplets_free(&t);
    } else {
        CHECK(0, "csv after comments: %s", cofi_error_message());
    }

    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV, "1,31,2.5,1260759144\n", "ratings.csv",
                      "'ratings.csv' line 1: expected the header "
                      "'userId,movieId,rating,timestamp', found '1,31,2.5,1260759144'");
    EXPECT_FAIL(COFI_TEXT_MOVIELENS_CSV, "userId,movieId,rating\n1,2,3\n",
                "line 1: expected the header");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV,
                      "userId,movieId,rating,timestamp\n1,2,abc,4\n", "ratings.csv",
                      "'ratings.csv' line 2: rating 'abc' is not a number");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV, "userId,movieId,rating,timestamp\n1,2,3\n",
                      "ratings.csv",
                      "'ratings.csv' line 2: expected 4 comma-separated fields, found 3");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV, "userId,movieId,rating,timestamp\n1,2,,4\n", "r",
                      "'r' line 2: empty rating");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV, "userId,movieId,rating,timestamp\n ,2,3,4\n", "r",
                      "'r' line 2: empty user id");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV, "userId,movieId,rating,timestamp\n1,,3,4\n", "r",
                      "'r' line 2: empty item id");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_CSV, "userId,movieId,rating,timestamp\r\n", "r",
                      "'r': no ratings found");
}

/* ratings.dat: users 1, 2; items 1193, 661 (order 661, 1193). */
static void test_mldat(void)
{
    cofi_triplets t;
    cofi_csr c;
    if (parse_csr(COFI_TEXT_MOVIELENS_DAT,
                  "1::1193::5::978300760\n"
                  "1::661::3::978302109\n"
                  "2::1193::4.5::978298413\n",
                  &t, &c) == COFI_OK) {
        static const char *items[] = {"661", "1193"}, *users[] = {"1", "2"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {1, 0, 1}, user[] = {0, 0, 1}, line[] = {1, 2, 3};
        double rating[] = {5, 3, 4.5};
        check_triplets(&t, 3, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 1, 3}, cu[] = {0, 0, 1};
        double cr[] = {3, 5, 4.5};
        check_csr(&c, 2, 2, 3, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_DAT, "1::2::3::4\n1::2::3\n", "ratings.dat",
                      "'ratings.dat' line 2: expected 4 '::'-separated fields, found 3");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_DAT, "1:2:3:4\n", "ratings.dat",
                      "'ratings.dat' line 1: expected 4 '::'-separated fields, found 1");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_DAT, "1::2::Inf::4\n", "ratings.dat",
                      "'ratings.dat' line 1: rating 'Inf' is not finite");
}

/* Triplets: item first, string ids (first-appearance order), a header, and
 * every separator. */
static void test_triplets(void)
{
    cofi_triplets t;
    cofi_csr c;
    if (parse_csr(COFI_TEXT_TRIPLETS,
                  "item,user,rating\n"
                  "Item_B,u2,4\n"
                  "Item_A\tu1\t5\n"
                  "Item_B u1  2.5\n"
                  "Item_A, u2 ,1",
                  &t, &c) == COFI_OK) {
        static const char *items[] = {"Item_B", "Item_A"}, *users[] = {"u2", "u1"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {0, 1, 0, 1}, user[] = {0, 1, 1, 0}, line[] = {2, 3, 4, 5};
        double rating[] = {4, 5, 2.5, 1};
        check_triplets(&t, 4, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 2, 4}, cu[] = {0, 1, 0, 1};
        double cr[] = {4, 2.5, 1, 5};
        check_csr(&c, 2, 2, 4, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }

    /* No header; commas allow spaces inside ids. */
    if (parse(COFI_TEXT_TRIPLETS, "# c\nThe Movie, Jane Doe, 3\n", &t) == COFI_OK) {
        static const char *items[] = {"The Movie"}, *users[] = {"Jane Doe"};
        check_strings(&t.items, items, 1, "items", __LINE__);
        check_strings(&t.users, users, 1, "users", __LINE__);
        cofi_idx z[] = {0}, line[] = {2};
        double r[] = {3};
        check_triplets(&t, 1, z, z, r, line, __LINE__);
        cofi_triplets_free(&t);
    } else {
        CHECK(0, "triplets without header: %s", cofi_error_message());
    }

    /* A header is only allowed first. */
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,5\nitem,user,rating\n", "t",
                      "'t' line 2: rating 'rating' is not a number");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "item,user,rating\nitem,user,rating\n", "t",
                      "'t' line 2: rating 'rating' is not a number");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "item,user,rating\n", "t", "'t': no ratings found");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u\n", "t",
                      "'t' line 1: expected 3 comma-separated fields (item, user, rating), "
                      "found 2");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A u 5 7\n", "t",
                      "'t' line 1: expected 3 whitespace-separated fields (item, user, rating), "
                      "found 4");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\nB,u,nan\n", "r.txt",
                      "'r.txt' line 2: rating 'nan' is not finite");
    /* nan on the first line is a number (not a header), so it is rejected. */
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "B,u,NaN\n", "r.txt",
                      "'r.txt' line 1: rating 'NaN' is not finite");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\nB,u,-infinity\n", "r.txt",
                      "'r.txt' line 2: rating '-infinity' is not finite");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\nB,u,inf\n", "r.txt",
                      "'r.txt' line 2: rating 'inf' is not finite");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\nB,u,1e999\n", "r.txt",
                      "'r.txt' line 2: rating '1e999' is out of range");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\nB,u,\n", "r.txt",
                      "'r.txt' line 2: empty rating");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\nB,u,3 stars\n", "r.txt",
                      "'r.txt' line 2: rating '3 stars' is not a number");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "A,u,1\n,u,3\n", "r.txt", "'r.txt' line 2: empty item id");
}

/* A fixed pseudo-random sequence (64-bit LCG) for generated inputs. */
static uint64_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33);
}

/* Numbers: the fast path and strtod must agree; exotic but valid forms. */
static void test_numbers(void)
{
    const char *texts[] = {"4",      "3.5",     "-0.25",    "+2",      ".5",      "5.",
                           "0.1",    "0.3",     "1e3",      "2.5E-1",  "0x10",    "0x1.8p1",
                           "007.50", "-0",      "123456789012345",     "1234567890123456789",
                           "0.3333333333333333333333333", "9007199254740993", "1e-320"};
    double want[] = {4,   3.5, -0.25, 2,   0.5,   5,     0.1,    0.3,
                     1e3, 0.25, 16,   3.0, 7.5,   -0.0,  123456789012345.0,
                     1234567890123456789.0, 0.3333333333333333333333333, 9007199254740993.0,
                     1e-320};
    for (int i = 0; i < (int)N_OF(texts); i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "A,u,%s\n", texts[i]);
        cofi_triplets t;
        int rc = parse(COFI_TEXT_TRIPLETS, buf, &t);
        CHECK(rc == COFI_OK, "rating '%s': %s", texts[i], cofi_error_message());
        if (rc != COFI_OK) continue;
        CHECK(t.rating[0] == want[i] && signbit(t.rating[0]) == signbit(want[i]),
              "rating '%s' -> %.17g, expected %.17g", texts[i], t.rating[0], want[i]);
        cofi_triplets_free(&t);
    }
    /* The fast path and strtod agree on 0.1 spelled with up to 22 decimals. */
    for (int d = 1; d <= 25; d++) {
        char num[64] = "0.";
        for (int k = 1; k < d; k++) strcat(num, "0");
        strcat(num, "7");
        char buf[128];
        snprintf(buf, sizeof buf, "A u %s", num);
        cofi_triplets t;
        if (parse(COFI_TEXT_TRIPLETS, buf, &t) == COFI_OK) {
            double w = strtod(num, NULL);
            CHECK(t.rating[0] == w, "'%s' -> %.17g, strtod %.17g", num, t.rating[0], w);
            cofi_triplets_free(&t);
        } else {
            CHECK(0, "'%s': %s", num, cofi_error_message());
        }
    }
    /* Random decimals of up to 20 digits: bit for bit what strtod gives. */
    long mismatches = 0;
    for (int i = 0; i < 3000; i++) {
        char num[64];
        size_t k = 0;
        if (rnd() % 3 == 0) num[k++] = rnd() % 2 ? '-' : '+';
        int digits = 1 + (int)(rnd() % 20), dot = (int)(rnd() % (unsigned)(digits + 2));
        for (int d = 0; d < digits; d++) {
            if (d == dot) num[k++] = '.';
            num[k++] = (char)('0' + rnd() % 10);
        }
        num[k] = '\0';
        char buf[96];
        snprintf(buf, sizeof buf, "A,u,%s", num);
        cofi_triplets t;
        if (parse(COFI_TEXT_TRIPLETS, buf, &t) != COFI_OK) {
            mismatches++;
            continue;
        }
        double w = strtod(num, NULL);
        mismatches += memcmp(&t.rating[0], &w, sizeof w) != 0;
        cofi_triplets_free(&t);
    }
    CHECK(mismatches == 0, "%ld random decimals differ from strtod", mismatches);
    const char *bad[] = {"-", "+", ".", "1e", "0x", "1.2.3", "1,5", "--1", "1e+", "one", "4*"};
    for (int i = 0; i < (int)N_OF(bad); i++) {
        char buf[64], msg[64];
        snprintf(buf, sizeof buf, "A u 1\nB\tu\t%s\n", bad[i]);
        snprintf(msg, sizeof msg, "'f' line 2: rating '%s' is not a number", bad[i]);
        if (strchr(bad[i], ',')) snprintf(msg, sizeof msg, "found 2"); /* a comma splits it */
        expect_fail_n(COFI_TEXT_TRIPLETS, buf, strlen(buf), "f", COFI_ERR_FORMAT, msg,
                      strchr(bad[i], ',') == NULL, __LINE__);
    }
}

/* The dense table of the notebook. */
static void test_dense(void)
{
    cofi_triplets t;
    cofi_csr c;
    if (parse_csr(COFI_TEXT_DENSE,
                  ",User_0,User_1,User_2\n"
                  "Item_0,5,,0\n"
                  "Item_1, 4 , 3.5,\n"
                  "Item_2,,,\n",
                  &t, &c) == COFI_OK) {
        static const char *items[] = {"Item_0", "Item_1", "Item_2"};
        static const char *users[] = {"User_0", "User_1", "User_2"};
        check_strings(&t.items, items, 3, "items", __LINE__);
        check_strings(&t.users, users, 3, "users", __LINE__);
        cofi_idx item[] = {0, 0, 1, 1}, user[] = {0, 2, 0, 1}, line[] = {2, 2, 3, 3};
        double rating[] = {5, 0, 4, 3.5};
        check_triplets(&t, 4, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 2, 4, 4}, cu[] = {0, 2, 0, 1};
        double cr[] = {5, 0, 4, 3.5};
        check_csr(&c, 3, 3, 4, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }

    /* Tab-separated with a corner label, CRLF, a trailing empty cell, a row of
     * empty cells (skipped), and no final newline. */
    if (parse_csr(COFI_TEXT_DENSE,
                  "movie\tu1\tu2\r\n"
                  "A\t1\t\r\n"
                  "\t\t\r\n"
                  "B\t \t2",
                  &t, &c) == COFI_OK) {
        static const char *items[] = {"A", "B"}, *users[] = {"u1", "u2"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {0, 1}, user[] = {0, 1}, line[] = {2, 4};
        double rating[] = {1, 2};
        check_triplets(&t, 2, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 1, 2}, cu[] = {0, 1};
        double cr[] = {1, 2};
        check_csr(&c, 2, 2, 2, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }

    /* Integer names are ordered numerically: users 10, 2 -> 2, 10; items 5, 3 -> 3, 5. */
    if (parse_csr(COFI_TEXT_DENSE, ",10,2\n5,1,2\n3,,4\n", &t, &c) == COFI_OK) {
        static const char *items[] = {"3", "5"}, *users[] = {"2", "10"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {1, 1, 0}, user[] = {1, 0, 0}, line[] = {2, 2, 3};
        double rating[] = {1, 2, 4};
        check_triplets(&t, 3, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 1, 3}, cu[] = {0, 0, 1};
        double cr[] = {4, 2, 1};
        check_csr(&c, 2, 2, 3, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }

    /* A row of empty cells is skipped; a header with commas splits on commas
     * only, even if a name holds a tab. */
    if (parse_csr(COFI_TEXT_DENSE, ",u\t1,u2\n , ,\nA,1,\n", &t, &c) == COFI_OK) {
        static const char *items[] = {"A"}, *users[] = {"u\t1", "u2"};
        check_strings(&t.items, items, 1, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {0}, user[] = {0}, line[] = {3};
        double rating[] = {1};
        check_triplets(&t, 1, item, user, rating, line, __LINE__);
        cofi_idx indptr[] = {0, 1}, cu[] = {0};
        check_csr(&c, 1, 2, 1, indptr, cu, rating, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }

    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2,u3\nA,1,2,3\nB,4,5\n", "dense.csv",
                      "'dense.csv' line 3: expected 4 cells as in the header (line 1), found 3");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2\nA,1,2,3\n", "dense.csv",
                      "'dense.csv' line 2: expected 3 cells as in the header (line 1), found 4");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2,u1\nA,1,2,3\n", "dense.csv",
                      "'dense.csv' line 1: duplicate user name 'u1' in columns 2 and 4");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2\nA,1,2\n\nB,1,\nA,,3\n", "dense.csv",
                      "'dense.csv' lines 2 and 5: duplicate item name 'A'");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2\nA,1,x\n", "dense.csv",
                      "'dense.csv' line 2, column 3: rating 'x' is not a number");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2\nA,1,nan\n", "dense.csv",
                      "'dense.csv' line 2, column 3: rating 'nan' is not finite");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,,u3\nA,1,2,3\n", "dense.csv",
                      "'dense.csv' line 1: empty user name in column 3");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1\n ,1\n", "dense.csv",
                      "'dense.csv' line 2: empty item name");
    EXPECT_FAIL(COFI_TEXT_DENSE, "corner only\nA\n", "line 1: the header names no users");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2\nA,,\nB, , \n", "dense.csv",
                      "'dense.csv': no ratings found");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",u1,u2\n", "dense.csv", "'dense.csv': no ratings found");
}

/* The id ordering rule in each dimension. */
static void test_ordering(void)
{
    cofi_triplets t;
    /* Integers with signs and leading zeros: ties by text ("+7" < "007" < "7"). */
    if (parse(COFI_TEXT_TRIPLETS, "10,b,1\n2,a,1\n-3,b,1\n007,a,1\n7,a,1\n+7,b,1\n", &t) ==
        COFI_OK) {
        static const char *items[] = {"-3", "2", "+7", "007", "7", "10"};
        static const char *users[] = {"b", "a"};
        check_strings(&t.items, items, 6, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {5, 1, 0, 3, 4, 2}, user[] = {0, 1, 0, 1, 1, 0};
        cofi_idx line[] = {1, 2, 3, 4, 5, 6};
        double r[] = {1, 1, 1, 1, 1, 1};
        check_triplets(&t, 6, item, user, r, line, __LINE__);
        cofi_triplets_free(&t);
    } else {
        CHECK(0, "ordering: %s", cofi_error_message());
    }
    /* The int64 limits are integers. */
    if (parse(COFI_TEXT_TRIPLETS,
              "9223372036854775807,1,1\n-9223372036854775808,1,1\n0,1,1\n", &t) == COFI_OK) {
        static const char *items[] = {"-9223372036854775808", "0", "9223372036854775807"};
        check_strings(&t.items, items, 3, "items", __LINE__);
        cofi_idx item[] = {2, 0, 1}, user[] = {0, 0, 0}, line[] = {1, 2, 3};
        double r[] = {1, 1, 1};
        check_triplets(&t, 3, item, user, r, line, __LINE__);
        cofi_triplets_free(&t);
    } else {
        CHECK(0, "int64 limits: %s", cofi_error_message());
    }
    /* Past int64, a decimal point, a bare sign or a letter: first appearance. */
    const char *firsts[][2] = {{"9223372036854775808", "1"},
                               {"-9223372036854775809", "-1"},
                               {"3", "1.0"},
                               {"2", "-"},
                               {"5", "+"},
                               {"9", "1a"},
                               {"8", "0x1"}};
    for (int i = 0; i < (int)N_OF(firsts); i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s u 1\n%s u2 1\n%s u3 1\n", firsts[i][0], firsts[i][1],
                 firsts[i][0]);
        if (parse(COFI_TEXT_TRIPLETS, buf, &t) == COFI_OK) {
            check_strings(&t.items, firsts[i], 2, "items", __LINE__);
            static const char *users[] = {"u", "u2", "u3"};
            check_strings(&t.users, users, 3, "users", __LINE__);
            cofi_idx item[] = {0, 1, 0}, user[] = {0, 1, 2}, line[] = {1, 2, 3};
            double r[] = {1, 1, 1};
            check_triplets(&t, 3, item, user, r, line, __LINE__);
            cofi_triplets_free(&t);
        } else {
            CHECK(0, "first appearance %d: %s", i, cofi_error_message());
        }
    }
    /* Users numeric while items are not, in the same file. */
    if (parse(COFI_TEXT_MOVIELENS_DAT, "30::z::1::0\n4::y::2::0\n30::y::3::0\n", &t) == COFI_OK) {
        static const char *items[] = {"z", "y"}, *users[] = {"4", "30"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        check_strings(&t.users, users, 2, "users", __LINE__);
        cofi_idx item[] = {0, 1, 1}, user[] = {1, 0, 1}, line[] = {1, 2, 3};
        double r[] = {1, 2, 3};
        check_triplets(&t, 3, item, user, r, line, __LINE__);
        cofi_triplets_free(&t);
    } else {
        CHECK(0, "mixed dims: %s", cofi_error_message());
    }
}

/* Many ids: the hash table grows and every id keeps its own index.  Item
 * names are "<prefix><i>": short (stored in the hash slot) or long. */
static void test_many_ids(const char *prefix)
{
    const int n = 5000;
    size_t cap = (size_t)n * (40 + strlen(prefix)), len = 0;
    char *buf = malloc(cap);
    if (!buf) abort();
    /* item i is "<prefix><i>" and user (7 * i) % n: first-appearance order for
     * items, numeric for users; ratings i % 5 + 1. */
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d\t%d\t%d\n", prefix, i, (7 * i) % n,
                                i % 5 + 1);
    cofi_triplets t;
    int rc = parse_n(COFI_TEXT_TRIPLETS, buf, len, "many", &t);
    free(buf);
    CHECK(rc == COFI_OK, "many ids: %s", cofi_error_message());
    if (rc != COFI_OK) return;
    CHECK(t.n == n && t.items.n == n && t.users.n == n, "counts %" PRIidx " %" PRIidx, t.items.n,
          t.users.n);
    long bad = 0;
    for (int i = 0; i < n && t.n == n; i++) {
        char want[128];
        snprintf(want, sizeof want, "%s%d", prefix, i);
        bad += strcmp(t.items.buf + t.items.off[i], want) != 0;
        snprintf(want, sizeof want, "%d", i);
        bad += strcmp(t.users.buf + t.users.off[i], want) != 0;
        bad += t.item[i] != i || t.user[i] != (7 * i) % n || t.rating[i] != i % 5 + 1;
    }
    CHECK(bad == 0, "many ids: %ld mismatches", bad);
    cofi_csr c;
    rc = cofi_triplets_to_csr(&t, "many", &c);
    CHECK(rc == COFI_OK, "many csr: %s", cofi_error_message());
    if (rc == COFI_OK) {
        bad = 0;
        for (int i = 0; i < n; i++)
            bad += c.indptr[i] != i || c.user[i] != (7 * i) % n || c.rating[i] != i % 5 + 1;
        CHECK(bad == 0 && c.indptr[n] == n, "many csr: %ld mismatches", bad);
        cofi_csr_free(&c);
    }
    cofi_triplets_free(&t);
}

static void test_duplicates(void)
{
    cofi_triplets t;
    cofi_csr c;
    int rc = parse(COFI_TEXT_TRIPLETS,
                   "# ratings\n"
                   "item,user,rating\n"
                   "A,u1,1\n"
                   "A,u2,2\n"
                   "B,u1,3\n"
                   "\n"
                   "B,u2,4\n"
                   "C,u1,5\n"
                   "A,u1,6\n",
                   &t);
    CHECK(rc == COFI_OK, "dup parse: %s", cofi_error_message());
    if (rc == COFI_OK) {
        cofi_error_clear();
        memset(&c, 0x5a, sizeof c);
        rc = cofi_triplets_to_csr(&t, "f", &c);
        CHECK(rc == COFI_ERR_FORMAT, "duplicate accepted");
        CHECK(strcmp(cofi_error_message(),
                     "'f' lines 3 and 9: duplicate rating for item 'A' and user 'u1'") == 0,
              "message: %s", cofi_error_message());
        CHECK(c.indptr == NULL && c.user == NULL && c.rating == NULL && c.nnz == 0,
              "csr not left empty on error");
        cofi_triplets_free(&t);
    }
    /* Two duplicated pairs: the one whose second line comes first is named,
     * although item 3 sorts before item 5. */
    rc = parse(COFI_TEXT_MOVIELENS_100K,
               "1\t003\t1\t0\n"  /* 1 */
               "2\t5\t1\t0\n"    /* 2 */
               "2\t3\t1\t0\n"    /* 3 */
               "2\t5\t2\t0\n"    /* 4: duplicate of 2 */
               "1\t003\t2\t0\n"  /* 5: duplicate of 1 */
               "2\t5\t3\t0\n",   /* 6: duplicate of 2 and 4 */
               &t);
    CHECK(rc == COFI_OK, "dup parse: %s", cofi_error_message());
    if (rc == COFI_OK) {
        cofi_error_clear();
        rc = cofi_triplets_to_csr(&t, "u.data", &c);
        CHECK(rc == COFI_ERR_FORMAT, "duplicate accepted");
        CHECK(strcmp(cofi_error_message(),
                     "'u.data' lines 2 and 4: duplicate rating for item '5' and user '2'") == 0,
              "message: %s", cofi_error_message());
        cofi_triplets_free(&t);
    }
    /* Ids are quoted as written. */
    rc = parse(COFI_TEXT_TRIPLETS, "007 +1 1\n007 +1 2\n", &t);
    CHECK(rc == COFI_OK, "dup parse: %s", cofi_error_message());
    if (rc == COFI_OK) {
        cofi_error_clear();
        rc = cofi_triplets_to_csr(&t, "f", &c);
        CHECK(rc == COFI_ERR_FORMAT &&
                  strcmp(cofi_error_message(),
                         "'f' lines 1 and 2: duplicate rating for item '007' and user '+1'") == 0,
              "message: %s", cofi_error_message());
        cofi_triplets_free(&t);
    }
    /* "7" and "007" are different ids, so not a duplicate. */
    if (parse_csr(COFI_TEXT_TRIPLETS, "7,u,1\n007,u,2\n", &t, &c) == COFI_OK) {
        static const char *items[] = {"007", "7"};
        check_strings(&t.items, items, 2, "items", __LINE__);
        cofi_idx indptr[] = {0, 1, 2}, cu[] = {0, 0};
        double cr[] = {2, 1};
        check_csr(&c, 2, 1, 2, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }
}

/* cofi_triplets_to_csr on triplets built by hand (no line numbers). */
static void test_csr_by_hand(void)
{
    cofi_idx item[] = {2, 0, 2, 2, 0, 3}, user[] = {1, 2, 0, 3, 0, 1};
    cofi_val rating[] = {1, 2, 3, 4, 5, 6};
    cofi_idx ioff[] = {0, 2, 4, 6, 8}, uoff[] = {0, 2, 4, 6, 8};
    char ibuf[] = "a\0b\0c\0d", ubuf[] = "w\0x\0y\0z";
    cofi_triplets t = {6, item, user, rating, NULL, {4, ioff, ibuf}, {4, uoff, ubuf}};
    cofi_csr c;
    cofi_error_clear();
    int rc = cofi_triplets_to_csr(&t, "hand", &c);
    CHECK(rc == COFI_OK, "by hand: %s", cofi_error_message());
    if (rc == COFI_OK) {
        /* row 0: users 0 (5), 2 (2); row 1 empty; row 2: 0 (3), 1 (1), 3 (4); row 3: 1 (6). */
        cofi_idx indptr[] = {0, 2, 2, 5, 6}, cu[] = {0, 2, 0, 1, 3, 1};
        double cr[] = {5, 2, 3, 1, 4, 6};
        check_csr(&c, 4, 4, 6, indptr, cu, cr, __LINE__);
        cofi_csr_free(&c);
    }
    CHECK(cofi_strings_maxlen(&t.items) == 1, "maxlen 1");
    user[5] = 4; /* out of range */
    cofi_error_clear();
    rc = cofi_triplets_to_csr(&t, "hand", &c);
    CHECK(rc == COFI_ERR_INTERNAL, "out of range user accepted");
    item[5] = 0;
    user[5] = 0; /* (0, 0) is also entry 4 */
    cofi_error_clear();
    rc = cofi_triplets_to_csr(&t, "hand", &c);
    CHECK(rc == COFI_ERR_FORMAT, "duplicate accepted");
    CHECK(strcmp(cofi_error_message(),
                 "'hand' ratings 5 and 6: duplicate rating for item 'a' and user 'w'") == 0,
          "message: %s", cofi_error_message());
    cofi_strings empty = {0, NULL, NULL};
    CHECK(cofi_strings_maxlen(&empty) == 0, "maxlen of nothing");
    cofi_strings_free(&empty);
    cofi_triplets_free(NULL);
    cofi_csr_free(NULL);
}

static void test_bad_input(void)
{
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_100K, "", "f", "'f': no ratings found");
    EXPECT_FAIL_EXACT(COFI_TEXT_TRIPLETS, "\n\n  \r\n# only comments\n", "f",
                      "'f': no ratings found");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, "", "f", "'f': no ratings found");
    EXPECT_FAIL_EXACT(COFI_TEXT_MOVIELENS_100K, "1\t2\t3\t4\n1\t\0002\t3\t4\n", "f",
                      "'f' line 2: NUL byte (is this a text file?)");
    EXPECT_FAIL_EXACT(COFI_TEXT_DENSE, ",a\0", "f", "'f' line 1: NUL byte (is this a text file?)");
    {
        cofi_triplets t;
        cofi_error_clear();
        CHECK(cofi_text_parse_buffer(COFI_TEXT_TRIPLETS, NULL, 0, NULL, &t) == COFI_ERR_FORMAT &&
                  strcmp(cofi_error_message(), "'input': no ratings found") == 0,
              "NULL buffer: %s", cofi_error_message());
    }

    /* A 1 MB line: errors quote a bounded piece of it. */
    size_t big = (size_t)1 << 20;
    char *buf = malloc(big + 16);
    if (!buf) abort();
    memset(buf, 'x', big);
    expect_fail_n(COFI_TEXT_MOVIELENS_100K, buf, big, "f", COFI_ERR_FORMAT,
                  "'f' line 1: expected 4 tab-separated fields, found 1", 1, __LINE__);
    memcpy(buf, "A,u,1\nB,u,", 10);
    expect_fail_n(COFI_TEXT_TRIPLETS, buf, big, "f", COFI_ERR_FORMAT,
                  "'f' line 2: rating 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."
                  "' is not a number", 1, __LINE__);
    CHECK(strlen(cofi_error_message()) < 200, "message not bounded: %zu bytes",
          strlen(cofi_error_message()));
    expect_fail_n(COFI_TEXT_MOVIELENS_CSV, buf, big, "f", COFI_ERR_FORMAT,
                  "expected the header", 0, __LINE__);
    /* A long but valid number goes through strtod. */
    memcpy(buf, "A,u,0.", 6);
    memset(buf + 6, '0', 5000);
    memcpy(buf + 5006, "25e5000", 7);
    cofi_triplets t;
    int rc = parse_n(COFI_TEXT_TRIPLETS, buf, 5013, "f", &t);
    CHECK(rc == COFI_OK, "long number: %s", cofi_error_message());
    if (rc == COFI_OK) {
        CHECK(t.rating[0] == 0.25, "long number -> %.17g", t.rating[0]);
        cofi_triplets_free(&t);
    }
    /* 10^5 short lines: linear, all kept. */
    free(buf);
    big = (size_t)4 << 20;
    buf = malloc(big);
    if (!buf) abort();
    size_t len = 0;
    for (int i = 0; i < 100000 && len + 32 < big; i++)
        len += (size_t)snprintf(buf + len, 32, "%d,%d,%d\r\n", i % 97, i, i % 5);
    rc = parse_n(COFI_TEXT_TRIPLETS, buf, len, "f", &t);
    CHECK(rc == COFI_OK && t.n == 100000 && t.items.n == 97 && t.users.n == 100000,
          "100000 lines: %s", cofi_error_message());
    if (rc == COFI_OK) {
        CHECK(t.item[99999] == 99999 % 97 && t.user[99999] == 99999 && t.line[99999] == 100000,
              "last line");
        cofi_triplets_free(&t);
    }
    free(buf);
}

/* Random garbage and mutated valid inputs: no crash, no leak, and either a
 * clean result or one message. */

static void fuzz_one(enum cofi_text_format fmt, const char *buf, size_t len, long *bad)
{
    cofi_triplets t;
    cofi_error_clear();
    int rc = cofi_text_parse_buffer(fmt, buf, len, "fuzz", &t);
    if (rc != COFI_OK) {
        *bad += !is_empty_triplets(&t) || cofi_error_message()[0] == '\0';
        return;
    }
    *bad += t.n <= 0 || t.items.n <= 0 || t.users.n <= 0;
    for (cofi_idx r = 0; r < t.n; r++)
        *bad += t.item[r] < 0 || t.item[r] >= t.items.n || t.user[r] < 0 ||
                t.user[r] >= t.users.n || !isfinite(t.rating[r]) || t.line[r] < 1;
    cofi_csr c;
    cofi_error_clear();
    rc = cofi_triplets_to_csr(&t, "fuzz", &c);
    if (rc == COFI_OK) {
        *bad += c.nnz != t.n || c.indptr[0] != 0 || c.indptr[c.n_items] != c.nnz;
        for (cofi_idx i = 0; i < c.n_items; i++)
            for (cofi_idx k = c.indptr[i] + 1; k < c.indptr[i + 1]; k++)
                *bad += c.user[k] <= c.user[k - 1];
        cofi_csr_free(&c);
    } else {
        *bad += rc != COFI_ERR_FORMAT || !strstr(cofi_error_message(), "duplicate rating");
    }
    cofi_triplets_free(&t);
}

static void test_fuzz(void)
{
    static const char *seeds[COFI_TEXT_FORMAT_COUNT] = {
        "1\t2\t3\t4\n2\t2\t4\t5\r\n# c\n3 1 5 6\n",
        "userId,movieId,rating,timestamp\n1,2,3.5,4\n2,2,4,5\n",
        "1::2::3::4\n2::2::4.5::5\n",
        "item,user,rating\nA,u,1\nB\tv\t2\nC w 3\n",
        ",u1,u2\nA,1,\nB,,2.5\n"};
    static const char alphabet[] = "0123456789.,:\t \n\r#-+eEnaixA\0";
    long bad = 0;
    char buf[256];
    for (int iter = 0; iter < 20000; iter++) {
        enum cofi_text_format fmt = (enum cofi_text_format)(iter % COFI_TEXT_FORMAT_COUNT);
        size_t len;
        if (iter % 2 == 0) {
            /* mutate a valid seed */
            len = strlen(seeds[fmt]);
            memcpy(buf, seeds[fmt], len);
            int edits = 1 + (int)(rnd() % 4);
            for (int e = 0; e < edits; e++) {
                size_t at = rnd() % len;
                switch (rnd() % 3) {
                case 0: buf[at] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
                case 1: len = at + 1; break;
                default: if (len < sizeof buf) buf[len++] = alphabet[rnd() % (sizeof alphabet - 1)];
                }
            }
        } else {
            len = rnd() % sizeof buf;
            for (size_t i = 0; i < len; i++)
                buf[i] = (iter % 4 == 1) ? (char)(rnd() & 0xff) : alphabet[rnd() % (sizeof alphabet - 1)];
        }
        char *copy = malloc(len ? len : 1);
        if (!copy) abort();
        memcpy(copy, buf, len);
        fuzz_one(fmt, copy, len, &bad);
        free(copy);
    }
    CHECK(bad == 0, "fuzz: %ld violated invariants", bad);
}

static void test_files(void)
{
    cofi_triplets t;
    cofi_error_clear();
    memset(&t, 0x5a, sizeof t);
    int rc = cofi_text_parse_file(COFI_TEXT_MOVIELENS_CSV, "/nonexistent/x.csv", &t);
    CHECK(rc == COFI_ERR_IO, "missing file: rc %d", rc);
    CHECK(strcmp(cofi_error_message(), "cannot open '/nonexistent/x.csv': No such file or directory") == 0,
          "message: %s", cofi_error_message());
    CHECK(is_empty_triplets(&t), "missing file: output not empty");
    cofi_error_clear();
    rc = cofi_text_parse_file(COFI_TEXT_MOVIELENS_CSV, "/", &t);
    CHECK(rc == COFI_ERR_IO && strstr(cofi_error_message(), "cannot read '/'"),
          "directory: rc %d, %s", rc, cofi_error_message());

    /* Write a file and read it back: the display name is the path. */
    char path[] = "/tmp/cofi_test_text_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    fputs(ml100k_text, f);
    fputs("\n1\t2\n", f);
    fclose(f);
    cofi_error_clear();
    rc = cofi_text_parse_file(COFI_TEXT_MOVIELENS_100K, path, &t);
    char want[128];
    snprintf(want, sizeof want, "'%s' line 7: expected 4 tab-separated fields, found 2", path);
    CHECK(rc == COFI_ERR_FORMAT && strcmp(cofi_error_message(), want) == 0, "file: %s",
          cofi_error_message());
    f = fopen(path, "w");
    fputs(ml100k_text, f);
    fclose(f);
    cofi_error_clear();
    rc = cofi_text_parse_file(COFI_TEXT_MOVIELENS_100K, path, &t);
    CHECK(rc == COFI_OK && t.n == 4 && t.items.n == 3 && t.users.n == 2, "file: %s",
          cofi_error_message());
    if (rc == COFI_OK) cofi_triplets_free(&t);
    remove(path);
}

/* The sample files in tests/data/convert, against hand-worked expectations. */
static void check_sample(const char *dir, const char *file, enum cofi_text_format fmt,
                         const char *const *items, cofi_idx ni, const char *const *users,
                         cofi_idx nu, cofi_idx nnz, const cofi_idx *indptr, const cofi_idx *cu,
                         const double *cr, int at)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/convert/%s", dir, file);
    cofi_triplets t;
    cofi_error_clear();
    int rc = cofi_text_parse_file(fmt, path, &t);
    CHECK(rc == COFI_OK, "line %d: %s: %s", at, file, cofi_error_message());
    if (rc != COFI_OK) return;
    check_strings(&t.items, items, ni, "items", at);
    check_strings(&t.users, users, nu, "users", at);
    cofi_csr c;
    rc = cofi_triplets_to_csr(&t, path, &c);
    CHECK(rc == COFI_OK, "line %d: %s: %s", at, file, cofi_error_message());
    if (rc == COFI_OK) {
        check_csr(&c, ni, nu, nnz, indptr, cu, cr, at);
        cofi_csr_free(&c);
    }
    cofi_triplets_free(&t);
}

static void check_bad_sample(const char *dir, const char *file, enum cofi_text_format fmt,
                             const char *msg, int at)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/convert/%s", dir, file);
    cofi_triplets t;
    cofi_error_clear();
    int rc = cofi_text_parse_file(fmt, path, &t);
    if (rc == COFI_OK) {
        cofi_csr c;
        rc = cofi_triplets_to_csr(&t, path, &c);
        if (rc == COFI_OK) cofi_csr_free(&c);
        cofi_triplets_free(&t);
    }
    CHECK(rc == COFI_ERR_FORMAT && strstr(cofi_error_message(), msg) &&
              strstr(cofi_error_message(), file),
          "line %d: %s: rc %d, message '%s', expected '%s'", at, file, rc, cofi_error_message(),
          msg);
}

static void test_samples(void)
{
    const char *dir = getenv("COFI_TEST_DATA");
    if (!dir || !*dir) {
        printf("test_text: COFI_TEST_DATA not set, sample files skipped\n");
        return;
    }
    {
        static const char *items[] = {"1", "5", "20", "300"}, *users[] = {"2", "7", "10"};
        cofi_idx indptr[] = {0, 3, 6, 8, 10}, cu[] = {0, 1, 2, 0, 1, 2, 1, 2, 0, 2};
        double cr[] = {2, 3, 5, 4, 4, 3, 1, 2, 5, 1};
        check_sample(dir, "u.data", COFI_TEXT_MOVIELENS_100K, items, 4, users, 3, 10, indptr,
                     cu, cr, __LINE__);
    }
    {
        static const char *items[] = {"10", "31", "1029", "1061"};
        static const char *users[] = {"1", "2", "3", "15"};
        cofi_idx indptr[] = {0, 2, 4, 6, 8}, cu[] = {1, 3, 0, 1, 0, 3, 0, 2};
        double cr[] = {4, 5, 2.5, 3.5, 3, 0.5, 3, 4.5};
        check_sample(dir, "ratings.csv", COFI_TEXT_MOVIELENS_CSV, items, 4, users, 4, 8, indptr,
                     cu, cr, __LINE__);
    }
    {
        static const char *items[] = {"661", "914", "1193", "3408"};
        static const char *users[] = {"1", "2", "6", "10"};
        cofi_idx indptr[] = {0, 2, 4, 7, 8}, cu[] = {0, 2, 0, 2, 0, 1, 3, 1};
        double cr[] = {3, 4, 3, 5, 5, 5, 4, 4};
        check_sample(dir, "ratings.dat", COFI_TEXT_MOVIELENS_DAT, items, 4, users, 4, 8, indptr,
                     cu, cr, __LINE__);
    }
    {
        static const char *items[] = {"Item_B", "Item_A", "Item_C", "Item_D"};
        static const char *users[] = {"alice", "bob", "carol"};
        cofi_idx indptr[] = {0, 2, 4, 6, 7}, cu[] = {0, 2, 0, 1, 1, 2, 0};
        double cr[] = {4, 1.5, 2, 5, 4.5, 3.5, 3};
        check_sample(dir, "triplets.txt", COFI_TEXT_TRIPLETS, items, 4, users, 3, 7, indptr, cu,
                     cr, __LINE__);
    }
    {
        static const char *items[] = {"Item_0", "Item_1", "Item_2", "Item_3", "Item_4"};
        static const char *users[] = {"User_0", "User_1", "User_2", "User_3"};
        cofi_idx indptr[] = {0, 4, 6, 8, 12, 15};
        cofi_idx cu[] = {0, 1, 2, 3, 0, 3, 1, 2, 0, 1, 2, 3, 0, 1, 2};
        double cr[] = {5, 5, 0, 0, 5, 0, 4, 0, 0, 0, 5, 4, 0, 0, 5};
        check_sample(dir, "dense.csv", COFI_TEXT_DENSE, items, 5, users, 4, 15, indptr, cu, cr,
                     __LINE__);
    }
    check_bad_sample(dir, "bad_fields.data", COFI_TEXT_MOVIELENS_100K,
                     "line 4: expected 4 tab-separated fields, found 3", __LINE__);
    check_bad_sample(dir, "bad_rating.csv", COFI_TEXT_MOVIELENS_CSV,
                     "line 3: rating 'abc' is not a number", __LINE__);
    check_bad_sample(dir, "nan.txt", COFI_TEXT_TRIPLETS, "line 3: rating 'nan' is not finite",
                     __LINE__);
    check_bad_sample(dir, "dup.txt", COFI_TEXT_TRIPLETS,
                     "lines 2 and 5: duplicate rating for item 'A' and user 'u1'", __LINE__);
    check_bad_sample(dir, "ragged.csv", COFI_TEXT_DENSE,
                     "line 3: expected 4 cells as in the header (line 1), found 3", __LINE__);
}

int main(void)
{
    test_format_names();
    test_ml100k();
    test_mlcsv();
    test_mldat();
    test_triplets();
    test_numbers();
    test_dense();
    test_ordering();
    test_many_ids("it");
    test_many_ids("item_name_longer_than_8_bytes_");
    test_duplicates();
    test_csr_by_hand();
    test_bad_input();
    test_fuzz();
    test_files();
    test_samples();
    return cofi_test_finish("test_text");
}

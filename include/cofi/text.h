/* cofi/text.h - text rating formats parsed into triplets, then into CSR.
 *
 * Pure C: no MPI, no HDF5.  `cofi convert` parses on one rank and writes the
 * HDF5 ratings file; the parsers also work on a memory buffer so they can be
 * fuzzed.
 *
 * Id ordering: ids are kept as the original text.  Within one dimension (items
 * or users), if every id is an integer (optional sign, decimal digits, fits in
 * int64) the ids are ordered numerically (ties between different spellings of
 * the same number, such as "7" and "007", ordered by the text); otherwise they
 * are ordered by first appearance in the file. */
#ifndef COFI_TEXT_H
#define COFI_TEXT_H

#include "cofi/types.h"

enum cofi_text_format {
    COFI_TEXT_MOVIELENS_100K, /* u.data: user<TAB>item<TAB>rating<TAB>timestamp */
    COFI_TEXT_MOVIELENS_CSV,  /* ratings.csv: header userId,movieId,rating,timestamp */
    COFI_TEXT_MOVIELENS_DAT,  /* ratings.dat: user::item::rating::timestamp */
    COFI_TEXT_TRIPLETS,       /* item,user,rating: comma, tab or space; optional header */
    COFI_TEXT_DENSE,          /* first row user names, first column item names */
    COFI_TEXT_FORMAT_COUNT
};
/* Details of the formats (text.c):
 *   - every format: LF or CRLF; a UTF-8 BOM is skipped; blank lines and lines
 *     whose first non-blank character is '#' are skipped; fields are trimmed;
 *     a NUL byte is an error; ratings are what strtod reads in full, finite.
 *   - triplets: a line with a comma is split on commas (ids may then hold
 *     spaces), any other line on runs of whitespace; the first line is a
 *     header when its third field is not a number.
 *   - dense: every user named in the header and every item named in a row is
 *     an id, even one without ratings; a row of empty cells only is skipped. */

/* A list of n strings stored back to back, each NUL-terminated:
 * string i starts at buf + off[i]; off has n + 1 entries (off[n] = bytes used). */
typedef struct {
    cofi_idx n;
    cofi_idx *off;
    char *buf;
} cofi_strings;

/* Ratings as parsed: entry r is (item[r], user[r], rating[r]) read on text
 * line line[r] (1-based).  item/user index into items/users, already in the
 * final id order described above. */
typedef struct {
    cofi_idx n;
    cofi_idx *item;
    cofi_idx *user;
    cofi_val *rating;
    cofi_idx *line;
    cofi_strings items;
    cofi_strings users;
} cofi_triplets;

/* CSR by item: row i holds users user[indptr[i] .. indptr[i+1]) in increasing
 * order, with their ratings. */
typedef struct {
    cofi_idx n_items, n_users, nnz;
    cofi_idx *indptr; /* n_items + 1 */
    cofi_idx *user;   /* nnz */
    cofi_val *rating; /* nnz */
} cofi_csr;

/* "movielens-100k", "movielens-csv", "movielens-dat", "triplets", "dense".
 * Returns COFI_ERR_USAGE with a message listing the names if unknown. */
int cofi_text_format_parse(const char *name, enum cofi_text_format *fmt);
const char *cofi_text_format_name(enum cofi_text_format fmt);

/* Parse `len` bytes (need not be NUL-terminated).  `display_name` is used in
 * messages: "'u.data' line 12: expected 4 tab-separated fields, found 3".
 * Rejects: unparsable lines, NaN/Inf ratings, empty input (no ratings).
 * On error *out is left empty (nothing to free). */
int cofi_text_parse_buffer(enum cofi_text_format fmt, const char *data, size_t len,
                           const char *display_name, cofi_triplets *out);
/* Read and parse a whole file ("cannot open 'x': No such file or directory"). */
int cofi_text_parse_file(enum cofi_text_format fmt, const char *path, cofi_triplets *out);
void cofi_triplets_free(cofi_triplets *t);

/* Sort by (item, user) and build CSR.  A duplicate (item, user) pair is an
 * error naming both lines: "'f' lines 3 and 9: duplicate rating for item 'A'
 * and user 'u1'".  `display_name` as above. */
int cofi_triplets_to_csr(const cofi_triplets *t, const char *display_name, cofi_csr *out);
void cofi_csr_free(cofi_csr *c);

void cofi_strings_free(cofi_strings *s);
/* prefix followed by the numbers begin .. begin + n - 1 ("Item_0", ... or, with
 * an empty prefix, "0", ...). */
int cofi_strings_numbered(const char *prefix, cofi_idx begin, cofi_idx n, cofi_strings *s);
/* Longest string length (without NUL), 0 if empty. */
cofi_idx cofi_strings_maxlen(const cofi_strings *s);

#endif

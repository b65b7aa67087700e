/* cmd_convert.c - `cofi convert`: text ratings to the HDF5 ratings file.
 * Rank 0 parses (text.c) and holds every row; the write is collective, with
 * the other ranks joining with empty selections. */
#include "cli.h"
#include "cofi/error.h"
#include "cofi/io.h"
#include "cofi/text.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: cofi convert --from FORMAT INPUT -o FILE\n"
    "\n"
    "Convert text ratings into a cofi ratings file (HDF5).  FORMAT is one of:\n"
    "  movielens-100k   u.data: user<TAB>item<TAB>rating<TAB>timestamp\n"
    "  movielens-csv    ratings.csv with header userId,movieId,rating,timestamp\n"
    "  movielens-dat    ratings.dat: user::item::rating::timestamp (MovieLens 1M/10M)\n"
    "  triplets         item,user,rating lines; comma, tab or space; optional header\n"
    "  dense            a table: first row user names, first column item names,\n"
    "                   an empty cell for a missing rating\n"
    "Blank lines and lines starting with '#' are skipped.  Ids are kept as names;\n"
    "integer ids are ordered numerically, other ids in order of first appearance.\n"
    "A duplicate (item, user) pair, a line that does not parse, or a NaN/Inf rating\n"
    "is an error naming the file and line.\n"
    "\n"
    "  -f, --from FORMAT    input format (required)\n"
    "  -o, --output FILE    ratings file to write\n"
    "  -h, --help           this text\n";

int cofi_cmd_convert(const cofi_comm *c, int argc, char **argv)
{
    cofi_cmd cmd = {c, "convert"};
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *from = NULL, *out = NULL;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(&cmd, argc, argv, ":f:o:h", opts)) != -1) {
        switch (ch) {
        case 'f': from = optarg; break;
        case 'o': out = optarg; break;
        case 'h': cli_help(&cmd, help); return COFI_OK;
        default: return COFI_ERR_USAGE;
        }
    }
    if (!from) return cli_usage(&cmd, "the input format is required (--from FORMAT)");
    enum cofi_text_format fmt;
    COFI_TRY(cofi_text_format_parse(from, &fmt));
    if (optind >= argc) return cli_usage(&cmd, "an input file is required");
    if (optind + 1 < argc) return cli_usage(&cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (!out) return cli_usage(&cmd, "an output file is required (-o FILE)");
    const char *in = argv[optind];
    const char *inputs[] = {in, NULL};
    COFI_TRY(cli_check_output(out, inputs, NULL));
    COFI_TRY(cofi_h5_check_output(c, out));

    double t0 = cofi_now();
    cofi_triplets t;
    cofi_csr csr;
    memset(&t, 0, sizeof t);
    memset(&csr, 0, sizeof csr);
    int rc = COFI_OK;
    if (c->rank == 0) {
        rc = cofi_text_parse_file(fmt, in, &t);
        if (!rc) rc = cofi_triplets_to_csr(&t, in, &csr);
    }
    rc = cofi_agree(c, rc);
    /* Every rank needs the sizes; only rank 0 has rows. */
    cofi_idx dims[2] = {csr.n_items, csr.n_users};
    if (!rc) rc = cofi_bcast(c, dims, sizeof dims, 0);
    if (!rc) {
        cofi_idx zero = 0;
        int root = c->rank == 0;
        cofi_strings none = {0, NULL, NULL};
        cofi_ratings_slice s = {dims[0], dims[1], root ? 0 : dims[0], root ? dims[0] : 0,
                                root ? csr.indptr : &zero, csr.user, csr.rating,
                                root ? &t.items : &none, root ? &t.users : &none};
        cofi_h5 f;
        rc = cofi_h5_create(c, out, &f);
        if (!rc) {
            rc = cofi_write_ratings(&f, &s);
            if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "source", in);
            if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "source_format", cofi_text_format_name(fmt));
            if (!rc) rc = cofi_h5_commit(&f);
            else cofi_h5_close(&f);
        }
    }
    if (!rc && c->rank == 0)
        printf("cofi convert: %" PRIidx " ratings, %" PRIidx " items x %" PRIidx " users, in %.3f s\n"
               "  read from '%s'\n  written to '%s'\n", csr.nnz, csr.n_items, csr.n_users,
               cofi_now() - t0, in, out);
    cofi_triplets_free(&t);
    cofi_csr_free(&csr);
    return rc;
}

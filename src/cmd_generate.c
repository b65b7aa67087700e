/* cmd_generate.c - `cofi generate`: synthetic ratings written in parallel.
 * Each rank generates a contiguous block of items; the file is identical for
 * any rank count because every value derives from (seed, global index). */
#include "cli.h"
#include "cofi/error.h"
#include "cofi/generate.h"
#include "cofi/io.h"
#include "cofi/partition.h"
#include "cofi/sysmem.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: cofi generate -o FILE --items N --users M [options]\n"
    "\n"
    "Synthetic ratings with known latent features, as in the notebook: true item and\n"
    "user features from N(0, 1), rating = x_i . w_j + noise * N(0, 1), rounded and\n"
    "clipped to [1, 5]; each (item, user) pair is left out with probability\n"
    "--missing.  Each rank generates its own items; the file is the same for any\n"
    "rank count.\n"
    "\n"
    "  -o, --output FILE        ratings file to write (HDF5)\n"
    "      --items N            number of items (rows)\n"
    "      --users M            number of users (columns)\n"
    "      --true-features R    latent features of the truth (default 3)\n"
    "      --noise S            standard deviation of the noise (default 0.5)\n"
    "      --missing F          fraction of pairs left unrated, in [0, 1)\n"
    "                           (default 0.5)\n"
    "      --seed S             random seed (default 1)\n"
    "      --no-round           keep x.w + noise as is: no rounding, no clipping\n"
    "      --zipf S             power-law item popularity: item i is rated in\n"
    "                           proportion to (i + 1)^-S (default 0: uniform)\n"
    "      --threads N          OpenMP threads per rank (default OMP_NUM_THREADS)\n"
    "  -h, --help               this text\n"
    "\n"
    "The file holds the ratings layout plus /truth/X [items x R] and /truth/W\n"
    "[users x R]; item ids are Item_0.., user ids User_0...\n";

int cofi_cmd_generate(const cofi_comm *c, int argc, char **argv)
{
    cofi_cmd cmd = {c, "generate"};
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"items", required_argument, 0, 'I'},
        {"users", required_argument, 0, 'U'}, {"true-features", required_argument, 0, 'r'},
        {"noise", required_argument, 0, 'n'}, {"missing", required_argument, 0, 'm'},
        {"seed", required_argument, 0, 's'}, {"no-round", no_argument, 0, 'R'},
        {"zipf", required_argument, 0, 'z'}, {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    cofi_gen_params p = cofi_gen_defaults();
    const char *out = NULL;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(&cmd, argc, argv, ":o:h", opts)) != -1) {
        int rc = COFI_OK;
        switch (ch) {
        case 'o': out = optarg; break;
        case 'I': rc = cli_idx(&cmd, "--items", optarg, 1, COFI_IDX_MAX, &p.n_items); break;
        case 'U': rc = cli_idx(&cmd, "--users", optarg, 1, COFI_IDX_MAX, &p.n_users); break;
        case 'r': rc = cli_idx(&cmd, "--true-features", optarg, 1, 1000, &p.true_features); break;
        case 'n': rc = cli_val(&cmd, "--noise", optarg, 0, 0, &p.noise); break;
        case 'm':
            rc = cli_val(&cmd, "--missing", optarg, 0, 0, &p.missing);
            if (!rc && p.missing >= 1)
                rc = cli_usage(&cmd, "--missing must be in [0, 1), got '%s'", optarg);
            break;
        case 's': rc = cli_u64(&cmd, "--seed", optarg, &p.seed); break;
        case 'R': p.round = 0; break;
        case 'z': rc = cli_val(&cmd, "--zipf", optarg, 0, 0, &p.zipf); break;
        case 't': rc = cli_threads(&cmd, optarg); break;
        case 'h': cli_help(&cmd, help); return COFI_OK;
        default: return COFI_ERR_USAGE;
        }
        if (rc) return rc;
    }
    if (optind < argc) return cli_usage(&cmd, "unexpected argument '%s'", argv[optind]);
    if (!out) return cli_usage(&cmd, "an output file is required (-o FILE)");
    if (!p.n_items || !p.n_users) return cli_usage(&cmd, "--items and --users are required");
    COFI_TRY(cli_check_output(out, NULL, NULL));
    COFI_TRY(cofi_h5_check_output(c, out));
    cofi_gen_prepare(&p);

    cofi_timers tm;
    memset(&tm, 0, sizeof tm);
    cofi_timer_start(&tm, COFI_TIME_TOTAL);
    /* Items split evenly by count: their ratings are not known yet. */
    cofi_idx starts[2];
    {
        cofi_idx n = p.n_items, P = c->size, r = c->rank;
        starts[0] = n / P * r + (n % P) * r / P;
        starts[1] = n / P * (r + 1) + (n % P) * (r + 1) / P;
    }
    const cofi_idx i0 = starts[0], nl = starts[1] - starts[0], R = p.true_features;
    {
        /* Before any work: the expected ratings (16 bytes each), the truth
         * and the ids (rank 0 holds the users'), checked on every rank. */
        double pairs = (double)nl * (double)p.n_users, ids = 24.0 * (double)nl;
        if (c->rank == 0) ids += 24.0 * (double)p.n_users;
        double bytes = 16.0 * pairs * (1.0 - p.missing) + 8.0 * (double)R * ((double)nl + (double)p.n_users) +
                       8.0 * (double)nl + ids;
        COFI_TRY(cofi_agree(c, cofi_mem_check(bytes, "generating these ratings")));
    }
    cofi_idx *indptr = cofi_malloc((size_t)nl + 1, sizeof *indptr, "row pointers");
    cofi_val *Xt = cofi_malloc((size_t)(nl * R), sizeof *Xt, "true X");
    cofi_val *Wt = cofi_malloc((size_t)(p.n_users * R), sizeof *Wt, "true W");
    cofi_idx *user = NULL;
    cofi_val *rating = NULL;
    cofi_strings item_ids = {0}, user_ids = {0};
    int rc = indptr && Xt && Wt ? COFI_OK : COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    if (rc) goto done;

    cofi_timer_start(&tm, COFI_TIME_COMPUTE);
    indptr[0] = 0;
    cofi_gen_count(&p, i0, i0 + nl, indptr + 1);
    for (cofi_idx i = 0; i < nl; i++) indptr[i + 1] += indptr[i];
    {
        cofi_idx total = indptr[nl];
        rc = cofi_sum_idx(c, &total, 1);
        if (!rc && total == 0)
            rc = cofi_error(COFI_ERR_USAGE, "no ratings generated: every one of the %" PRIidx " x %"
                            PRIidx " pairs was left out (lower --missing)", p.n_items, p.n_users);
        if (rc) goto done;
    }
    rc = cofi_mem_check((double)indptr[nl] * 16.0, "the generated ratings");
    if (!rc) {
        user = cofi_malloc((size_t)indptr[nl], sizeof *user, "ratings");
        rating = cofi_malloc((size_t)indptr[nl], sizeof *rating, "ratings");
        if (!user || !rating) rc = COFI_ERR_NOMEM;
    }
    if (!rc) rc = cofi_strings_numbered("Item_", i0, nl, &item_ids);
    if (!rc && c->rank == 0) rc = cofi_strings_numbered("User_", 0, p.n_users, &user_ids);
    rc = cofi_agree(c, rc);
    if (rc) goto done;
    cofi_gen_truth_X(&p, i0, i0 + nl, Xt);
    cofi_gen_truth_W(&p, Wt);
    cofi_gen_fill(&p, i0, i0 + nl, indptr, Xt, Wt, user, rating);
    cofi_timer_stop(&tm, COFI_TIME_COMPUTE);

    cofi_timer_start(&tm, COFI_TIME_IO);
    cofi_h5 f;
    rc = cofi_h5_create(c, out, &f);
    if (rc) goto done;
    cofi_ratings_slice s = {p.n_items, p.n_users, i0, nl, indptr, user, rating, &item_ids, &user_ids};
    rc = cofi_write_ratings(&f, &s);
    if (!rc) rc = cofi_h5_write_val(&f, "/truth/X", p.n_items, R, i0, nl, Xt, R);
    if (!rc) rc = cofi_h5_write_val(&f, "/truth/W", p.n_users, R, 0, c->rank == 0 ? p.n_users : 0,
                                    Wt, R);
    if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "generator", "cofi generate");
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "true_features", R);
    if (!rc) rc = cofi_h5_attr_set_val(&f, "/", "noise", p.noise);
    if (!rc) rc = cofi_h5_attr_set_val(&f, "/", "missing", p.missing);
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "seed", (cofi_idx)p.seed);
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "rounded", p.round);
    if (!rc) rc = cofi_h5_attr_set_val(&f, "/", "zipf", p.zipf);
    if (!rc) rc = cofi_h5_commit(&f);
    else cofi_h5_close(&f);
    cofi_timer_stop(&tm, COFI_TIME_IO);
    if (rc) goto done;
    cofi_timer_stop(&tm, COFI_TIME_TOTAL);

    cofi_idx nnz = indptr[nl];
    rc = cofi_sum_idx(c, &nnz, 1);
    if (!rc && c->rank == 0)
        printf("cofi generate: %" PRIidx " ratings, %" PRIidx " items x %" PRIidx " users, "
               "density %.4f, in %.3f s\n  written to '%s'\n", nnz, p.n_items, p.n_users,
               (double)nnz / ((double)p.n_items * (double)p.n_users),
               tm.elapsed[COFI_TIME_TOTAL], out);
done:
    cofi_free(indptr);
    cofi_free(Xt);
    cofi_free(Wt);
    cofi_free(user);
    cofi_free(rating);
    cofi_strings_free(&item_ids);
    cofi_strings_free(&user_ids);
    return rc;
}

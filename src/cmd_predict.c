/* cmd_predict.c - `cofi predict` (top-K per user, or the dense matrix, into
 * a parallel HDF5 file) and `cofi recommend` (one user's list, printed). */
#include "cli.h"
#include "cofi/error.h"
#include "cofi/io.h"
#include "cofi/partition.h"
#include "cofi/strmap.h"
#include "cofi/sysmem.h"
#include "cofi/topk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char predict_help[] =
    "usage: cofi predict MODEL RATINGS -o FILE [--top K | --dense] [options]\n"
    "       cofi predict MODEL PAIRS -o FILE --pairs\n"
    "\n"
    "Score (item, user) pairs with the model: clip(mu + item_bias + x_i . w_j + b_j)\n"
    "with the model's clip range.  RATINGS is the ratings file the model was trained\n"
    "on: its ratings say which items each user has already rated, and its ids must\n"
    "match.\n"
    "\n"
    "  -o, --output FILE       predictions file to write (HDF5)\n"
    "      --top K             the K best items each user has not rated (default\n"
    "                          15): /topk/item, /topk/score [n_users x K],\n"
    "                          /topk/count\n"
    "      --dense             the full predicted matrix /dense/prediction\n"
    "                          [n_items x n_users], rated entries included\n"
    "      --dense-limit SIZE  refuse --dense above SIZE bytes (default 1G; K, M,\n"
    "                          G, T)\n"
    "      --pairs             score every (item, user) of the ratings file PAIRS\n"
    "                          (e.g. a test split, converted on its own), matched\n"
    "                          by ids: /pairs/prediction aligned with PAIRS'\n"
    "                          /ratings/rating; an item or user the model does not\n"
    "                          know is predicted from the offsets it has; prints\n"
    "                          RMSE and MAE against PAIRS\n"
    "      --threads N         OpenMP threads per rank\n"
    "  -h, --help              this text\n"
    "\n"
    "Each rank scores its own items; the per-user K-lists are merged across ranks by\n"
    "a reduction, so no rank ever holds all scores.  A user with fewer than K unrated\n"
    "items gets item -1 and score NaN in the unused slots; /topk/count says how many\n"
    "are filled.  Lists are ranked by the unclipped score (so predictions clipped to\n"
    "the top of the range keep their order) and ties are broken by item index, so\n"
    "the lists are the same for any rank or thread count.\n";

static const char recommend_help[] =
    "usage: cofi recommend MODEL RATINGS --user NAME [--top K]\n"
    "\n"
    "Print the K (default 15) best items that user NAME has not rated, with the\n"
    "predicted rating, as the notebook does: 'Choice 1 : Item_23'.  NAME is an id\n"
    "from the ratings file's /users/id.  Items are ranked by the unclipped score,\n"
    "so predictions that clip to the top of the rating range are still in order;\n"
    "ties go to the lower item index.\n"
    "\n"
    "  -u, --user NAME     the user\n"
    "      --top K         how many items (default 15)\n"
    "      --threads N     OpenMP threads per rank\n"
    "  -h, --help          this text\n";

typedef struct {
    cofi_ratings R;
    cofi_ids ids;
    cofi_model M;
} scoring;

static void scoring_free(scoring *s)
{
    cofi_ratings_free(&s->R);
    cofi_ids_free(&s->ids);
    cofi_model_free(&s->M);
}

/* Ratings partitioned across ranks, and the model's rows for the same items;
 * the two files must describe the same items and users. */
static int load(const cofi_comm *c, const char *model, const char *ratings, scoring *s)
{
    memset(s, 0, sizeof *s);
    cofi_idx ni = 0, nu = 0, k = 0;
    COFI_TRY(cofi_read_param_dims(c, model, "/model", &ni, &nu, &k));
    COFI_TRY(cofi_read_ratings(c, ratings, &s->R, &s->ids));
    int rc = COFI_OK;
    if (ni != s->R.n_items || nu != s->R.n_users)
        rc = cofi_error(COFI_ERR_FORMAT, "model '%s' is for %" PRIidx " items x %" PRIidx
                        " users but '%s' has %" PRIidx " x %" PRIidx "; use the ratings file "
                        "the model was trained on", model, ni, nu, ratings, s->R.n_items,
                        s->R.n_users);
    if (!rc) rc = cofi_mem_check(8.0 * (double)cofi_padded(k) * (double)(s->R.n_local + nu),
                                 "the model");
    if (!rc) rc = cofi_model_alloc(&s->M, ni, nu, k, s->R.item_begin, s->R.n_local);
    rc = cofi_agree(c, rc);
    if (!rc) rc = cofi_read_params(c, model, "/model", &s->M);
    if (!rc) {
        /* Same ids in the same order, when the model has ids. */
        cofi_h5 f;
        rc = cofi_h5_open(c, model, &f);
        int has = 0;
        if (!rc) rc = cofi_h5_exists(&f, "/items/id", &has);
        cofi_strings mi = {0}, mu = {0};
        if (!rc && has) {
            rc = cofi_h5_read_strings(&f, "/items/id", s->R.item_begin, s->R.n_local, &mi);
            if (!rc) rc = cofi_h5_read_strings(&f, "/users/id", 0, nu, &mu);
            int bad = 0;
            cofi_idx where = -1;
            const char *what = "item";
            for (cofi_idx i = 0; !rc && !bad && i < mi.n; i++)
                if (strcmp(mi.buf + mi.off[i], s->ids.items.buf + s->ids.items.off[i]))
                    bad = 1, where = s->R.item_begin + i;
            for (cofi_idx j = 0; !rc && !bad && j < mu.n; j++)
                if (strcmp(mu.buf + mu.off[j], s->ids.users.buf + s->ids.users.off[j]))
                    bad = 1, where = j, what = "user";
            if (bad)
                rc = cofi_error(COFI_ERR_FORMAT, "model '%s' and ratings '%s' disagree on the id "
                                "of %s %" PRIidx "; use the ratings file the model was trained "
                                "on", model, ratings, what, where);
            rc = cofi_agree(c, rc);
        }
        cofi_strings_free(&mi);
        cofi_strings_free(&mu);
        cofi_h5_close(&f);
    }
    if (rc) scoring_free(s);
    return rc;
}

static int write_common(cofi_h5 *f, const scoring *s, const char *model, const char *ratings,
                        const char *kind)
{
    cofi_strings none = {0, NULL, NULL};
    int rc = cofi_h5_write_strings(f, "/items/id", s->R.n_items, s->R.item_begin, &s->ids.items);
    if (!rc) rc = cofi_h5_write_strings(f, "/users/id", s->R.n_users, 0,
                                        f->comm->rank == 0 ? &s->ids.users : &none);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "format", "cofi-predictions");
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "version", COFI_FORMAT_VERSION);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "kind", kind);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "model", model);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "ratings", ratings);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "n_items", s->R.n_items);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "n_users", s->R.n_users);
    return rc;
}

static int predict_topk(const cofi_comm *c, scoring *s, cofi_idx K, cofi_h5 *f, cofi_timers *tm)
{
    const cofi_idx nu = s->R.n_users;
    cofi_idx *starts = cofi_malloc((size_t)c->size + 1, sizeof *starts, "user blocks");
    cofi_scored *lists = NULL, *mine = NULL;
    cofi_idx *items = NULL, *count = NULL;
    cofi_val *scores = NULL;
    int rc = starts ? COFI_OK : COFI_ERR_NOMEM;
    if (!rc) {
        for (int r = 0; r <= c->size; r++)
            starts[r] = nu / c->size * r + (nu % c->size) * r / c->size;
    }
    cofi_idx u0 = starts ? starts[c->rank] : 0, nm = starts ? starts[c->rank + 1] - u0 : 0;
    if (!rc) rc = cofi_mem_check(((double)nu + (double)nm) * (double)K * 32.0, "the top-K lists");
    if (!rc) {
        lists = cofi_malloc((size_t)nu * (size_t)K, sizeof *lists, "top-K lists");
        mine = cofi_malloc((size_t)(nm > 0 ? nm : 1) * (size_t)K, sizeof *mine, "top-K lists");
        items = cofi_malloc((size_t)(nm > 0 ? nm : 1) * (size_t)K, sizeof *items, "top-K items");
        scores = cofi_malloc((size_t)(nm > 0 ? nm : 1) * (size_t)K, sizeof *scores, "top-K scores");
        count = cofi_malloc((size_t)(nm > 0 ? nm : 1), sizeof *count, "top-K counts");
        if (!lists || !mine || !items || !scores || !count) rc = COFI_ERR_NOMEM;
    }
    rc = cofi_agree(c, rc);
    if (!rc) {
        cofi_timer_start(tm, COFI_TIME_COMPUTE);
        cofi_topk_local(&s->M, &s->R, K, 0, nu, lists);
        cofi_timer_stop(tm, COFI_TIME_COMPUTE);
        cofi_timer_start(tm, COFI_TIME_ALLREDUCE);
        rc = cofi_topk_reduce_scatter(c, lists, nu, K, starts, mine);
        cofi_timer_stop(tm, COFI_TIME_ALLREDUCE);
    }
    if (!rc) {
        for (cofi_idx u = 0; u < nm; u++) {
            count[u] = cofi_topk_count(mine + u * K, K);
            for (cofi_idx n = 0; n < K; n++) {
                items[u * K + n] = mine[u * K + n].item;
                scores[u * K + n] =
                    mine[u * K + n].item >= 0 ? cofi_clip(&s->M, mine[u * K + n].score) : NAN;
            }
        }
        cofi_timer_start(tm, COFI_TIME_IO);
        rc = cofi_h5_write_idx(f, "/topk/item", nu, K, u0, nm, items, K);
        if (!rc) rc = cofi_h5_write_val(f, "/topk/score", nu, K, u0, nm, scores, K);
        if (!rc) rc = cofi_h5_write_idx(f, "/topk/count", nu, 0, u0, nm, count, 1);
        if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "top", K);
        cofi_timer_stop(tm, COFI_TIME_IO);
    }
    cofi_free(starts);
    cofi_free(lists);
    cofi_free(mine);
    cofi_free(items);
    cofi_free(scores);
    cofi_free(count);
    return rc;
}

static int predict_dense(const cofi_comm *c, scoring *s, cofi_h5 *f, cofi_timers *tm)
{
    const cofi_idx nu = s->R.n_users, nl = s->R.n_local;
    /* Slabs of about 32 MiB of rows; every rank joins every collective write. */
    cofi_idx rows = (cofi_idx)(33554432.0 / (8.0 * (double)nu));
    if (rows < 1) rows = 1;
    cofi_idx slabs = (nl + rows - 1) / rows;
    COFI_TRY(cofi_max_idx(c, &slabs, 1));
    cofi_val *buf = cofi_malloc((size_t)(rows < nl ? rows : (nl > 0 ? nl : 1)) * (size_t)nu,
                                sizeof *buf, "dense slab");
    int rc = cofi_agree(c, buf ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) {
        cofi_free(buf);
        return rc;
    }
    cofi_idx chunk_cols = nu < 4096 ? nu : 4096;
    cofi_idx chunk_rows = 131072 / chunk_cols > 0 ? 131072 / chunk_cols : 1;
    cofi_h5_dset d;
    rc = cofi_h5_dset_create(f, "/dense/prediction", s->R.n_items, nu, chunk_rows, chunk_cols, &d);
    for (cofi_idx sl = 0; !rc && sl < slabs; sl++) {
        cofi_idx i0 = sl * rows, i1 = i0 + rows < nl ? i0 + rows : nl;
        if (i1 < i0) i1 = i0;
        cofi_timer_start(tm, COFI_TIME_COMPUTE);
        cofi_scores_dense(&s->M, i0, i1, buf, nu);
        cofi_timer_stop(tm, COFI_TIME_COMPUTE);
        cofi_timer_start(tm, COFI_TIME_IO);
        rc = cofi_h5_dset_write(&d, s->R.item_begin + i0, i1 - i0, buf, nu);
        cofi_timer_stop(tm, COFI_TIME_IO);
    }
    if (!rc) rc = cofi_h5_dset_close(&d);
    cofi_free(buf);
    return rc;
}

/* predict --pairs: pairs of a ratings file, matched to the model by ids. */
typedef struct {
    cofi_idx pos;
    cofi_val pred;
} pos_pred;

static int predict_pairs(const cofi_comm *c, const char *model, const char *pairs_path,
                         const char *out, cofi_timers *tm)
{
    cofi_idx ni = 0, nu = 0, k = 0;
    COFI_TRY(cofi_read_param_dims(c, model, "/model", &ni, &nu, &k));
    cofi_model M;
    cofi_strings items = {0}, users = {0};
    cofi_strmap im = {0}, um = {0};
    cofi_pairs p = {0};
    cofi_idx *starts = cofi_malloc((size_t)c->size + 1, sizeof *starts, "partition");
    cofi_idx *rstarts = cofi_malloc((size_t)c->size + 1, sizeof *rstarts, "partition");
    cofi_idx *cnt = cofi_calloc((size_t)c->size, sizeof *cnt, "counts");
    cofi_val *pred = NULL, *block = NULL;
    pos_pred *send = NULL, *got = NULL;
    memset(&M, 0, sizeof M);
    int rc = starts && rstarts && cnt ? COFI_OK : COFI_ERR_NOMEM;
    if (!rc) {
        cofi_partition_even(ni, c->size, starts);
        rc = cofi_model_alloc(&M, ni, nu, k, starts[c->rank], starts[c->rank + 1] - starts[c->rank]);
    }
    rc = cofi_agree(c, rc);
    if (!rc) rc = cofi_read_params(c, model, "/model", &M);
    if (!rc) {
        cofi_h5 f;
        rc = cofi_h5_open(c, model, &f);
        int has = 0;
        if (!rc) rc = cofi_h5_exists(&f, "/items/id", &has);
        if (!rc && !has)
            rc = cofi_error(COFI_ERR_FORMAT, "model '%s' has no /items/id: --pairs matches by id",
                            model);
        if (!rc) rc = cofi_h5_read_strings(&f, "/items/id", 0, ni, &items);
        if (!rc) rc = cofi_h5_read_strings(&f, "/users/id", 0, nu, &users);
        if (f.id >= 0) cofi_h5_close(&f);
    }
    if (!rc) {
        rc = cofi_strmap_build(&im, &items);
        if (!rc) rc = cofi_strmap_build(&um, &users);
        rc = cofi_agree(c, rc);
    }
    cofi_idx counts[3] = {0, 0, 0};
    if (!rc) rc = cofi_read_pairs(c, pairs_path, &im, &um, starts, 1, &p, counts, rstarts);
    cofi_timer_stop(tm, COFI_TIME_IO);
    cofi_timer_start(tm, COFI_TIME_COMPUTE);
    cofi_val sums[3] = {0, 0, 0};
    if (!rc) {
        pred = cofi_malloc((size_t)(p.n > 0 ? p.n : 1), sizeof *pred, "predictions");
        send = cofi_malloc((size_t)(p.n > 0 ? p.n : 1), sizeof *send, "predictions");
        rc = cofi_agree(c, pred && send ? COFI_OK : COFI_ERR_NOMEM);
    }
    if (!rc) {
        cofi_pairs_predict(&M, &p, pred);
        cofi_pairs_eval(&M, &p, sums);
        /* Send each prediction back to the rank that read its position. */
        cofi_idx *at = cofi_calloc((size_t)c->size + 1, sizeof *at, "counts");
        int *dest = cofi_malloc((size_t)(p.n > 0 ? p.n : 1), sizeof *dest, "counts");
        rc = cofi_agree(c, at && dest ? COFI_OK : COFI_ERR_NOMEM);
        if (!rc) {
            for (cofi_idx r = 0; r < p.n; r++) {
                int lo = 0, hi = c->size - 1;
                while (lo < hi) {
                    int mid = (lo + hi + 1) / 2;
                    if (rstarts[mid] <= p.pos[r]) lo = mid;
                    else hi = mid - 1;
                }
                dest[r] = lo;
                cnt[lo]++;
            }
            for (int d = 0; d < c->size; d++) at[d + 1] = at[d] + cnt[d];
            for (cofi_idx r = 0; r < p.n; r++) send[at[dest[r]]++] = (pos_pred){p.pos[r], pred[r]};
            cofi_idx n = 0;
            rc = cofi_exchange(c, send, cnt, sizeof *send, (void **)&got, &n);
            cofi_idx b0 = rstarts[c->rank], nb = rstarts[c->rank + 1] - b0;
            if (!rc) {
                block = cofi_malloc((size_t)(nb > 0 ? nb : 1), sizeof *block, "predictions");
                rc = cofi_agree(c, block ? COFI_OK : COFI_ERR_NOMEM);
            }
            if (!rc) {
                for (cofi_idx r = 0; r < n; r++) block[got[r].pos - b0] = got[r].pred;
                rc = cofi_sum_val(c, sums, 3);
            }
            cofi_timer_stop(tm, COFI_TIME_COMPUTE);
            cofi_timer_start(tm, COFI_TIME_IO);
            if (!rc) {
                cofi_h5 f;
                rc = cofi_h5_create(c, out, &f);
                if (!rc) {
                    rc = cofi_h5_write_val(&f, "/pairs/prediction", rstarts[c->size], 0, b0, nb,
                                           block, 1);
                    double rmse = sums[2] > 0 ? sqrt(sums[0] / sums[2]) : NAN;
                    double mae = sums[2] > 0 ? sums[1] / sums[2] : NAN;
                    if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "format", "cofi-predictions");
                    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "version", COFI_FORMAT_VERSION);
                    if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "kind", "pairs");
                    if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "model", model);
                    if (!rc) rc = cofi_h5_attr_set_str(&f, "/", "pairs", pairs_path);
                    if (!rc) rc = cofi_h5_attr_set_val(&f, "/", "rmse", rmse);
                    if (!rc) rc = cofi_h5_attr_set_val(&f, "/", "mae", mae);
                    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "unknown_items", counts[1]);
                    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "unknown_users", counts[2]);
                    if (!rc) rc = cofi_h5_commit(&f);
                    else cofi_h5_close(&f);
                    if (!rc && c->rank == 0)
                        printf("cofi predict: %" PRIidx " pairs scored, RMSE %.6f, MAE %.6f\n"
                               "  with an unknown item: %" PRIidx ", with an unknown user: %" PRIidx
                               "\n  written to '%s' (/pairs/prediction)\n",
                               counts[0], rmse, mae, counts[1], counts[2], out);
                }
            }
        }
        cofi_free(at);
        cofi_free(dest);
    }
    cofi_free(starts);
    cofi_free(rstarts);
    cofi_free(cnt);
    cofi_free(pred);
    cofi_free(send);
    cofi_free(got);
    cofi_free(block);
    cofi_pairs_free(&p);
    cofi_strmap_free(&im);
    cofi_strmap_free(&um);
    cofi_strings_free(&items);
    cofi_strings_free(&users);
    cofi_model_free(&M);
    return rc;
}

static int parse_size(const cofi_cmd *cmd, const char *opt, const char *s, double *out)
{
    if (cofi_parse_size(s, out) != 0)
        return cli_usage(cmd, "%s must be a size such as 500M or 4G, got '%s'", opt, s);
    return COFI_OK;
}

int cofi_cmd_predict(const cofi_comm *c, int argc, char **argv)
{
    cofi_cmd cmd = {c, "predict"};
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"top", required_argument, 0, 'k'},
        {"dense", no_argument, 0, 'd'},        {"dense-limit", required_argument, 0, 'L'},
        {"pairs", no_argument, 0, 'p'},
        {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = NULL;
    cofi_idx K = 15;
    int dense = 0, top_given = 0, pairs = 0;
    double limit = 1073741824.0;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(&cmd, argc, argv, ":o:h", opts)) != -1) {
        int rc = COFI_OK;
        switch (ch) {
        case 'o': out = optarg; break;
        case 'k':
            rc = cli_idx(&cmd, "--top", optarg, 1, 1000000, &K);
            top_given = 1;
            break;
        case 'd': dense = 1; break;
        case 'p': pairs = 1; break;
        case 'L': rc = parse_size(&cmd, "--dense-limit", optarg, &limit); break;
        case 't': rc = cli_threads(&cmd, optarg); break;
        case 'h': cli_help(&cmd, predict_help); return COFI_OK;
        default: return COFI_ERR_USAGE;
        }
        if (rc) return rc;
    }
    if (argc - optind != 2) return cli_usage(&cmd, "MODEL and RATINGS are required");
    if (!out) return cli_usage(&cmd, "an output file is required (-o FILE)");
    if (dense + top_given + pairs > 1)
        return cli_usage(&cmd, "choose one of --top, --dense and --pairs");
    const char *model = argv[optind], *ratings = argv[optind + 1];
    const char *inputs[] = {model, ratings, NULL};
    COFI_TRY(cli_check_output(out, inputs, NULL));

    cofi_timers tm;
    memset(&tm, 0, sizeof tm);
    cofi_timer_start(&tm, COFI_TIME_TOTAL);
    cofi_timer_start(&tm, COFI_TIME_IO);
    COFI_TRY(cofi_h5_check_output(c, out));
    if (pairs) {
        int rc = predict_pairs(c, model, ratings, out, &tm);
        cofi_timer_stop(&tm, COFI_TIME_IO);
        cofi_timer_stop(&tm, COFI_TIME_TOTAL);
        if (!rc) rc = cli_print_times(c, &tm);
        return rc;
    }
    if (dense) {
        /* Refuse before reading anything big. */
        cofi_idx ni = 0, nu = 0, k = 0;
        COFI_TRY(cofi_read_param_dims(c, model, "/model", &ni, &nu, &k));
        double bytes = 8.0 * (double)ni * (double)nu;
        if (bytes > limit)
            return cofi_error(COFI_ERR_VALUE, "the dense prediction matrix would be %.0f bytes "
                              "(%.3g GiB: %" PRIidx " items x %" PRIidx " users x 8 bytes), above "
                              "--dense-limit %.0f bytes; use --top K for each user's best items, "
                              "or raise --dense-limit", bytes, bytes / 1073741824.0, ni, nu, limit);
    }
    scoring s;
    COFI_TRY(load(c, model, ratings, &s));
    cofi_timer_stop(&tm, COFI_TIME_IO);
    cofi_h5 f;
    int rc = cofi_h5_create(c, out, &f);
    if (!rc) {
        rc = write_common(&f, &s, model, ratings, dense ? "dense" : "topk");
        if (!rc) rc = dense ? predict_dense(c, &s, &f, &tm) : predict_topk(c, &s, K, &f, &tm);
        if (!rc) rc = cofi_h5_commit(&f);
        else cofi_h5_close(&f);
    }
    cofi_timer_stop(&tm, COFI_TIME_TOTAL);
    if (!rc && c->rank == 0) {
        if (dense)
            printf("cofi predict: %" PRIidx " x %" PRIidx " predictions\n"
                   "  written to '%s' (/dense/prediction)\n", s.R.n_items, s.R.n_users, out);
        else
            printf("cofi predict: top %" PRIidx " unrated items of %" PRIidx " users\n"
                   "  written to '%s' (/topk/item, /topk/score, /topk/count)\n", K,
                   s.R.n_users, out);
    }
    if (!rc) rc = cli_print_times(c, &tm);
    scoring_free(&s);
    return rc;
}

int cofi_cmd_recommend(const cofi_comm *c, int argc, char **argv)
{
    cofi_cmd cmd = {c, "recommend"};
    static const struct option opts[] = {{"user", required_argument, 0, 'u'},
                                         {"top", required_argument, 0, 'k'},
                                         {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *user = NULL;
    cofi_idx K = 15;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(&cmd, argc, argv, ":u:h", opts)) != -1) {
        int rc = COFI_OK;
        switch (ch) {
        case 'u': user = optarg; break;
        case 'k': rc = cli_idx(&cmd, "--top", optarg, 1, 100000, &K); break;
        case 't': rc = cli_threads(&cmd, optarg); break;
        case 'h': cli_help(&cmd, recommend_help); return COFI_OK;
        default: return COFI_ERR_USAGE;
        }
        if (rc) return rc;
    }
    if (argc - optind != 2) return cli_usage(&cmd, "MODEL and RATINGS are required");
    if (!user) return cli_usage(&cmd, "--user NAME is required");
    const char *model = argv[optind], *ratings = argv[optind + 1];
    scoring s;
    COFI_TRY(load(c, model, ratings, &s));
    cofi_idx j = -1;
    for (cofi_idx u = 0; u < s.ids.users.n && j < 0; u++)
        if (strcmp(s.ids.users.buf + s.ids.users.off[u], user) == 0) j = u;
    int rc = COFI_OK;
    if (j < 0)
        rc = cofi_error(COFI_ERR_VALUE, "unknown user '%s': '%s' has %" PRIidx " users (ids such "
                        "as '%s'); see /users/id", user, ratings, s.ids.users.n,
                        s.ids.users.buf + s.ids.users.off[0]);
    cofi_scored *list = rc ? NULL : cofi_malloc((size_t)K, sizeof *list, "top-K list");
    if (!rc && !list) rc = COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    cofi_idx rated = 0;
    if (!rc) {
        cofi_topk_local(&s.M, &s.R, K, j, j + 1, list);
        rc = cofi_topk_reduce_root(c, list, 1, K);
        rated = s.R.tptr[j + 1] - s.R.tptr[j];
        if (!rc) rc = cofi_sum_idx(c, &rated, 1);
    }
    /* Rank 0 reads the names of the winners. */
    cofi_idx n = 0, *rows = NULL;
    cofi_strings names = {0};
    if (!rc) {
        n = c->rank == 0 ? cofi_topk_count(list, K) : 0;
        rows = cofi_malloc((size_t)(n > 0 ? n : 1), sizeof *rows, "rows");
        rc = cofi_agree(c, rows ? COFI_OK : COFI_ERR_NOMEM);
    }
    if (!rc) {
        for (cofi_idx i = 0; i < n; i++) rows[i] = list[i].item;
        cofi_h5 f;
        rc = cofi_h5_open(c, ratings, &f);
        int has = 0;
        if (!rc) rc = cofi_h5_exists(&f, "/items/id", &has);
        if (!rc && has) rc = cofi_h5_read_strings_at(&f, "/items/id", n, rows, &names);
        if (f.id >= 0) cofi_h5_close(&f);
    }
    if (!rc && c->rank == 0) {
        printf("top %" PRIidx " unrated items for user '%s' (rated %" PRIidx " of %" PRIidx
               " items):\n", K, user, rated, s.R.n_items);
        for (cofi_idx i = 0; i < n; i++) {
            char idx[32];
            snprintf(idx, sizeof idx, "%" PRIidx, rows[i]);
            printf("Choice %" PRIidx " : %s  (predicted rating %.4f)\n", i + 1,
                   names.n ? names.buf + names.off[i] : idx, cofi_clip(&s.M, list[i].score));
        }
        if (n < K)
            printf("(only %" PRIidx " unrated item%s: fewer than the %" PRIidx " asked for)\n", n,
                   n == 1 ? "" : "s", K);
    }
    cofi_free(list);
    cofi_free(rows);
    cofi_strings_free(&names);
    scoring_free(&s);
    return rc;
}

#!/usr/bin/env bash
# cofi predict and recommend against brute force in numpy: top-K lists at
# 1-4 ranks (rated items excluded, ties, users with fewer than K unrated
# items), the dense matrix, offsets in the model, the dense size limit,
# recommend's list, unknown users, mismatched files; h5dump reads the outputs.
source "$(dirname "$0")/lib.sh"
CP="$PYTHON $TESTS_DIR/check_predict.py"

run 2 generate -o "$WORK/r.h5" --items 61 --users 29 --missing 0.6 --seed 4
run 2 train "$WORK/r.h5" -o "$WORK/m.h5" -k 6 -T 30 --print-every 0
check "trained a model" all_ranks_exited 2 0
# The same ratings plus a user who rated all but 2 items and one who rated
# everything, and a model with non-zero mu and item biases, written by h5py.
"$PYTHON" - "$WORK" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
ni, nu = 61, 31
with h5py.File(w + "/r.h5") as f:
    indptr, user, y = f["ratings/indptr"][:], f["ratings/user"][:], f["ratings/rating"][:]
    items = f["items/id"][:]
R = np.zeros((ni, nu)); M = np.zeros((ni, nu), bool)
it = np.repeat(np.arange(ni), np.diff(indptr))
R[it, user] = y; M[it, user] = True
M[:, 29] = True; M[[3, 40], 29] = False; R[:, 29] = 3
M[:, 30] = True; R[:, 30] = 4
it, us = np.nonzero(M)
with h5py.File(w + "/r2.h5", "w") as f:
    f["ratings/indptr"] = np.concatenate([[0], np.cumsum(M.sum(1))]).astype(np.int64)
    f["ratings/user"] = us.astype(np.int64); f["ratings/rating"] = R[it, us]
    f["items/id"] = items; f["users/id"] = np.array([b"u%d" % j for j in range(nu)])
    f.attrs.update(format="cofi-ratings", version=1, n_items=ni, n_users=nu, nnz=len(it))
rng = np.random.default_rng(5)
X = rng.normal(size=(ni, 4)); X[50] = X[10]  # a tie
with h5py.File(w + "/m2.h5", "w") as f:
    f["model/X"] = X; f["model/W"] = rng.normal(size=(nu, 4)); f["model/b"] = rng.normal(size=nu)
    f["model/mu"] = 3.2; ib = rng.normal(size=ni) * 0.3; ib[50] = ib[10]; f["model/item_bias"] = ib
    f["items/id"] = items; f["users/id"] = np.array([b"u%d" % j for j in range(nu)])
    f.attrs["format"] = "cofi-model"
PY

for np in 1 2 3 4; do
    run "$np" predict "$WORK/m.h5" "$WORK/r.h5" -o "$WORK/p$np.h5" --top 7
    check "predict --top 7 at $np ranks ($RANK_RCS) $(head -c 200 "$ERR")" all_ranks_exited "$np" 0
    check "top-7 at $np ranks = brute force" $CP topk "$WORK/p$np.h5" "$WORK/r.h5" "$WORK/m.h5" 7
    check "predict --top says what it wrote, in at most 80 columns (path aside): $(head -c 200 "$OUT")" \
        eval 'grep -q "^cofi predict: top 7 unrated items of 29 users$" "$OUT" &&
              [ -z "$(sed "s#$WORK/##" "$OUT" | awk "length > 80")" ]'
    run "$np" predict "$WORK/m2.h5" "$WORK/r2.h5" -o "$WORK/q$np.h5" --top 5
    check "top-5 with offsets, ties and full users at $np ranks" \
        $CP topk "$WORK/q$np.h5" "$WORK/r2.h5" "$WORK/m2.h5" 5
    run "$np" predict "$WORK/m2.h5" "$WORK/r2.h5" -o "$WORK/d$np.h5" --dense
    check "dense at $np ranks = X W^T + b + offsets" $CP dense "$WORK/d$np.h5" "$WORK/r2.h5" "$WORK/m2.h5"
    check "predict --dense says what it wrote, in at most 80 columns (path aside): $(head -c 200 "$OUT")" \
        eval 'grep -q "^cofi predict: 61 x 31 predictions$" "$OUT" &&
              [ -z "$(sed "s#$WORK/##" "$OUT" | awk "length > 80")" ]'
done
check "user 29 got 2 items, user 30 none" "$PYTHON" -c "
import h5py, sys; c = h5py.File(sys.argv[1])['topk/count'][:]; assert c[29] == 2 and c[30] == 0, c[29:]" "$WORK/q3.h5"
check "dense is chunked" bash -c "h5dump -p -H '$WORK/d2.h5' | grep -q CHUNKED"
for f in p3 q3 d3; do
    check "h5dump reads $f" bash -c "h5dump '$WORK/$f.h5' > /dev/null"
done

# the dense size limit
run 2 predict "$WORK/m.h5" "$WORK/r.h5" -o "$WORK/big.h5" --dense --dense-limit 10K
check "dense above the limit: exit 1 on every rank" all_ranks_exited 2 1
check "dense above the limit: suggests --top" grep -q "use --top K" "$ERR"
check "dense above the limit: no output" [ -z "$(ls "$WORK"/big.h5* 2>/dev/null)" ]
run 2 predict "$WORK/m.h5" "$WORK/r.h5" -o "$WORK/big.h5" --dense --dense-limit 1M
check "raising --dense-limit allows it" all_ranks_exited 2 0
check "README's h5py snippets predict what cofi predict --dense writes and read the ratings back" \
    "$PYTHON" "$TESTS_DIR/check_readme_snippets.py" "$TESTS_DIR/../README.md" "$WORK/m.h5" "$WORK/r.h5" "$WORK/big.h5"

# recommend
for np in 1 3; do
    run "$np" recommend "$WORK/m.h5" "$WORK/r.h5" --user User_4 --top 15
    check "recommend at $np ranks" all_ranks_exited "$np" 0
    check "recommend at $np ranks = brute force" $CP recommend "$OUT" "$WORK/r.h5" "$WORK/m.h5" User_4 15
    check "recommend printed once" [ "$(grep -c '^Choice 1 :' "$OUT")" -eq 1 ]
    run "$np" recommend "$WORK/m2.h5" "$WORK/r2.h5" --user u29 --top 15
    check "a user with 2 unrated items gets 2" $CP recommend "$OUT" "$WORK/r2.h5" "$WORK/m2.h5" u29 15
    check "... and the output says so" grep -q "only 2 unrated items" "$OUT"
    run "$np" recommend "$WORK/m.h5" "$WORK/r.h5" --user nobody
    check "unknown user: exit 1 on every rank" all_ranks_exited "$np" 1
    check "unknown user: one clear message" [ "$(err_lines "unknown user 'nobody'")" -eq 1 ]
done
# a checkpoint is a valid model for predict
run 2 train "$WORK/r.h5" -o "$WORK/m3.h5" -k 6 -T 5 --checkpoint "$WORK/c.h5"
run 2 predict "$WORK/c.h5" "$WORK/r.h5" -o "$WORK/pc.h5" --top 3
check "predict from a checkpoint" $CP topk "$WORK/pc.h5" "$WORK/r.h5" "$WORK/c.h5" 3
# model and ratings that do not belong together
run 2 predict "$WORK/m.h5" "$WORK/r2.h5" -o "$WORK/x.h5"
check "mismatched model and ratings: exit 1" all_ranks_exited 2 1
check "... names both" grep -q "use the ratings file the model was trained on" "$ERR"
finish

#!/usr/bin/env bash
# tools/crossval: k-fold cross-validation through cofi.  The folds partition
# the ratings, the test files hold only their own ids, each fold's RMSE is the
# RMSE of the model's predictions recomputed here in numpy, and the summary is
# their mean and sample standard deviation.
source "$(dirname "$0")/lib.sh"
run 2 generate -o "$WORK/g.h5" --items 200 --users 150 --missing 0.6 --noise 0.5 --no-round --seed 5
COFI="$COFI" MPIEXEC="$MPIEXEC" "$PYTHON" "$TESTS_DIR/../tools/crossval" "$WORK/g.h5" --folds 3 \
    --ranks 2 --workdir "$WORK/cv" -- -k 8 -T 60 > "$WORK/cv.txt" 2>&1
cv_rc=$?
check "crossval runs (exit $cv_rc): $(tail -3 "$WORK/cv.txt")" [ "$cv_rc" -eq 0 ]
check "crossval results are consistent with its files" "$PYTHON" - "$WORK" <<'PY'
import re, sys, h5py, numpy as np
w = sys.argv[1]
txt = open(w + "/cv.txt").read()
folds = [float(x) for x in re.findall(r"^fold \d/3: RMSE (\S+)", txt, re.M)]
mean, sd = map(float, re.search(r"RMSE (\S+) \+- (\S+),", txt).groups())
assert len(folds) == 3, txt
assert abs(mean - np.mean(folds)) < 1e-4 and abs(sd - np.std(folds, ddof=1)) < 1e-4, (mean, sd, folds)
total = h5py.File(w + "/g.h5").attrs["nnz"]
n = 0
for f in range(3):
    tr, te = h5py.File(f"{w}/cv/train{f}.h5"), h5py.File(f"{w}/cv/test{f}.h5")
    n += te.attrs["nnz"]
    assert tr.attrs["nnz"] + te.attrs["nnz"] == total
    # RMSE of the saved model on the test fold, recomputed from the files
    m = h5py.File(f"{w}/cv/model{f}.h5")
    mi = {s: i for i, s in enumerate(m["items/id"][:])}
    mu_ = {s: j for j, s in enumerate(m["users/id"][:])}
    ip, us, y = te["ratings/indptr"][:], te["ratings/user"][:], te["ratings/rating"][:]
    it = np.repeat(np.arange(len(ip) - 1), np.diff(ip))
    X, W, b, mu, ib = (m["model/" + k][()] for k in ("X", "W", "b", "mu", "item_bias"))
    pred = []
    for i, j in zip(te["items/id"][:][it], te["users/id"][:][us]):
        p = mu + (ib[mi[i]] if i in mi else 0) + (b[mu_[j]] if j in mu_ else 0)
        if i in mi and j in mu_:
            p += X[mi[i]] @ W[mu_[j]]
        pred.append(min(max(p, m.attrs["clip_min"]), m.attrs["clip_max"]))
    r = np.sqrt(np.mean((np.array(pred) - y) ** 2))
    assert abs(r - folds[f]) < 1e-4, (f, r, folds[f])
assert n == total, "folds partition the ratings"
assert 0.45 < mean < 0.8, mean
print("crossval consistent:", folds, mean, sd)
PY

# Errors: one message and exit 1, never a traceback; cofi's own message for
# an option cofi refuses.
CV=(env COFI="$COFI" MPIEXEC="$MPIEXEC" "$PYTHON" "$TESTS_DIR/../tools/crossval")
echo "not hdf5" > "$WORK/text.h5"
for bad in "$WORK/missing.h5" "$WORK/text.h5"; do
    "${CV[@]}" "$bad" --folds 3 --ranks 1 > /dev/null 2> "$WORK/cv.err"
    cv_rc=$?
    check "crossval $(basename "$bad"): exit 1 ($cv_rc), one line naming the file" eval \
        '[ "$cv_rc" -eq 1 ] && [ "$(wc -l < "$WORK/cv.err")" -eq 1 ] && grep -q "$bad: not a readable cofi ratings file" "$WORK/cv.err"'
done
for bad in "--seed -1" "--ranks 0" "--workdir $WORK/text.h5" "-- -o $WORK/x.h5" "-- --test=$WORK/g.h5"; do
    # shellcheck disable=SC2086
    "${CV[@]}" "$WORK/g.h5" --folds 2 $bad > /dev/null 2> "$WORK/cv.err"
    cv_rc=$?
    check "crossval $bad: usage error, exit 2 ($cv_rc), no traceback" \
        eval '[ "$cv_rc" -eq 2 ] && ! grep -q Traceback "$WORK/cv.err"'
done
check "... and nothing written in the way" [ ! -e "$WORK/x.h5" ]
"${CV[@]}" "$WORK/g.h5" --folds 2 --ranks 1 --quiet -- -k 0 > /dev/null 2> "$WORK/cv.err"
cv_rc=$?
check "crossval -- -k 0: exit 1 ($cv_rc) with cofi's message, no traceback" eval \
    '[ "$cv_rc" -eq 1 ] && grep -q "^cofi train: " "$WORK/cv.err" && grep -q "^crossval: .* failed with exit code 2" "$WORK/cv.err" && ! grep -q Traceback "$WORK/cv.err"'
finish

#!/usr/bin/env bash
# cofi generate: the same file at every rank count, and ratings that follow
# from the stored truth (checked independently in Python).
source "$(dirname "$0")/lib.sh"

for np in 1 2 3 4; do
    run "$np" generate -o "$WORK/g$np.h5" --items 57 --users 23 --seed 5
    check "generate at $np ranks: exit 0 ($RANK_RCS) $(cat "$ERR")" all_ranks_exited "$np" 0
    check "generate at $np ranks prints the file's counts in at most 80 columns (path aside): $(head -c 200 "$OUT")" \
        "$PYTHON" - "$OUT" "$WORK/g$np.h5" "$WORK/" <<'PY'
import re, sys, h5py
out, a = open(sys.argv[1]).read(), h5py.File(sys.argv[2]).attrs
m = re.match(r"cofi generate: (\d+) ratings, 57 items x 23 users, density ([\d.]+), in [\d.]+ s\n"
             r"  written to '(.*)'\n$", out)
assert m and m[3] == sys.argv[2], out
assert int(m[1]) == a["nnz"] and abs(float(m[2]) - a["nnz"] / (57 * 23)) < 1e-4, (m[1], m[2], a["nnz"])
assert all(len(l.replace(sys.argv[3], "")) <= 80 for l in out.splitlines()), out
PY
    run "$np" generate -o "$WORK/z$np.h5" --items 200 --users 31 --seed 9 --zipf 1.1 --missing 0.8
    check "power-law generate at $np ranks" all_ranks_exited "$np" 0
done
for np in 2 3 4; do
    check "generate: 1 and $np ranks give identical files" h5diff -q "$WORK/g1.h5" "$WORK/g$np.h5"
    check "power-law generate: 1 and $np ranks identical" h5diff -q "$WORK/z1.h5" "$WORK/z$np.h5"
done
run 1 generate -o "$WORK/g1b.h5" --items 57 --users 23 --seed 6
check "another seed gives other ratings" "$PYTHON" -c "
import sys, h5py, numpy as np
a, b = (h5py.File(p)['ratings'] for p in sys.argv[1:])
assert a['user'].shape != b['user'].shape or np.any(a['user'][:] != b['user'][:])
" "$WORK/g1.h5" "$WORK/g1b.h5"
"$PYTHON" - "$WORK/z1.h5" <<'PY' || fail "power-law: popular items should have more ratings"
import sys, h5py, numpy as np
p = np.diff(h5py.File(sys.argv[1])["ratings/indptr"][:])
assert p[:20].mean() > 3 * p[-100:].mean(), (p[:20].mean(), p[-100:].mean())
PY

run 3 generate -o "$WORK/r.h5" --items 300 --users 70 --noise 0 --missing 0.3 --seed 2
check "noiseless: ratings are clip(round(x.w))" "$PYTHON" "$TESTS_DIR/check_generate.py" "$WORK/r.h5" rounded-noiseless
run 2 generate -o "$WORK/e.h5" --items 100 --users 50 --noise 0 --no-round --seed 3
check "no rounding, no noise: ratings are x.w" "$PYTHON" "$TESTS_DIR/check_generate.py" "$WORK/e.h5" exact
run 3 generate -o "$WORK/e7.h5" --items 100 --users 50 --noise 0 --no-round --seed 3 --true-features 7
check "--true-features 7: ratings are x.w over 7 features" "$PYTHON" "$TESTS_DIR/check_generate.py" "$WORK/e7.h5" exact
check "--true-features 7: the truth has 7 columns" "$PYTHON" -c "
import h5py, sys; f = h5py.File(sys.argv[1])
assert f['truth/X'].shape == (100, 7) and f['truth/W'].shape == (50, 7) and f.attrs['true_features'] == 7" "$WORK/e7.h5"
run 4 generate -o "$WORK/n.h5" --items 400 --users 200 --noise 0.5 --no-round --seed 4
check "noise has the stated spread" "$PYTHON" "$TESTS_DIR/check_generate.py" "$WORK/n.h5" noisy
# sparse: 10^7 pairs at density 1e-3 is drawn in O(ratings)
run 2 generate -o "$WORK/s.h5" --items 5000 --users 2000 --missing 0.999 --seed 8
check "sparse density" "$PYTHON" - "$WORK/s.h5" <<'PY'
import sys, h5py
a = h5py.File(sys.argv[1]).attrs
n, p = 5000 * 2000, 0.001
assert abs(int(a["nnz"]) - n * p) < 5 * (n * p) ** 0.5, int(a["nnz"])
PY
check "h5dump reads a generated file" bash -c "h5dump -H '$WORK/g1.h5' >/dev/null"
finish

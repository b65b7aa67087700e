#!/usr/bin/env bash
# Limits: sizes beyond 32 bits are refused clearly (or computed in 64 bits),
# the memory a run needs is estimated before allocating and a run that would
# not fit stops with the figure; odd but valid names and text inputs work.
source "$(dirname "$0")/lib.sh"

# Ratings files that declare more than 2^31 ratings or users.  The datasets
# are chunked and never written, so the files are tiny.
"$PYTHON" - "$WORK" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
def make(path, n_items, n_users, nnz, indptr):
    with h5py.File(path, "w") as f:
        f["ratings/indptr"] = np.array(indptr, np.int64)
        ch = (min(1 << 20, nnz),)
        f.create_dataset("ratings/user", shape=(nnz,), dtype=np.int64, chunks=ch)
        f.create_dataset("ratings/rating", shape=(nnz,), dtype=np.float64, chunks=ch, fillvalue=3.0)
        f.attrs.update(format="cofi-ratings", version=1, n_items=n_items, n_users=n_users, nnz=nnz)
make(w + "/big_nnz.h5", 2, 2_000_000_000, 3_000_000_000, [0, 1_500_000_000, 3_000_000_000])
make(w + "/big_users.h5", 1, 3_000_000_000, 1, [0, 1])
PY
for np in 1 3; do
    run "$np" train "$WORK/big_nnz.h5" -o "$WORK/m.h5"
    check "3e9 ratings (np $np): exit 1 on every rank ($RANK_RCS)" all_ranks_exited "$np" 1
    check "3e9 ratings (np $np): the figure, before any work: $(head -c 200 "$ERR")" \
        grep -qE "needs [0-9.]+ GiB on one rank but only" "$ERR"
    run "$np" train "$WORK/big_users.h5" -o "$WORK/m.h5"
    check "3e9 users (np $np): exit 1 on every rank" all_ranks_exited "$np" 1
    check "3e9 users (np $np): clear message" grep -qE "needs [0-9.]+ GiB|at most 2147483647" "$ERR"
done
# With the memory check out of the way, the 32-bit limit itself speaks.
COFI_MEM_LIMIT=1T run 1 train "$WORK/big_users.h5" -o "$WORK/m.h5"
check "3e9 users: at most 2^31 - 1 users per rank, said clearly: $(head -c 200 "$ERR")" \
    grep -q "at most 2147483647 of each are supported per rank" "$ERR"

# The model's size in 64 bits: 40,000 items x k = 60,000 is 2.4e9 values per
# copy (beyond 2^31); the estimate names the right figure.
run 2 generate -o "$WORK/wide.h5" --items 40000 --users 50 --missing 0.98 --seed 1
run 2 train "$WORK/wide.h5" -o "$WORK/m.h5" -k 60000
check "k x items beyond 2^31: exit 1" all_ranks_exited 2 1
check "k x items beyond 2^31: the figure is right" "$PYTHON" - "$ERR" <<'PY'
import re, sys
m = re.search(r"needs ([0-9.]+) GiB on one rank", open(sys.argv[1]).read())
# (20,000 items on a rank + 50 users) x 60,000 values x 8 bytes x 4 copies
# (parameters, gradient, two Adam moments): 35.9 GiB; a 32-bit product
# would have wrapped around
want = (20000 + 50) * 60000 * 8 * 4 / 2**30
got = float(m.group(1))
assert abs(got - want) < 0.05 * want, (got, want)
PY
check "no training started" [ "$(grep -c iter "$OUT")" -eq 0 ]
# An ordinary run that does not fit a (pretended) small machine.
run 2 generate -o "$WORK/g.h5" --items 300 --users 200 --missing 0.5 --seed 1
COFI_MEM_LIMIT=64K run 2 train "$WORK/g.h5" -o "$WORK/m.h5"
check "a run larger than the memory: exit 1 on every rank" all_ranks_exited 2 1
check "... with the figures in units that show them (64K is 64.00 KiB)" \
    grep -qE "needs [0-9.]+ (KiB|MiB) on one rank but only 64.00 KiB" "$ERR"
check "... and nothing written" [ ! -e "$WORK/m.h5" ]

# Names that are not UTF-8 are kept as bytes.
printf 'item,user,rating\ncaf\xe9,al\xefce,4\nna\xefve,bob,3\ncaf\xe9,bob,5\n' > "$WORK/latin1.txt"
run 2 convert --from triplets "$WORK/latin1.txt" -o "$WORK/l.h5"
check "non-UTF-8 ids convert" all_ranks_exited 2 0
check "... and are kept byte for byte" "$PYTHON" -c "
import h5py, sys
f = h5py.File(sys.argv[1])
assert list(f['items/id'][:]) == [b'caf\xe9', b'na\xefve'], f['items/id'][:]
assert list(f['users/id'][:]) == [b'al\xefce', b'bob'], f['users/id'][:]" "$WORK/l.h5"
run 2 train "$WORK/l.h5" -o "$WORK/lm.h5" -k 2 -T 3
check "... train on them" all_ranks_exited 2 0
run 2 recommend "$WORK/lm.h5" "$WORK/l.h5" --user "$(printf 'al\xefce')"
check "... and recommend for such a user" grep -q "Choice 1 : $(printf 'na\xefve')" "$OUT"
check "h5dump reads them" bash -c "h5dump '$WORK/l.h5' > /dev/null"
# Empty and non-file text inputs.
: > "$WORK/empty.txt"
run 3 convert --from triplets "$WORK/empty.txt" -o "$WORK/e.h5"
check "an empty text file: exit 1 on every rank" all_ranks_exited 3 1
check "... says so" grep -q "no ratings found" "$ERR"
mkdir -p "$WORK/dir.txt"
run 3 convert --from triplets "$WORK/dir.txt" -o "$WORK/e.h5"
check "a directory as text input: exit 1 on every rank ($RANK_RCS): $(head -c 200 "$ERR")" all_ranks_exited 3 1
check "no output from either" [ -z "$(ls "$WORK"/e.h5* 2>/dev/null)" ]
finish

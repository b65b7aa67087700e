#!/usr/bin/env bash
# Checksums (h5io.c): every dataset cofi writes carries cofi_checksum, equal
# to tools/checksum's independent numpy computation and the same for any rank
# count; one damaged byte in a dataset cofi reads stops the run with one
# message and no output, at 1 and 3 ranks; tools/checksum --add makes a file
# from another program checked the same way.
source "$(dirname "$0")/lib.sh"
CK="$PYTHON $TESTS_DIR/../tools/checksum"

# flip FILE DATASET ELEMENT [BYTE]: flip one bit of a contiguous dataset's
# element, in place (h5py finds the data's offset in the file).
flip() {
    "$PYTHON" - "$@" <<'EOF'
import sys, h5py
path, name, el = sys.argv[1], sys.argv[2], int(sys.argv[3])
byte = int(sys.argv[4]) if len(sys.argv) > 4 else 0
with h5py.File(path, "r") as f:
    d = f[name]
    off = d.id.get_offset() + el * d.dtype.itemsize + byte
with open(path, "r+b") as b:
    b.seek(off)
    c = b.read(1)
    b.seek(off)
    b.write(bytes([c[0] ^ 0x10]))
EOF
}
# checksums NAME FILE: "dataset checksum" lines, for comparing files
checksums() {
    "$PYTHON" -c '
import sys, h5py
f = h5py.File(sys.argv[1], "r")
f.visititems(lambda n, o: print(n, o.attrs.get("cofi_checksum")) if isinstance(o, h5py.Dataset) else None)' "$1"
}
# a run that a damaged input stopped: exit 1 on each of NP ranks, one message
# naming the dataset, and no output file OUT
stopped() { # NP DATASET OUT
    all_ranks_exited "$1" 1 && [ "$(err_lines "^cofi")" -eq 1 ] &&
        [ "$(err_lines "dataset '$2' does not match its checksum")" -eq 1 ] && [ ! -e "$3" ]
}

printf 'item,user,rating\na,u1,4\na,u2,3.5\nb,u1,2\nc,u3,5\nc,u1,1\n' > "$WORK/t.csv"
for np in 1 3; do
    d=$WORK/np$np
    mkdir -p "$d"
    run $np generate -o "$d/g.h5" --items 200 --users 150 --missing 0.7 --seed 4
    run $np convert --from triplets "$WORK/t.csv" -o "$d/c.h5"
    run $np train "$d/g.h5" -k 8 -T 12 --print-every 0 -o "$d/m.h5" --checkpoint "$d/ck.h5" \
        --checkpoint-every 4 --holdout 0.1
    check "$np ranks: training ran" all_ranks_exited $np 0
    run $np predict "$d/m.h5" "$d/g.h5" -o "$d/top.h5" --top 5
    run $np predict "$d/m.h5" "$d/g.h5" -o "$d/dense.h5" --dense
    run $np predict "$d/m.h5" "$d/g.h5" -o "$d/pairs.h5" --pairs
    check "$np ranks: predict ran" all_ranks_exited $np 0
    for f in g c m ck top dense pairs; do
        $CK "$d/$f.h5" > "$WORK/ck.txt"
        rc=$?
        check "$np ranks, $f.h5: tools/checksum (numpy) agrees on every dataset ($(wc -l < "$WORK/ck.txt"))" \
            eval '[ $rc -eq 0 ] && ! grep -qv ": ok$" "$WORK/ck.txt" && [ -s "$WORK/ck.txt" ]'
    done
done
# The model files differ between rank counts in round-off, so only the
# outputs that are the same compare: the ratings files.
for f in g c; do
    check "$f.h5: the same checksums written on 1 and 3 ranks" \
        eval '[ "$(checksums "$WORK/np1/$f.h5")" = "$(checksums "$WORK/np3/$f.h5")" ] && [ -n "$(checksums "$WORK/np1/$f.h5")" ]'
done

d=$WORK/np3
# One damaged byte in each kind of dataset cofi reads back.
cp "$d/m.h5" "$WORK/mx.h5" && flip "$WORK/mx.h5" /model/X 37 3
cp "$d/m.h5" "$WORK/mb.h5" && flip "$WORK/mb.h5" /model/b 0 7
cp "$d/m.h5" "$WORK/mi.h5" && flip "$WORK/mi.h5" /items/id 5
cp "$d/g.h5" "$WORK/gr.h5" && flip "$WORK/gr.h5" /ratings/rating 100 6
cp "$d/g.h5" "$WORK/gu.h5" && flip "$WORK/gu.h5" /ratings/user 3
cp "$d/g.h5" "$WORK/gp.h5" && flip "$WORK/gp.h5" /ratings/indptr 199 0
cp "$d/ck.h5" "$WORK/cko.h5" && flip "$WORK/cko.h5" "$(
    "$PYTHON" -c 'import h5py,sys; f=h5py.File(sys.argv[1]); n=[]; f.visit(lambda k: n.append(k) if "optimizer" in k and "W" in k and isinstance(f[k], h5py.Dataset) else None); print("/" + sorted(n)[-1])' "$d/ck.h5")" 11 2
$CK "$WORK/mx.h5" > "$WORK/ck.txt"
rc=$?
check "tools/checksum: exit 1 and MISMATCH for the damaged /model/X" \
    eval '[ $rc -eq 1 ] && grep -q "/model/X: MISMATCH" "$WORK/ck.txt" && [ "$(grep -c MISMATCH "$WORK/ck.txt")" -eq 1 ]'
for np in 1 3; do
    run $np predict "$WORK/mx.h5" "$d/g.h5" -o "$WORK/p.h5" --top 5
    check "$np ranks: predict refuses a damaged /model/X ($RANK_RCS)" stopped $np /model/X "$WORK/p.h5"
    run $np predict "$WORK/mb.h5" "$d/g.h5" -o "$WORK/p.h5" --top 5
    check "$np ranks: predict refuses a damaged /model/b ($RANK_RCS)" stopped $np /model/b "$WORK/p.h5"
    run $np predict "$WORK/mi.h5" "$d/g.h5" -o "$WORK/p.h5" --top 5
    check "$np ranks: predict refuses a damaged /items/id ($RANK_RCS)" stopped $np /items/id "$WORK/p.h5"
    for x in gr:/ratings/rating gu:/ratings/user gp:/ratings/indptr; do
        run $np train "$WORK/${x%%:*}.h5" -k 8 -T 3 --print-every 0 -o "$WORK/m2.h5"
        check "$np ranks: train refuses a damaged ${x#*:} ($RANK_RCS)" stopped $np "${x#*:}" "$WORK/m2.h5"
    done
    run $np train "$d/g.h5" -k 8 -T 16 --print-every 0 -o "$WORK/m3.h5" --restart "$WORK/cko.h5" \
        --holdout 0.1
    check "$np ranks: a restart refuses a damaged optimizer state ($RANK_RCS)" \
        eval 'all_ranks_exited $np 1 && [ "$(err_lines "does not match its checksum")" -eq 1 ] && [ ! -e "$WORK/m3.h5" ]'
    # the undamaged files still read
    run $np train "$d/g.h5" -k 8 -T 16 --print-every 0 -o "$WORK/m3.h5" --restart "$d/ck.h5" --holdout 0.1
    check "$np ranks: the undamaged checkpoint restarts" eval 'all_ranks_exited $np 0 && [ -e "$WORK/m3.h5" ]'
    rm -f "$WORK/m3.h5"
done

# A ratings file from another program has no checksums and is read as it is;
# tools/checksum --add gives it some, and then a damaged byte is caught.
"$PYTHON" - "$WORK/h.h5" <<'EOF'
import sys, h5py, numpy as np
rng = np.random.default_rng(3)
n_items, n_users = 40, 30
rows = [np.sort(rng.choice(n_users, size=8, replace=False)) for _ in range(n_items)]
with h5py.File(sys.argv[1], "w") as f:
    f["/ratings/indptr"] = np.arange(0, 8 * n_items + 1, 8, dtype=np.int64)
    f["/ratings/user"] = np.concatenate(rows).astype(np.int64)
    f["/ratings/rating"] = rng.integers(1, 6, size=8 * n_items).astype(np.float64)
    f.attrs["n_items"], f.attrs["n_users"], f.attrs["nnz"] = n_items, n_users, 8 * n_items
    f.attrs["format"], f.attrs["version"] = "cofi-ratings", 1
EOF
run 2 train "$WORK/h.h5" -k 4 -T 3 --print-every 0 -o "$WORK/hm.h5"
check "a file without checksums trains ($(head -c 200 "$ERR"))" all_ranks_exited 2 0
$CK --add "$WORK/h.h5" > "$WORK/ck.txt"
rc=$?
check "tools/checksum --add: the three datasets" eval '[ $rc -eq 0 ] && [ "$(grep -c ": added$" "$WORK/ck.txt")" -eq 3 ]'
run 2 train "$WORK/h.h5" -k 4 -T 3 --print-every 0 -o "$WORK/hm2.h5"
check "with checksums added it trains to the same model" \
    eval 'all_ranks_exited 2 0 && h5diff "$WORK/hm.h5" "$WORK/hm2.h5" /model /model'
cp "$WORK/h.h5" "$WORK/hi.h5"
"$PYTHON" -c '
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    r = f["/ratings/rating"][:].astype(np.int64)
    del f["/ratings/rating"]
    f["/ratings/rating"] = r
    f["/ratings/rating"].attrs.create("cofi_checksum", 12345, dtype="<u8")' "$WORK/hi.h5"
run 2 train "$WORK/hi.h5" -k 4 -T 3 --print-every 0 -o "$WORK/hm4.h5"
check "integer ratings (with a checksum of their integers) read as numbers, unchecked" \
    eval 'all_ranks_exited 2 0 && h5diff "$WORK/hm.h5" "$WORK/hm4.h5" /model /model'
flip "$WORK/h.h5" /ratings/rating 17 6
run 2 train "$WORK/h.h5" -k 4 -T 3 --print-every 0 -o "$WORK/hm3.h5"
check "with checksums added a damaged rating is refused" stopped 2 /ratings/rating "$WORK/hm3.h5"
finish

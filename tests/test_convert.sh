#!/usr/bin/env bash
# cofi convert: each format round-trips a small hand-written file (checked by
# an independent Python parser), at 1 and 3 ranks; bad text files fail with
# the file name and line number, on every rank, leaving no output.
source "$(dirname "$0")/lib.sh"
D=$COFI_TEST_DATA/convert

for np in 1 3; do
    for pair in movielens-100k:u.data movielens-csv:ratings.csv movielens-dat:ratings.dat \
                triplets:triplets.txt dense:dense.csv; do
        fmt=${pair%%:*} file=${pair#*:}
        run "$np" convert --from "$fmt" "$D/$file" -o "$WORK/$fmt.h5"
        check "convert $fmt (np $np): exit 0 ($RANK_RCS) $(cat "$ERR")" all_ranks_exited "$np" 0
        check "convert $fmt (np $np): prints the file's counts and both paths: $(head -c 300 "$OUT")" \
            "$PYTHON" - "$OUT" "$WORK/$fmt.h5" "$D/$file" <<'PY'
import re, sys, h5py
out, a = open(sys.argv[1]).read(), h5py.File(sys.argv[2]).attrs
m = re.fullmatch(r"cofi convert: (\d+) ratings, (\d+) items x (\d+) users, in [\d.]+ s\n"
                 r"  read from '(.*)'\n  written to '(.*)'\n", out)
assert m and (m[4], m[5]) == (sys.argv[3], sys.argv[2]), out
assert tuple(map(int, m.group(1, 2, 3))) == (a["nnz"], a["n_items"], a["n_users"]), (m.groups(), dict(a))
PY
        check "convert $fmt (np $np): round trip" \
            "$PYTHON" "$TESTS_DIR/check_convert.py" "$fmt" "$D/$file" "$WORK/$fmt.h5"
        # the converted file is a valid training input
        run "$np" train "$WORK/$fmt.h5" -o "$WORK/$fmt.model.h5" -k 2 -T 3 --print-every 0
        check "train on converted $fmt (np $np)" all_ranks_exited "$np" 0
    done
done

bad_case() { # np format file fragment
    run "$1" convert --from "$2" "$D/$3" -o "$WORK/bad.h5"
    check "bad $3 (np $1): exit 1 on every rank (got $RANK_RCS)" all_ranks_exited "$1" 1
    check "bad $3 (np $1): one error line" [ "$(err_lines 'error:')" -eq 1 ]
    check "bad $3 (np $1): says '$4': $(cat "$ERR" | head -c 300)" grep -q -- "$4" "$ERR"
    check "bad $3 (np $1): no output" [ -z "$(ls "$WORK"/bad.h5* 2>/dev/null)" ]
}
for np in 1 3; do
    bad_case "$np" movielens-100k bad_fields.data "bad_fields.data' line 4"
    bad_case "$np" movielens-csv bad_rating.csv "bad_rating.csv' line 3"
    bad_case "$np" triplets nan.txt "nan.txt' line 3"
    bad_case "$np" triplets dup.txt "lines 2 and 5"
    bad_case "$np" dense ragged.csv "ragged.csv' line 3"
    bad_case "$np" triplets no-such-file.txt "No such file"
done
finish

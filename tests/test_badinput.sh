#!/usr/bin/env bash
# Bad ratings files and bad outputs: at 1 and 3 ranks, each gets one clear
# message from rank 0 and exit code 1 on every rank, under a timeout (no
# hang, no crash), and leaves no output file behind.
source "$(dirname "$0")/lib.sh"
"$PYTHON" "$TESTS_DIR/make_bad_inputs.py" "$WORK/bad" >/dev/null || { fail "corpus"; finish; exit 1; }

expect_error() { # np frag what
    local np=$1 frag=$2 what=$3
    check "$what (np $np): every rank exits 1, got '$RANK_RCS' (mpiexec $RC)" all_ranks_exited "$np" 1
    check "$what (np $np): exactly one error line" [ "$(err_lines 'error:')" -eq 1 ]
    check "$what (np $np): message has '$frag': $(head -c 300 "$ERR")" grep -q -- "$frag" "$ERR"
    check "$what (np $np): no output left" [ -z "$(ls "$WORK"/model.h5* 2>/dev/null)" ]
}

# Every case at 1 and 3 ranks (3 only in the sanitizer build: the same code
# paths, and the normal suite runs both).
case_nps="1 3"
[ "$SANITIZED" = 1 ] && case_nps="3"
n=0
while IFS=$'\t' read -r name frag; do
    for np in $case_nps; do
        run "$np" train "$WORK/bad/$name.h5" -o "$WORK/model.h5" -k 2 -T 2
        expect_error "$np" "$frag" "train $name"
    done
    n=$((n + 1))
done < "$WORK/bad/cases.tsv"

# The good file trains (so the failures above are about the defects).
run 3 train "$WORK/bad/good.h5" -o "$WORK/good_model.h5" -k 2 -T 2
check "good file trains at 3 ranks (ranks $RANK_RCS): $(cat "$ERR")" all_ranks_exited 3 0

# Outputs that cannot be written: checked before any work.
for np in $case_nps; do
    run "$np" train "$WORK/bad/good.h5" -o "$WORK/no/such/dir/model.h5" -k 2 -T 2
    expect_error "$np" "cannot write" "output in a missing directory"
    mkdir -p "$WORK/outdir.h5"
    run "$np" train "$WORK/bad/good.h5" -o "$WORK/outdir.h5" -k 2 -T 2
    expect_error "$np" "is a directory" "output is a directory"
    check "no training before the output check" [ "$(grep -c 'iter' "$OUT")" -eq 0 ]
    # the other outputs too: a stop on a signal must be able to write its checkpoint
    for opt in --checkpoint --metrics; do
        run "$np" train "$WORK/bad/good.h5" -o "$WORK/model.h5" -k 2 -T 2 $opt "$WORK/no/such/dir/x"
        expect_error "$np" "cannot write '$WORK/no/such/dir/x'" "$opt in a missing directory"
        check "$opt in a missing directory (np $np): no training first" [ "$(grep -c 'iter' "$OUT")" -eq 0 ]
    done
    run "$np" generate -o "$WORK/no/such/dir/g.h5" --items 10 --users 10
    check "generate into a missing directory (np $np): exit 1 on every rank" all_ranks_exited "$np" 1
    check "generate into a missing directory (np $np): one message" [ "$(err_lines 'error:')" -eq 1 ]
    run "$np" convert --from triplets "$WORK/bad.csv.missing" -o "$WORK/no/such/dir/c.h5"
    check "convert into a missing directory (np $np): the output is named before the input is read" \
        grep -q "cannot write '$WORK/no/such/dir/c.h5'" "$ERR"
    # nothing to write: one message, exit 2, no file
    run "$np" generate -o "$WORK/z.h5" --items 3 --users 3 --missing 0.99 --seed 2
    check "generate with every pair left out (np $np): exit 2 on every rank" all_ranks_exited "$np" 2
    check "... says so in one line" eval '[ "$(wc -l < "$ERR")" -eq 1 ] && grep -q "no ratings generated" "$ERR"'
    check "... and leaves no file" [ -z "$(ls "$WORK"/z.h5* 2>/dev/null)" ]
done
# More than memory holds (about 5 TB) is refused before the work (the pairs alone
# would take hours)
run 2 generate -o "$WORK/huge.h5" --items 100000000 --users 100000000000 --missing 0.999999999
check "generate beyond memory: exit 1 on every rank, at once" all_ranks_exited 2 1
check "... names the memory it needs" grep -q "generating these ratings needs .* GiB" "$ERR"
# Empty output paths and one path for two outputs are usage errors
for args in "generate -o '' --items 3 --users 3" "train $WORK/bad/good.h5 -o ''" \
            "train $WORK/bad/good.h5 -o $WORK/model.h5 --checkpoint ''"; do
    eval "run 2 $args"
    check "$args: exit 2 on every rank" all_ranks_exited 2 2
    check "$args: says the path is empty" grep -q "output path is empty" "$ERR"
done
run 2 train "$WORK/bad/good.h5" -o "$WORK/model.h5" --checkpoint "$WORK/model.h5"
check "the model and the checkpoint on one path: exit 2 on every rank" all_ranks_exited 2 2
check "... says so" grep -q "is named for two outputs" "$ERR"

# --init files with the wrong shape or non-finite values
"$PYTHON" - "$WORK" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
with h5py.File(w + "/init_k.h5", "w") as f:
    f["p/X"] = np.ones((6, 3)); f["p/W"] = np.ones((5, 3)); f["p/b"] = np.ones(5)
with h5py.File(w + "/init_shape.h5", "w") as f:
    f["p/X"] = np.ones((7, 2)); f["p/W"] = np.ones((5, 2)); f["p/b"] = np.ones(5)
with h5py.File(w + "/init_nan.h5", "w") as f:
    X = np.ones((6, 2)); X[4, 1] = np.nan
    f["p/X"] = X; f["p/W"] = np.ones((5, 2)); f["p/b"] = np.ones(5)
with h5py.File(w + "/init_nob.h5", "w") as f:
    f["p/X"] = np.ones((6, 2)); f["p/W"] = np.ones((5, 2))
PY
for np in 1 3; do
    run "$np" train "$WORK/bad/good.h5" -o "$WORK/model.h5" -k 2 --init "$WORK/init_k.h5:/p"
    check "init with another k (np $np): a usage error, exit 2 on every rank" all_ranks_exited "$np" 2
    check "init with another k (np $np): one message" [ "$(wc -l < "$ERR")" -eq 1 ]
    check "init with another k (np $np): names both k" grep -q "features 2 disagrees with k = 3" "$ERR"
    run "$np" train "$WORK/bad/good.h5" -o "$WORK/model.h5" --init "$WORK/init_shape.h5:/p"
    expect_error "$np" "7 items x 5 users" "init with the wrong shape"
    run "$np" train "$WORK/bad/good.h5" -o "$WORK/model.h5" --init "$WORK/init_nan.h5:/p"
    expect_error "$np" "X\[4\]\[1\] is not finite" "init with NaN"
    run "$np" train "$WORK/bad/good.h5" -o "$WORK/model.h5" --init "$WORK/init_nob.h5:/p"
    expect_error "$np" "'/p/b' is missing" "init without b"
done
echo "bad ratings files tried: $n at ranks: $case_nps"
finish

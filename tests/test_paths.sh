#!/usr/bin/env bash
# The faster paths against the reference path (blocking allreduce, double
# precision), on the same data at 1-4 ranks: --comm overlap and --comm
# sharded equal to round-off (1e-10: MPI's nonblocking and reduce-scatter
# algorithms may add in another order), --precision single within 1e-4 (its
# measured cost); with validation and early stopping; restarts across
# communication modes.
source "$(dirname "$0")/lib.sh"
CM="$PYTHON $TESTS_DIR/check_model.py"
run 2 generate -o "$WORK/g.h5" --items 700 --users 260 --missing 0.85 --noise 0.5 --seed 21
TR=(train "$WORK/g.h5" -k 24 -T 40 --print-every 0)
# (1, 3 and 4 ranks in the sanitizer build: the same code paths)
nps="1 2 3 4"
[ "$SANITIZED" = 1 ] && nps="1 3 4"
for np in $nps; do
    run "$np" "${TR[@]}" -o "$WORK/ref$np.h5"
    check "reference at $np ranks" all_ranks_exited "$np" 0
    for mode in overlap sharded; do
        for prec in double single; do
            run "$np" "${TR[@]}" -o "$WORK/$mode-$prec-$np.h5" --comm "$mode" --precision "$prec" \
                --metrics "$WORK/$mode-$prec-$np.json"
            check "$mode/$prec at $np ranks ($RANK_RCS) $(head -c 200 "$ERR")" all_ranks_exited "$np" 0
            check "$mode/$prec at $np ranks: the metrics file names the path" "$PYTHON" -c '
import json, sys
c = json.load(open(sys.argv[1]))["config"]
sys.exit(0 if (c["comm"], c["precision"]) == tuple(sys.argv[2:4]) else 1)' "$WORK/$mode-$prec-$np.json" "$mode" "$prec"
        done
    done
    run "$np" "${TR[@]}" -o "$WORK/allreduce-single-$np.h5" --precision single
    check "overlap/double = reference to 1e-10 ($np ranks)" $CM "$WORK/overlap-double-$np.h5" "$WORK/ref$np.h5" /model 1e-10
    check "sharded/double = reference to 1e-10 ($np ranks)" $CM "$WORK/sharded-double-$np.h5" "$WORK/ref$np.h5" /model 1e-10
    for m in allreduce overlap sharded; do
        check "$m/single = reference to 1e-4 ($np ranks)" $CM "$WORK/$m-single-$np.h5" "$WORK/ref$np.h5" /model 1e-4
    done
    check "overlap/single = allreduce/single to 1e-6 ($np ranks)" $CM "$WORK/overlap-single-$np.h5" "$WORK/allreduce-single-$np.h5" /model 1e-6
done
check "reference at 3 ranks = 1 rank (1e-10)" $CM "$WORK/ref3.h5" "$WORK/ref1.h5" /model 1e-10
check "sharded/double at 4 ranks = 1 rank (1e-10)" $CM "$WORK/sharded-double-4.h5" "$WORK/ref1.h5" /model 1e-10

# Adam's steps taken in the passes (every iteration that evaluates nothing)
# against the separate steps after the reduction (every evaluation
# iteration): a run without validation and one evaluating every 3rd
# iteration end in bitwise the same parameters and optimizer state.  X's step
# goes into the item pass on any rank count, W's and b's into the user pass
# on one rank; the default preset learns item biases and has b's ridge.
run 1 generate -o "$WORK/gv.h5" --items 700 --users 260 --missing 0.95 --seed 22
for np in 1 2; do
    run "$np" "${TR[@]}" -o "$WORK/f$np.h5" --threads 2 --checkpoint "$WORK/fc$np.h5"
    check "steps in the passes, $np ranks" all_ranks_exited "$np" 0
    run "$np" "${TR[@]}" -o "$WORK/s$np.h5" --threads 2 --checkpoint "$WORK/sc$np.h5" --test "$WORK/gv.h5" --eval-every 3
    check "separate steps every 3rd iteration, $np ranks" all_ranks_exited "$np" 0
    check "... bitwise the same parameters at the end, $np ranks" $CM "$WORK/sc$np.h5" "$WORK/fc$np.h5" /model 0
    check "... and the same optimizer state" h5diff "$WORK/sc$np.h5" "$WORK/fc$np.h5" /optimizer
done

# Thread counts: every path gives bitwise the same model at 1 and 3 threads
# per rank (with validation, so its sums are covered), and so do generate and
# predict's dense matrix and pairs.
for path in "--comm overlap" "--comm sharded --precision single" "--precision single"; do
    for nt in 1 3; do
        # shellcheck disable=SC2086
        run 2 "${TR[@]}" -o "$WORK/t$nt.h5" $path --holdout 0.2 --eval-every 7 --threads $nt
        check "$path, $nt threads" all_ranks_exited 2 0
        grep -o "best validation RMSE [0-9.]* at iteration [0-9]*" "$OUT" > "$WORK/t$nt.txt"
    done
    check "$path with validation: 1 and 3 threads give bitwise the same model" $CM "$WORK/t3.h5" "$WORK/t1.h5" /model 0
    check "... and the same validation RMSE ($(cat "$WORK/t1.txt"))" eval '[ -s "$WORK/t1.txt" ] && cmp -s "$WORK/t1.txt" "$WORK/t3.txt"'
done
for nt in 1 3; do
    run 2 generate -o "$WORK/gt$nt.h5" --items 300 --users 200 --zipf 0.8 --seed 4 --threads $nt
    run 2 predict "$WORK/t1.h5" "$WORK/g.h5" -o "$WORK/dt$nt.h5" --dense --threads $nt
    run 2 predict "$WORK/t1.h5" "$WORK/g.h5" -o "$WORK/pt$nt.h5" --pairs --threads $nt
done
check "generate: 1 and 3 threads write the same ratings and truth" h5diff "$WORK/gt1.h5" "$WORK/gt3.h5"
check "predict --dense: 1 and 3 threads write the same matrix" h5diff "$WORK/dt1.h5" "$WORK/dt3.h5" /dense/prediction
check "predict --pairs: 1 and 3 threads write the same predictions" h5diff "$WORK/pt1.h5" "$WORK/pt3.h5" /pairs/prediction

# With validation and early stopping: the same best model in every mode.
VAL=(train "$WORK/g.h5" -k 64 -T 300 --holdout 0.2 --lambda 0 --reg plain --lambda-bias 0 --learning-rate 0.05 --eval-every 5 --patience 2 --print-every 0)
run 3 "${VAL[@]}" -o "$WORK/v-ref.h5"
check "validation run" all_ranks_exited 3 0
check "it stopped early" grep -q "stopped early" "$OUT"
for mode in overlap sharded; do
    run 3 "${VAL[@]}" -o "$WORK/v-$mode.h5" --comm "$mode"
    check "validation run, $mode" all_ranks_exited 3 0
    check "validation, $mode: the same best model (1e-10)" $CM "$WORK/v-$mode.h5" "$WORK/v-ref.h5" /model 1e-10
    check "validation, $mode: the same best iteration" "$PYTHON" -c "
import h5py, sys
a, b = (h5py.File(p).attrs for p in sys.argv[1:])
assert a['best_iteration'] == b['best_iteration'], (a['best_iteration'], b['best_iteration'])" "$WORK/v-$mode.h5" "$WORK/v-ref.h5"
done

# Restarts across modes: a sharded checkpoint continued with the allreduce,
# and the other way round, on another rank count.
run 3 "${TR[@]}" -o "$WORK/h1.h5" -T 15 --comm sharded --checkpoint "$WORK/cs.h5"
run 2 train "$WORK/g.h5" -o "$WORK/h2.h5" -T 40 --restart "$WORK/cs.h5" --comm allreduce --print-every 0
check "sharded checkpoint restarted with allreduce on 2 ranks" all_ranks_exited 2 0
check "... equals the reference (1e-10)" $CM "$WORK/h2.h5" "$WORK/ref1.h5" /model 1e-10
run 2 "${TR[@]}" -o "$WORK/h3.h5" -T 15 --checkpoint "$WORK/ca.h5"
run 4 train "$WORK/g.h5" -o "$WORK/h4.h5" -T 40 --restart "$WORK/ca.h5" --comm sharded --print-every 0
check "allreduce checkpoint restarted sharded on 4 ranks" all_ranks_exited 4 0
check "... equals the reference (1e-10)" $CM "$WORK/h4.h5" "$WORK/ref1.h5" /model 1e-10
run 2 train "$WORK/g.h5" -o "$WORK/h5.h5" -T 40 --restart "$WORK/ca.h5" --precision single
check "a restart cannot change the precision: exit 2" all_ranks_exited 2 2
finish

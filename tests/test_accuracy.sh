#!/usr/bin/env bash
# Held-out evaluation: validation RMSE approaches the noise of generated data;
# the holdout split (and so the result) is the same at every rank count;
# offsets are undone in predictions; cold-start items and users and never-seen
# ids are predicted from the offsets they have; early stopping keeps the best
# model.  Checked against numpy (tests/check_accuracy.py).
source "$(dirname "$0")/lib.sh"
CA="$PYTHON $TESTS_DIR/check_accuracy.py"

# --- generated data without rounding: noise level 0.5 -----------------------
run 2 generate -o "$WORK/g.h5" --items 400 --users 300 --missing 0.7 --noise 0.5 --no-round --seed 3
for np in 1 3; do
    run "$np" train "$WORK/g.h5" -o "$WORK/m$np.h5" --holdout 0.2 -k 8 -T 150 --print-every 50
    check "holdout training at $np ranks" all_ranks_exited "$np" 0
    grep "^holdout:" "$OUT" > "$WORK/split$np.txt"
    awk '/best validation RMSE/ {for (i = 1; i <= NF; i++) if ($i == "RMSE" && $(i-1) == "validation") print $(i+1)}' "$OUT" > "$WORK/val$np.txt"
done
check "the holdout split is the same at 1 and 3 ranks" cmp -s "$WORK/split1.txt" "$WORK/split3.txt"
check "validation RMSE is the same at 1 and 3 ranks" cmp -s "$WORK/val1.txt" "$WORK/val3.txt"
val=$(cat "$WORK/val1.txt")
check "validation RMSE $val approaches the noise level 0.5 (< 0.6)" \
    "$PYTHON" -c "import sys; assert 0.45 < float(sys.argv[1]) < 0.6" "$val"
check "progress table has validation columns" grep -q "val_rmse *val_mae" "$OUT"
# the table: its header and rows up to the summary, 7 columns, 80 columns wide
awk '/^ *iter /{t=1} /^summary:/{t=0} t' "$OUT" > "$WORK/table.txt"
check "progress table: a header and 4 rows ($(wc -l < "$WORK/table.txt") lines)" \
    [ "$(wc -l < "$WORK/table.txt")" -eq 5 ]
check "progress table: 7 fields per line, at most 80 columns: $(awk 'NF != 7 || length > 80' "$WORK/table.txt" | head -1)" \
    [ -z "$(awk 'NF != 7 || length > 80' "$WORK/table.txt")" ]
# the lines around it (what is trained, the summary, the times) too, paths
# aside: the output file is named in WORK
check "every line of train's output at most 80 columns (the output's path aside): $(sed "s#$WORK/##" "$OUT" | awk 'length > 80' | head -1)" \
    [ -z "$(sed "s#$WORK/##" "$OUT" | awk 'length > 80')" ]
check "the summary names the best validation RMSE and the model" \
    eval 'grep -q "^  best validation RMSE $val at iteration [0-9]* (saved)$" "$OUT" && grep -q "^  model written to .*m3.h5.$" "$OUT"'

# --- a holdout that leaves one side empty is refused --------------------------
# One rating: the split puts it on one side or the other, depending on the seed.
printf 'item,user,rating\nI1,U1,4\n' > "$WORK/one.csv"
run 1 convert --from triplets "$WORK/one.csv" -o "$WORK/one.h5"
check "a file of one rating" all_ranks_exited 1 0
sides=""
for seed in 1 2 3 4 5 6 7 8; do
    run 2 train "$WORK/one.h5" -o "$WORK/one-m.h5" --holdout 0.5 --seed "$seed" -k 4 -T 3
    check "--holdout leaving one side empty: exit 1 on both ranks (seed $seed)" all_ranks_exited 2 1
    check "... one message naming the empty side (seed $seed): $(head -c 300 "$ERR")" \
        [ "$(err_lines 'error: --holdout 0.5 leaves no ratings for \(training\|validation\) (1 in all)')" = 1 ]
    check "... and no model (seed $seed)" [ ! -e "$WORK/one-m.h5" ]
    grep -q 'for training (1' "$ERR" && sides+="training "
    grep -q 'for validation (1' "$ERR" && sides+="validation "
done
check "the seeds put the rating on both sides: $sides" \
    eval 'echo "$sides" | grep -q training && echo "$sides" | grep -q validation'

# --- offsets undone; cold start; ids training never saw ------------------------
$CA shift "$WORK/g.h5" "$WORK/s.h5" 3.0
$CA coldsplit "$WORK/s.h5" "$WORK/train.h5" "$WORK/test.h5"
for np in 1 2 3 4; do
    run "$np" train "$WORK/train.h5" -o "$WORK/c$np.h5" --test "$WORK/test.h5" -k 8 -T 100 --print-every 0
    check "train with --test at $np ranks ($RANK_RCS) $(head -c 300 "$ERR")" all_ranks_exited "$np" 0
    check "--test reports unseen ids at $np ranks" grep -q "3 with an item and 2 with a user not in training" "$OUT"
    run "$np" predict "$WORK/c$np.h5" "$WORK/test.h5" -o "$WORK/p$np.h5" --pairs
    check "predict --pairs at $np ranks" all_ranks_exited "$np" 0
    check "predict --pairs prints the file's RMSE, MAE and unknown counts at $np ranks: $(head -c 300 "$OUT")" \
        "$PYTHON" - "$OUT" "$WORK/p$np.h5" <<'PY'
import re, sys, h5py
out, a = open(sys.argv[1]).read(), h5py.File(sys.argv[2]).attrs
m = re.search(r"(\d+) pairs scored, RMSE ([\d.]+), MAE ([\d.]+)\n"
              r"  with an unknown item: (\d+), with an unknown user: (\d+)\n", out)
assert m, out
assert int(m[1]) == len(h5py.File(sys.argv[2])["pairs/prediction"])
assert abs(float(m[2]) - a["rmse"]) < 1e-6 and abs(float(m[3]) - a["mae"]) < 1e-6
assert (int(m[4]), int(m[5])) == (a["unknown_items"], a["unknown_users"]) == (3, 2)
PY
    check "predict --pairs output at most 80 columns (the output's path aside) at $np ranks" \
        [ -z "$(sed "s#$WORK/##" "$OUT" | awk 'length > 80')" ]
    check "predictions at $np ranks = clip(mu + item_bias + x.w + b), offsets for cold and unseen" \
        $CA pairs "$WORK/c$np.h5" "$WORK/test.h5" "$WORK/p$np.h5"
done
check "items and users without training ratings have zero features and biases" $CA cold "$WORK/c2.h5"
check "the model learned a mean near 3" "$PYTHON" -c "
import h5py, sys; mu = h5py.File(sys.argv[1])['model/mu'][()]; assert 2.8 < mu < 3.2, mu" "$WORK/c2.h5"
check "validation RMSE printed by train = RMSE of the saved model on the test file" "$PYTHON" -c "
import h5py, sys
a, p = h5py.File(sys.argv[1]).attrs, h5py.File(sys.argv[2]).attrs
assert abs(a['best_val_rmse'] - p['rmse']) < 1e-9, (a['best_val_rmse'], p['rmse'])" "$WORK/c2.h5" "$WORK/p2.h5"

# --- early stopping keeps the best model --------------------------------------
run 2 train "$WORK/train.h5" -o "$WORK/e.h5" --test "$WORK/test.h5" -k 64 --lambda 0 --reg plain \
    --lambda-bias 0 --learning-rate 0.05 -T 400 --eval-every 5 --patience 3 --metrics "$WORK/e.json"
check "early-stopping run" all_ranks_exited 2 0
check "the run says it stopped early" grep -q "stopped early" "$OUT"
run 2 predict "$WORK/e.h5" "$WORK/test.h5" -o "$WORK/pe.h5" --pairs
check "the saved model is the best one, not the last" $CA best "$WORK/e.json" "$WORK/e.h5" "$WORK/test.h5" "$WORK/pe.h5"
# a restart of an early-stopping run continues the same way
run 2 train "$WORK/train.h5" -o "$WORK/e1.h5" --test "$WORK/test.h5" -k 64 --lambda 0 --reg plain \
    --lambda-bias 0 --learning-rate 0.05 -T 12 --eval-every 5 --patience 3 --checkpoint "$WORK/eck.h5"
run 3 train "$WORK/train.h5" -o "$WORK/e2.h5" -T 400 --restart "$WORK/eck.h5"
check "restart with validation (3 ranks)" all_ranks_exited 3 0
check "restarted early-stopping run saves the same best model (1e-10)" \
    "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/e2.h5" "$WORK/e.h5" /model 1e-10
# A run that stopped early is over: restarted from its checkpoint (the step
# after the stopping evaluation with --comm sharded, whose exchange takes the
# step, the evaluated step otherwise), it trains no further and saves what the
# run saved, with the same history, iterations and early-stopping state.
for comm in allreduce sharded; do
    run 2 train "$WORK/train.h5" -o "$WORK/es-$comm.h5" --test "$WORK/test.h5" -k 64 --lambda 0 \
        --reg plain --lambda-bias 0 --learning-rate 0.05 -T 400 --eval-every 5 --patience 3 \
        --comm "$comm" --checkpoint "$WORK/esck-$comm.h5" --metrics "$WORK/es-$comm.json"
    check "early-stopping run with --comm $comm and a checkpoint" grep -q "stopped early" "$OUT"
    run 3 train "$WORK/train.h5" -o "$WORK/esr-$comm.h5" -T 400 --restart "$WORK/esck-$comm.h5" \
        --metrics "$WORK/esr-$comm.json"
    check "restarted from the checkpoint of a run that stopped early ($comm, 3 ranks)" all_ranks_exited 3 0
    check "... it says there is nothing to continue" grep -q "nothing to continue" "$OUT"
    check "... and saves the run's model, iterations, final cost and early-stopping state" "$PYTHON" -c "
import json, sys, h5py, numpy as np
a, b = (json.load(open(p))['final'] for p in sys.argv[1:3])
assert a == b, (a, b)
assert a['stop'] == 'early', a
fa, fb = (h5py.File(p) for p in sys.argv[3:5])
for k in ('iterations', 'best_iteration', 'bad_evals', 'final_cost', 'final_val_rmse', 'best_val_rmse'):
    assert fa.attrs[k] == fb.attrs[k], (k, fa.attrs[k], fb.attrs[k])
for k in ('X', 'W', 'b', 'item_bias'):
    assert np.array_equal(fa['model'][k][()], fb['model'][k][()]), k" \
        "$WORK/es-$comm.json" "$WORK/esr-$comm.json" "$WORK/es-$comm.h5" "$WORK/esr-$comm.h5"
    check "... the checkpoint and the model say stopped_early = 1, a checkpoint that ran on 0" \
        "$PYTHON" -c "
import sys, h5py
for p, want in zip(sys.argv[1:], (1, 1, 0)):
    assert h5py.File(p).attrs['stopped_early'] == want, (p, want)" \
        "$WORK/esck-$comm.h5" "$WORK/es-$comm.h5" "$WORK/eck.h5"
    # a checkpoint written before the attribute existed: the same restart
    cp "$WORK/esck-$comm.h5" "$WORK/esold-$comm.h5"
    "$PYTHON" -c "import h5py, sys; del h5py.File(sys.argv[1], 'r+').attrs['stopped_early']" \
        "$WORK/esold-$comm.h5"
    run 2 train "$WORK/train.h5" -o "$WORK/esro-$comm.h5" -T 400 --restart "$WORK/esold-$comm.h5"
    check "... without stopped_early (an older checkpoint) there is nothing to continue either" \
        grep -q "nothing to continue" "$OUT"
    check "... and the same model is saved (bitwise)" \
        "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/esro-$comm.h5" "$WORK/es-$comm.h5" /model 0
done
# ... also when the best model is older than the checkpoint: noisy data whose
# validation RMSE rises from iteration 0 on.  The checkpoint must hold the
# current parameters, not the best, or the restart takes another path.
run 1 generate -o "$WORK/n.h5" --items 300 --users 200 --missing 0.7 --noise 2 --no-round \
    --true-features 1 --seed 5
NOISY=(-k 32 --lambda 0 --reg plain --lambda-bias 0 --holdout 0.3 --eval-every 2 --print-every 0)
run 2 train "$WORK/n.h5" -o "$WORK/n20.h5" "${NOISY[@]}" -T 20 --metrics "$WORK/n20.json"
check "noisy run, 20 iterations" all_ranks_exited 2 0
run 2 train "$WORK/n.h5" -o "$WORK/n12.h5" "${NOISY[@]}" -T 12 --checkpoint "$WORK/nck.h5"
check "noisy run, 12 iterations with a checkpoint" all_ranks_exited 2 0
run 3 train "$WORK/n.h5" -o "$WORK/n12r.h5" -T 20 --restart "$WORK/nck.h5" --metrics "$WORK/n12r.json"
check "noisy run restarted at 12 (3 ranks)" all_ranks_exited 3 0
check "the restarted run's costs after step 12 are the uninterrupted run's (1e-10), its best is older" \
    "$PYTHON" -c "
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ca = {r['iter']: r['cost'] for r in a['iterations']}
cb = {r['iter']: r['cost'] for r in b['iterations']}
assert sorted(cb) == list(range(12, 20)), sorted(cb)
assert abs(a['final']['cost'] - b['final']['cost']) <= 1e-10 * a['final']['cost']
for t in cb: assert abs(cb[t] - ca[t]) <= 1e-10 * abs(ca[t]), (t, cb[t], ca[t])
assert a['final']['best_iteration'] < 12, a['final']" "$WORK/n20.json" "$WORK/n12r.json"
check "... and it saves the same best model (1e-10)" \
    "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/n12r.h5" "$WORK/n20.h5" /model 1e-10
# ... and when a finished run is taken further.  Its last step, 13, is off the
# --eval-every 5 grid and has the best validation RMSE of the whole curve
# (it falls to step 13, then rises): the short run saves it, but the run taken
# on to 30 must choose among steps 0, 5, ..., 30 as an uninterrupted run does.
run 1 generate -o "$WORK/d.h5" --items 200 --users 150 --missing 0.7 --noise 1 --no-round --seed 3
DIP=(-k 32 --lambda 0 --reg plain --lambda-bias 0 --holdout 0.3 --eval-every 5 --print-every 0)
run 2 train "$WORK/d.h5" -o "$WORK/d30.h5" "${DIP[@]}" -T 30 --metrics "$WORK/d30.json"
check "dipping run, 30 iterations" all_ranks_exited 2 0
run 2 train "$WORK/d.h5" -o "$WORK/d13.h5" "${DIP[@]}" -T 13 --checkpoint "$WORK/dck.h5" \
    --metrics "$WORK/d13.json"
check "dipping run, 13 iterations with a checkpoint" all_ranks_exited 2 0
run 3 train "$WORK/d.h5" -o "$WORK/d13r.h5" -T 30 --restart "$WORK/dck.h5" --metrics "$WORK/d13r.json"
check "dipping run taken on from 13 to 30 (3 ranks)" all_ranks_exited 3 0
check "the 13-step run saves its last step, the best evaluated; the run taken on to 30 and the uninterrupted one choose the same step on the grid" \
    "$PYTHON" -c "
import json, sys, h5py
a, s, b = (json.load(open(p))['final'] for p in sys.argv[1:4])
assert s['best_iteration'] == 13, s
assert s['best_val_rmse'] < a['best_val_rmse'], (s, a)
assert a['best_iteration'] % 5 == 0, a
assert b['best_iteration'] == a['best_iteration'], (b, a)
assert abs(b['best_val_rmse'] - a['best_val_rmse']) <= 1e-10 * a['best_val_rmse'], (b, a)
c = h5py.File(sys.argv[4]).attrs
assert c['best_iteration'] < 13 and c['step'] == 13, dict(c)" \
    "$WORK/d30.json" "$WORK/d13.json" "$WORK/d13r.json" "$WORK/dck.h5"
check "... and the same best model (1e-10)" \
    "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/d13r.h5" "$WORK/d30.h5" /model 1e-10
finish

#!/usr/bin/env bash
# cofi train end to end: the reference trajectory through the command line
# (ratings file read in parallel, --init, model written collectively) at 1-4
# ranks and 1-2 threads; model attributes; a model is a valid --init; plain
# gradient descent against numpy.
source "$(dirname "$0")/lib.sh"
REF=$COFI_TEST_DATA/seed_adam.h5

# The reference's ratings in cofi's layout, written here with h5py.
"$PYTHON" - "$REF" "$WORK/r.h5" <<'PY'
import sys, h5py, numpy as np
ref = h5py.File(sys.argv[1], "r")
t = ref["ratings"][:]
ni, nu = int(ref.attrs["n_items"]), int(ref.attrs["n_users"])
order = np.lexsort((t[:, 1], t[:, 0]))
t = t[order]
indptr = np.zeros(ni + 1, np.int64)
np.add.at(indptr, t[:, 0].astype(np.int64) + 1, 1)
with h5py.File(sys.argv[2], "w") as f:
    f["ratings/indptr"] = np.cumsum(indptr)
    f["ratings/user"] = t[:, 1].astype(np.int64)
    f["ratings/rating"] = t[:, 2]
    f["items/id"] = np.array([b"Item_%d" % i for i in range(ni)])
    f["users/id"] = np.array([b"User_%d" % j for j in range(nu)])
    f.attrs.update({"format": "cofi-ratings", "version": 1, "n_items": ni,
                    "n_users": nu, "nnz": len(t)})
PY

for np in 1 2 3 4; do
    for th in 1 2; do
        run "$np" train "$WORK/r.h5" -o "$WORK/m.h5" --init "$REF:/init" --preset seed \
            --threads "$th" --print-every 1
        check "np $np threads $th: exit 0 ($RANK_RCS) $(head -c 300 "$ERR")" all_ranks_exited "$np" 0
        check "np $np threads $th: final X, W, b = reference (1e-8)" \
            "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/m.h5" "$REF" /final 1e-8
        check "np $np threads $th: printed costs = reference (1e-9)" \
            "$PYTHON" "$TESTS_DIR/check_model.py" --table "$OUT" "$REF" 1e-9
        check "np $np threads $th: summary with time split" \
            grep -q -E "^  allreduce +[0-9.]+ +[0-9.]+ +[0-9.]+" "$OUT"
        check "np $np threads $th: table printed once" [ "$(grep -c '^ *iter ' "$OUT")" -eq 1 ]
    done
done

check "model attributes record the options" "$PYTHON" - "$WORK/m.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
a = f.attrs
assert a["format"] == "cofi-model" and a["version"] == 1
assert a["mu_mode"] == "zero" and a["item_bias_mode"] == "zero" and a["weighted_reg"] == 0
assert a["features"] == 100 and a["iterations"] == 100 and a["optimizer"] == "adam"
assert abs(a["lambda"] - 1.3) < 1e-15 and abs(a["learning_rate"] - 0.1) < 1e-15
assert a["n_items"] == 100 and a["n_users"] == 30 and "seed" in a and "final_cost" in a
assert f["items/id"][7] == b"Item_7" and f["users/id"][29] == b"User_29"
assert f["model/item_bias"].shape == (100,) and float(f["model/mu"][()]) == 0.0
PY
check "h5dump reads the model" bash -c "h5dump '$WORK/m.h5' >/dev/null"

# A model is a valid --init: zero further steps give the same parameters.
run 3 train "$WORK/r.h5" -o "$WORK/m0.h5" --init "$WORK/m.h5" --iterations 0
check "model as --init (3 ranks)" all_ranks_exited 3 0
check "zero steps from a model keep it" "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/m0.h5" "$WORK/m.h5" /model 0

# Plain gradient descent against numpy.
run 3 train "$WORK/r.h5" -o "$WORK/gd.h5" --init "$REF:/init" --preset seed --optimizer gd \
    --learning-rate 0.001 --lambda 0.5 --iterations 20
check "gd run (3 ranks)" all_ranks_exited 3 0
check "gd: 20 steps = numpy gradient descent" "$PYTHON" "$TESTS_DIR/check_model.py" --gd \
    "$WORK/gd.h5" "$WORK/r.h5" "$REF" /init 0.001 0.5 20 1e-10

# The default preset's whole objective (mu, learned item biases, count-weighted
# ridge, bias ridge, clipped metrics) and the fixed mean item bias with an
# explicit clip range, against numpy.
run 3 train "$WORK/r.h5" -o "$WORK/gdf.h5" --init "$REF:/init" --optimizer gd --learning-rate 0.0005 \
    --lambda 0.3 --lambda-bias 2 --iterations 20
check "gd, default preset (3 ranks)" all_ranks_exited 3 0
lohi=$("$PYTHON" -c "import h5py,sys; y=h5py.File(sys.argv[1])['ratings/rating'][:]; print(y.min(), y.max())" "$WORK/r.h5")
check "gd, default preset: 20 steps = numpy on the whole objective (1e-10)" "$PYTHON" \
    "$TESTS_DIR/check_model.py" --gd-full "$WORK/gdf.h5" "$WORK/r.h5" "$REF" /init 0.0005 0.3 2 20 1e-10 learned $lohi
run 2 train "$WORK/r.h5" -o "$WORK/gdm.h5" --init "$REF:/init" --optimizer gd --learning-rate 0.0005 \
    --lambda 0.3 --lambda-bias 2 --iterations 20 --item-bias mean --clip 1.5,4.5
check "gd, --item-bias mean --clip 1.5,4.5 (2 ranks)" all_ranks_exited 2 0
check "gd, --item-bias mean --clip 1.5,4.5: = numpy (1e-10)" "$PYTHON" "$TESTS_DIR/check_model.py" \
    --gd-full "$WORK/gdm.h5" "$WORK/r.h5" "$REF" /init 0.0005 0.3 2 20 1e-10 mean 1.5 4.5

# Adam with other constants than Keras' defaults, on the same objective.
run 3 train "$WORK/r.h5" -o "$WORK/adb.h5" --init "$REF:/init" --learning-rate 0.01 --lambda 0.3 \
    --lambda-bias 2 --iterations 20 --beta1 0.8 --beta2 0.99 --epsilon 1e-4
check "adam, --beta1 0.8 --beta2 0.99 --epsilon 1e-4 (3 ranks)" all_ranks_exited 3 0
check "adam with those constants: 20 steps = numpy (1e-10)" "$PYTHON" "$TESTS_DIR/check_model.py" \
    --gd-full "$WORK/adb.h5" "$WORK/r.h5" "$REF" /init 0.01 0.3 2 20 1e-10 learned $lohi adam,0.8,0.99,1e-4
# --init-scale: the random start is N(0, S^2) (mean and spread within 5 standard errors)
run 2 train "$WORK/r.h5" -o "$WORK/is.h5" -k 40 --iterations 0 --init-scale 0.3 --seed 9
check "--init-scale 0.3, no steps" all_ranks_exited 2 0
check "--init-scale 0.3: X, W and b drawn from N(0, 0.09)" "$PYTHON" -c "
import h5py, sys, numpy as np
m = h5py.File(sys.argv[1])['model']
v = np.concatenate([m['X'][:].ravel(), m['W'][:].ravel(), m['b'][:]])
v = v[v != 0]  # items and users without ratings start at zero
se = 0.3 / np.sqrt(v.size)
assert v.size > 4000 and abs(v.mean()) < 5 * se and abs(v.std() - 0.3) < 5 * se / np.sqrt(2), (v.size, v.mean(), v.std())
" "$WORK/is.h5"

# Random initialization from a seed is the same at any rank count.
run 1 train "$WORK/r.h5" -o "$WORK/s1.h5" -k 7 --iterations 5 --seed 42
run 3 train "$WORK/r.h5" -o "$WORK/s3.h5" -k 7 --iterations 5 --seed 42
check "seeded runs at 1 and 3 ranks agree (1e-10)" \
    "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/s3.h5" "$WORK/s1.h5" /model 1e-10

# --metrics: a JSON record consistent with the run
run 3 train "$WORK/r.h5" -o "$WORK/mx.h5" --init "$REF:/init" --preset seed -T 12 --metrics "$WORK/m.json"
check "train with --metrics" all_ranks_exited 3 0
check "metrics file is consistent with the run and the reference" "$PYTHON" - "$WORK/m.json" "$REF" "$WORK/mx.h5" <<'PY'
import json, sys, h5py
d = json.load(open(sys.argv[1]))
ref = h5py.File(sys.argv[2])["cost"][:]
m = h5py.File(sys.argv[3]).attrs
assert d["ranks"] == 3 and d["threads"] >= 1
assert d["data"] == {"ratings": d["data"]["ratings"], "n_items": 100, "n_users": 30, "nnz": 1453}
assert [e["iter"] for e in d["iterations"]] == list(range(12))
assert all(abs(e["cost"] - ref[e["iter"]]) <= 1e-9 * ref[e["iter"]] for e in d["iterations"])
assert all(e["seconds"] > 0 for e in d["iterations"])
for k in ("compute", "allreduce", "io", "total"):
    t = d["time"][k]; assert t["min"] <= t["mean"] <= t["max"] and len(d["per_rank"][k]) == 3
assert sum(d["per_rank"]["ratings"]) == 1453 and sum(d["per_rank"]["items"]) == 100
pb = d["communication"]["payload_bytes_per_iteration"]  # gradients of W and b, plus a few scalars
assert 8 * 30 * 101 < pb < 8 * (30 * 101 + 32), pb
assert d["communication"]["allreduce_calls"] == 12
assert min(d["per_rank"]["peak_rss_bytes"]) > 1e6
assert abs(d["final"]["cost"] - m["final_cost"]) <= 1e-12 * m["final_cost"] and d["final"]["stop"] == "done"
PY
# ... and with --precision single, the bytes it sums: 4 per gradient value and
# two floats per scalar (the double run's count of scalars)
run 2 train "$WORK/r.h5" -o "$WORK/ms.h5" --init "$REF:/init" --preset seed -T 3 --precision single \
    --metrics "$WORK/ms.json"
check "train --precision single with --metrics" all_ranks_exited 2 0
check "metrics of --precision single count 4-byte gradients" "$PYTHON" - "$WORK/m.json" "$WORK/ms.json" <<'PY'
import json, sys
d, s = (json.load(open(f))["communication"] for f in sys.argv[1:])
ns = d["payload_bytes_per_iteration"] / 8 - 30 * 101
assert ns == int(ns) and 1 <= ns <= 32, ns
assert s["payload_bytes_per_iteration"] == 4 * (30 * 101 + 2 * ns), (s, ns)
assert s["payload_bytes_total"] == 3 * s["payload_bytes_per_iteration"], s
PY

# Divergence: a step too large makes the cost overflow.  The run stops there
# with one message, exit 1 on every rank and no model; the metrics record
# numpy's costs up to the same iteration, and the checkpoint written before
# it holds numpy's parameters of its step.
for np in 1 3; do
    rm -f "$WORK/ck.h5"
    run "$np" train "$WORK/r.h5" -o "$WORK/dv.h5" --init "$REF:/init" --optimizer gd --learning-rate 1e6 \
        --lambda 0.3 --lambda-bias 2 -T 20 --metrics "$WORK/dv.json" --checkpoint "$WORK/ck.h5" --checkpoint-every 2
    check "diverging gd, $np ranks: exit 1 on every rank ($RANK_RCS)" all_ranks_exited "$np" 1
    check "diverging gd, $np ranks: one message naming the iteration and the checkpoint" \
        [ "$(err_lines "training diverged: the cost at iteration 3 is infinite; no model written; the checkpoint '.*ck.h5' holds iteration 2 (cost ")" -eq 1 -a "$(err_lines "^cofi")" -eq 1 ]
    check "diverging gd, $np ranks: no model file" [ ! -e "$WORK/dv.h5" ]
    check "diverging gd, $np ranks: costs and checkpoint = numpy's until the overflow (1e-8)" "$PYTHON" \
        "$TESTS_DIR/check_model.py" --diverge "$WORK/dv.json" "$WORK/ck.h5" "$WORK/r.h5" "$REF" /init 1e6 0.3 2 1e-8
done
# A step that overflows the parameters themselves: the checkpoint due after it
# is not written, and the one already on the path is left as it was.
sum_before=$(cksum < "$WORK/ck.h5")
run 2 train "$WORK/r.h5" -o "$WORK/dv.h5" --init "$REF:/init" --optimizer gd --learning-rate 1e308 \
    -T 20 --checkpoint "$WORK/ck.h5" --checkpoint-every 1
check "overflowing step, 2 ranks: exit 1 on every rank ($RANK_RCS)" all_ranks_exited 2 1
check "overflowing step: one message" [ "$(err_lines "training diverged: the parameters after iteration 1 are not all finite; no model written; try a smaller --learning-rate (this run: 1e+308)")" -eq 1 -a "$(err_lines "^cofi")" -eq 1 ]
check "overflowing step: no model, checkpoint unchanged" [ ! -e "$WORK/dv.h5" -a "$(cksum < "$WORK/ck.h5")" = "$sum_before" ]

# More ranks than items: ranks without items still take part.
run 1 generate -o "$WORK/tiny.h5" --items 2 --users 6 --missing 0.2 --seed 3
run 1 train "$WORK/tiny.h5" -o "$WORK/t1.h5" -k 3 --iterations 30 --seed 5
run 4 train "$WORK/tiny.h5" -o "$WORK/t4.h5" -k 3 --iterations 30 --seed 5
check "2 items on 4 ranks: exit 0 ($RANK_RCS) $(head -c 300 "$ERR")" all_ranks_exited 4 0
check "2 items on 4 ranks = 1 rank (1e-10)" \
    "$PYTHON" "$TESTS_DIR/check_model.py" "$WORK/t4.h5" "$WORK/t1.h5" /model 1e-10

# --- too many busy-waiting threads on a node ----------------------------------
# Two unbound ranks of P threads each, P = the CPUs this test may use (nproc,
# which would obey OMP_NUM_THREADS without -u; independent of cofi): 2P
# threads on P CPUs.  Without OMP_WAIT_POLICY=passive
# (the suite sets it; unset here) rank 0 warns once, with those figures; with
# it, or with one thread per rank, or with one rank of P threads (its runtime
# sees them itself), nothing.  The run is the same either way.
P=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
load_run() { # env-assignments... -- mpirun-args... : stderr in $WORK/load.err, exit code in LRC
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env -u OMP_WAIT_POLICY "${envs[@]}" timeout -s KILL "$TIMEOUT" "$MPIEXEC" --oversubscribe \
        --bind-to none "$@" >/dev/null 2>"$WORK/load.err" </dev/null
    LRC=$?
}
want="cofi train: warning: $((2 * P)) OpenMP threads (2 ranks) share $P CPU$([ "$P" -gt 1 ] && echo s) on one node"
load_run OMP_NUM_THREADS="$P" -- -np 2 "$COFI" train "$WORK/r.h5" -o "$WORK/load.h5" -k 3 -T 3
check "2 ranks x $P threads on $P CPUs, threads spinning: exit 0 ($LRC)" [ "$LRC" -eq 0 ]
check "... rank 0 warns once: '$want' ($(head -c 400 "$WORK/load.err"))" \
    eval '[ "$(grep -c "warning" "$WORK/load.err")" -eq 1 ] && grep -qxF "$want" "$WORK/load.err"'
check "... and says what to do" grep -q "Use at most $P$" "$WORK/load.err"
if [ "$P" -gt 1 ]; then
    load_run OMP_NUM_THREADS="$P" OMP_WAIT_POLICY=PASSIVE -- -np 2 "$COFI" train "$WORK/r.h5" -o "$WORK/load.h5" -k 3 -T 3
    check "... with OMP_WAIT_POLICY=passive: no warning ($(head -c 300 "$WORK/load.err"))" \
        eval '[ "$LRC" -eq 0 ] && [ ! -s "$WORK/load.err" ]'
    load_run OMP_NUM_THREADS=1 -- -np $((P + 1)) "$COFI" train "$WORK/r.h5" -o "$WORK/load.h5" -k 3 -T 3
    check "$((P + 1)) ranks x 1 thread: no warning ($(head -c 300 "$WORK/load.err"))" \
        eval '[ "$LRC" -eq 0 ] && [ ! -s "$WORK/load.err" ]'
    load_run OMP_NUM_THREADS=$((P + 1)) -- -np 1 "$COFI" train "$WORK/r.h5" -o "$WORK/load.h5" -k 3 -T 3
    check "1 rank x $((P + 1)) threads: no warning ($(head -c 300 "$WORK/load.err"))" \
        eval '[ "$LRC" -eq 0 ] && [ ! -s "$WORK/load.err" ]'
fi
load_run OMP_NUM_THREADS="$P" -- -np 2 "$COFI" bench --ratings 2000 --items 50 --users 40 -k 4 -T 3 --no-peak
check "cofi bench warns the same way (exit $LRC)" \
    eval '[ "$LRC" -eq 0 ] && grep -qxF "${want/cofi train/cofi bench}" "$WORK/load.err"'
finish

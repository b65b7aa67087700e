#!/usr/bin/env bash
# tools/scaling and tools/plot-metrics on tiny problems: one metrics file per
# configuration with the right rank and thread counts; the CSV's numbers equal
# the ones recomputed independently from the metrics files (median time per
# iteration, speedup, efficiency, time split, peak RSS); weak-scaling data are
# sized per rank by the documented formula; the runs are real (their models
# agree across thread counts bitwise and across rank counts to 1e-10); every
# plot is a complete PNG; usage errors exit 2.  Skipped (exit 77) without
# matplotlib.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$TESTS_DIR/.." && pwd)
SCALING=$REPO/tools/scaling
PLOT=$REPO/tools/plot-metrics
SC="$PYTHON $TESTS_DIR/slurm_checks.py"
CM="$PYTHON $TESTS_DIR/check_model.py"
export MPIEXEC
if ! "$PYTHON" -c "import matplotlib" 2>/dev/null; then
    echo "SKIPPED: matplotlib not installed (apt-get install python3-matplotlib)"
    exit 77
fi

# interrupt_running LOG PATTERN CMD...: CMD in a session of its own, its
# output to LOG.  Once LOG has a line matching PATTERN (empty: no need) and a
# cofi process runs in the session, and a second later, SIGINT goes to the
# whole session, as Ctrl-C sends it to a terminal's job.  IRC: CMD's exit
# code (SIGKILL after 60 s more, if it does not end).  Waiting for the event,
# not for a fixed time, keeps the moment the same on a loaded machine.  (A
# script's background job starts with SIGINT ignored, and Python then never
# raises KeyboardInterrupt: the default action is restored first.)
interrupt_running() {
    local log=$1 pat=$2 n
    shift 2
    "$PYTHON" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$log" 2>&1 </dev/null &
    local sid=$!
    for n in $(seq 1 1200); do
        kill -0 "$sid" 2>/dev/null || break
        { [ -z "$pat" ] || grep -qE "$pat" "$log"; } && pgrep -s "$sid" -x cofi >/dev/null && break
        sleep 0.1
    done
    sleep 1
    pkill -INT -s "$sid"
    for n in $(seq 1 600); do kill -0 "$sid" 2>/dev/null || break; sleep 0.1; done
    pkill -KILL -s "$sid" 2>/dev/null
    wait "$sid"
    IRC=$?
}

run 2 generate -o "$WORK/g.h5" --items 1200 --users 300 --missing 0.8 --seed 5
check "generate the data" all_ranks_exited 2 0

# --- strong ------------------------------------------------------------------
S=$WORK/strong
timeout 300 "$SCALING" strong --ratings "$WORK/g.h5" --ranks 1,2 --threads 1,2 --out "$S" \
    --iterations 6 --keep-models --repeat 2 --timeout 60 -- -k 8 >"$WORK/strong.txt" 2>&1
rc=$?
check "scaling strong exits 0 ($rc): $(tail -n 3 "$WORK/strong.txt")" [ "$rc" -eq 0 ]
check "strong: one metrics file per configuration, right ranks/threads/nnz" \
    $SC metrics "$S" strong "$WORK/g.h5" 6 1:1 2:1 1:2 2:2
check "strong: CSV numbers equal the metrics files'" $SC csv "$S/scaling.csv" "$S"/strong_r*_t*.json
check "strong: a log per configuration" [ "$(ls "$S"/strong_r*_t*.log | wc -l)" -eq 4 ]
check "strong --repeat 2: the faster of two runs is kept" $SC repeat "$WORK/strong.txt" "$S" strong 2
check "strong --repeat 2: no other run's files left" [ -z "$(find "$S" -name '.*')" ]
check "strong: a run with more threads than cores is marked oversubscribed" \
    "$PYTHON" -c "import csv,sys,os
rows = {(r['ranks'], r['threads']): r['oversubscribed'] for r in csv.DictReader(open(sys.argv[1]))}
sys.path.insert(0, sys.argv[2]); import machine
over = lambda r, t: '1' if r * t > machine.cores() else '0'
assert all(rows[(str(r), str(t))] == over(r, t) for r in (1, 2) for t in (1, 2)), rows" "$S/scaling.csv" "$REPO/tools"
check "strong: speedup, efficiency and time-split plots are PNGs" \
    $SC png "$S/strong_speedup.png" "$S/strong_efficiency.png" "$S/strong_time_split.png"
check "strong: 1 rank, 2 threads = 1 thread bitwise" $CM "$S/model_r1_t2.h5" "$S/model_r1_t1.h5" /model 0
check "strong: 2 ranks, 2 threads = 1 thread bitwise" $CM "$S/model_r2_t2.h5" "$S/model_r2_t1.h5" /model 0
check "strong: 2 ranks = 1 rank to 1e-10" $CM "$S/model_r2_t1.h5" "$S/model_r1_t1.h5" /model 1e-10
run 2 train "$WORK/g.h5" -o "$WORK/direct.h5" -k 8 -T 6 --print-every 0
check "strong: the 2-rank model equals a direct mpirun run bitwise" \
    $CM "$S/model_r2_t1.h5" "$WORK/direct.h5" /model 0

# A rerun that fails, or is interrupted, keeps the earlier results and leaves
# no temporary files; the failed run's log says why.
sum_before=$(md5sum "$S"/strong_r1_t1.json "$S"/strong_r1_t1.log)
timeout 120 "$SCALING" strong --ratings "$WORK/g.h5" --ranks 1 --threads 1 --out "$S" \
    --iterations 3 -- -k 0 >"$WORK/rerun.txt" 2>&1
rc=$?
check "strong rerun with -k 0: exit 1 ($rc)" [ "$rc" -eq 1 ]
check "... the earlier metrics and log are kept" [ "$(md5sum "$S"/strong_r1_t1.json "$S"/strong_r1_t1.log)" = "$sum_before" ]
check "... cofi's message in strong_r1_t1.failed.log" grep -q "^cofi train: --features" "$S/strong_r1_t1.failed.log"
check "... no temporary files left" [ -z "$(find "$S" -name '.*')" ]
interrupt_running "$WORK/int.txt" "" "$SCALING" strong --ratings "$WORK/g.h5" --ranks 1 --threads 1 \
    --out "$S" --iterations 1000000 -- -k 8
check "strong rerun interrupted (SIGINT) while cofi trains: exit 130 ($IRC), 'interrupted', no traceback" \
    eval '[ "$IRC" -eq 130 ] && grep -q "^scaling: interrupted" "$WORK/int.txt" && ! grep -q Traceback "$WORK/int.txt"'
check "... the earlier metrics and log are kept" [ "$(md5sum "$S"/strong_r1_t1.json "$S"/strong_r1_t1.log)" = "$sum_before" ]
check "... no temporary files left, and no checkpoint of the stopped run" \
    [ -z "$(find "$S" -name '.*' -o -name '*.ckpt.h5')" ]
rm -f "$S"/*.failed.log

# --- weak --------------------------------------------------------------------
W=$WORK/weak
timeout 300 "$SCALING" weak --ratings-per-rank 6000 --users 250 --missing 0.7 --seed 3 \
    --ranks 1,2 --threads 1 --out "$W" --iterations 5 --timeout 60 -- -k 4 >"$WORK/weak.txt" 2>&1
rc=$?
check "scaling weak exits 0 ($rc): $(tail -n 3 "$WORK/weak.txt")" [ "$rc" -eq 0 ]
check "weak: each rank count's data announced with cofi generate's counts: $(grep "weak [12] ranks" "$WORK/weak.txt")" \
    eval '[ "$(grep -cE "^scaling: weak [12] ranks: generated [0-9]+ ratings, [0-9]+ items x 250 users, density .* -> .*ratings_r[12].h5$" "$WORK/weak.txt")" -eq 2 ]'
check "weak: one metrics file per configuration" $SC metrics "$W" weak - 5 1:1 2:1
check "weak: data sized per rank (items = ceil(6000 R / (250 x 0.3)))" $SC weak "$W" 6000 250 0.7 1:1 2:1
check "weak: CSV numbers equal the metrics files'" $SC csv "$W/scaling.csv" "$W"/weak_r*_t*.json
check "weak: plots are PNGs" $SC png "$W/weak_speedup.png" "$W/weak_efficiency.png" "$W/weak_time_split.png"
check "weak: generated data removed (no --keep-data)" [ -z "$(ls "$W"/data/*.h5 2>/dev/null)" ]

# --- gather -------------------------------------------------------------------
G=$WORK/gathered
"$SCALING" gather "$S" "$W" --out "$G" >"$WORK/gather.txt" 2>&1
rc=$?
check "scaling gather exits 0 ($rc): $(tail -n 2 "$WORK/gather.txt")" [ "$rc" -eq 0 ]
check "gather: CSV has both studies and matches the metrics files" \
    $SC csv "$G/scaling.csv" "$S"/strong_r*_t*.json "$W"/weak_r*_t*.json
check "gather: plots for both kinds are PNGs" $SC png "$G"/strong_*.png "$G"/weak_*.png
check "gather: six plots" [ "$(ls "$G"/*.png | wc -l)" -eq 6 ]

# --- study: data, strong, weak, gather in one command ---------------------------
Y=$WORK/study
timeout 300 "$SCALING" study --out "$Y" --items 400 --users 100 --missing 0.5 --iterations 4 \
    --ranks 1,2 --threads 1 --weak-ratings-per-rank 3000 --timeout 60 -- -k 4 >"$WORK/study.txt" 2>&1
rc=$?
check "scaling study exits 0 ($rc): $(tail -n 3 "$WORK/study.txt")" [ "$rc" -eq 0 ]
check "study: strong metrics" $SC metrics "$Y/strong" strong - 4 1:1 2:1
check "study: weak metrics, sized per rank" $SC weak "$Y/weak" 3000 100 0.5 1:1 2:1
check "study: one CSV for both, matching the metrics files" \
    $SC csv "$Y/scaling.csv" "$Y"/strong/strong_r*_t*.json "$Y"/weak/weak_r*_t*.json
check "study: six scaling plots and the cost curves are PNGs" \
    $SC png "$Y"/strong_{speedup,efficiency,time_split}.png "$Y"/weak_{speedup,efficiency,time_split}.png "$Y/curves.png"

# An interrupted study removes its generated data (no --keep-data).
interrupt_running "$WORK/study2.txt" "^scaling: study: generated" "$SCALING" study --out "$WORK/study2" \
    --items 400 --users 100 --missing 0.5 --iterations 1000000 --ranks 1 --threads 1 --repeat 1 -- -k 4
check "study interrupted: it had generated its data" grep -q "^scaling: study: generated [0-9]* ratings, 400 items x 100 users, density" "$WORK/study2.txt"
check "... exit 130 ($IRC), 'interrupted', no traceback" eval '[ "$IRC" -eq 130 ] && grep -q "^scaling: interrupted" "$WORK/study2.txt" && ! grep -q Traceback "$WORK/study2.txt"'
check "... and no ratings file or checkpoint is left" [ -z "$(find "$WORK/study2" -name '*.h5')" ]

# --- plot-metrics ----------------------------------------------------------------
"$PLOT" "$S/strong_r1_t1.json" "$S/strong_r2_t1.json" -o "$WORK/curves.png" >/dev/null 2>&1
check "plot-metrics writes a PNG" $SC png "$WORK/curves.png"
"$PLOT" "$WORK/none.json" -o "$WORK/x.png" >/dev/null 2>"$WORK/pm.err"
check "plot-metrics: a missing file exits 1" [ $? -eq 1 ]
check "... and names it" grep -q "none.json" "$WORK/pm.err"
check "plot-metrics: no -o exits 2" bash -c "'$PLOT' '$S/strong_r1_t1.json' >/dev/null 2>&1; [ \$? -eq 2 ]"
check "plot-metrics --help" bash -c "o=\$('$PLOT' --help) && grep -q 'cost and train RMSE' <<<\"\$o\""

# --- usage errors ----------------------------------------------------------------
check "scaling --help" bash -c "o=\$('$SCALING' --help) && grep -q strong <<<\"\$o\""
check "scaling strong --help" bash -c "o=\$('$SCALING' strong --help) && grep -q -- --ratings <<<\"\$o\""
"$SCALING" >/dev/null 2>&1
check "scaling without a command exits 2" [ $? -eq 2 ]
"$SCALING" strong --ranks 1 --out "$WORK/x" >/dev/null 2>&1
check "scaling strong without --ratings exits 2" [ $? -eq 2 ]
"$SCALING" strong --ratings "$WORK/nope.h5" --ranks 1 --out "$WORK/x" >/dev/null 2>"$WORK/e.txt"
check "scaling strong with a missing ratings file exits 2 naming it" \
    bash -c "[ $? -eq 2 ] && grep -q nope.h5 '$WORK/e.txt'"
"$SCALING" strong --ratings "$WORK/g.h5" --ranks 1,x --out "$WORK/x" >/dev/null 2>&1
check "scaling strong with a bad rank list exits 2" [ $? -eq 2 ]
COFI=/nonexistent "$SCALING" strong --ratings "$WORK/g.h5" --ranks 1 --out "$WORK/x" >/dev/null 2>"$WORK/e.txt"
check "scaling without cofi exits 2 and says how to point at it" \
    bash -c "[ $? -eq 2 ] && grep -q -- --cofi '$WORK/e.txt'"
"$SCALING" gather "$WORK/empty-nothing" >/dev/null 2>&1
check "scaling gather of nothing exits 1" [ $? -eq 1 ]
mkdir -p "$WORK/odd" && cp "$S/strong_r1_t1.json" "$WORK/odd/" && echo 42 > "$WORK/odd/strong_r9_t9.json"
"$SCALING" gather "$WORK/odd" >/dev/null 2>"$WORK/e.txt"
g_rc=$?
check "scaling gather skips a JSON that is not an object, with a note (exit $g_rc)" \
    eval '[ "$g_rc" -eq 0 ] && grep -q "skipping .*strong_r9_t9.json" "$WORK/e.txt" && ! grep -q Traceback "$WORK/e.txt"'
"$SCALING" strong --ratings "$WORK/g.h5" --ranks 1 --out "$WORK/x" --timeout 0 >/dev/null 2>&1
check "scaling --timeout 0 exits 2" [ $? -eq 2 ]
"$SCALING" weak --ratings-per-rank 100 --users 0 --ranks 1 --out "$WORK/x" >/dev/null 2>&1
check "scaling weak --users 0 exits 2" [ $? -eq 2 ]
check "... and made no directory" [ ! -e "$WORK/x" ]
finish

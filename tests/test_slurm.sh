#!/usr/bin/env bash
# The SLURM job scripts on a throwaway single-node SLURM (tools/slurm-local),
# each submitted with sbatch straight from jobs/: train.slurm under mpirun and
# under srun gives the model of the same run made directly with mpirun
# (bitwise); strong_scaling.slurm and weak_scaling.slurm write one valid
# metrics file per configuration with the right rank and thread counts (and
# skip what does not fit); preemptible.slurm, sent SIGUSR1 mid-run, writes a
# checkpoint, requeues itself, resumes from the checkpoint and ends with the
# model of an uninterrupted run, bitwise.  Skipped (exit 77) without SLURM.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$TESTS_DIR/.." && pwd)
CM="$PYTHON $TESTS_DIR/check_model.py"
SC="$PYTHON $TESTS_DIR/slurm_checks.py"

PATH=$PATH:/usr/sbin:/sbin
missing=""
for p in slurmctld slurmd sbatch munged; do command -v "$p" >/dev/null 2>&1 || missing+=" $p"; done
if [ -n "$missing" ]; then
    echo "SKIPPED: SLURM not installed (apt-get install slurmd slurmctld slurm-client munge); missing:$missing"
    exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: the local SLURM cluster (tools/slurm-local) runs its daemons as root; run as root"
    exit 77
fi

# Every wait below is bounded; the whole test gives up well inside ctest's timeout
# so that the trap always stops the daemons.
DEADLINE=$((SECONDS + ${COFI_SLURM_TEST_BUDGET:-420}))
SL=$WORK/slurm
cleanup() {
    [ -d "$SL/run" ] && timeout 60 "$REPO/tools/slurm-local" stop "$SL" >/dev/null 2>&1
    if [ -n "${COFI_TEST_KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 1' INT TERM HUP

t0=$SECONDS
if ! timeout 90 "$REPO/tools/slurm-local" start "$SL" >"$WORK/start.txt" 2>&1; then
    cat "$WORK/start.txt" >&2
    fail "tools/slurm-local start"
    finish
    exit 1
fi
export SLURM_CONF=$SL/slurm.conf
echo "local SLURM up in $((SECONDS - t0)) s: $(tail -n 2 "$WORK/start.txt" | head -n 1)"
check "slurm.conf uses munge's own socket under the cluster's directory" \
    grep -q "AuthInfo=socket=$SL/munge/munge.socket" "$SLURM_CONF"
check "the node is idle" [ "$(timeout 10 sinfo -h -o %T)" = idle ]

# job_state ID: the job's state (PENDING, RUNNING, COMPLETED, ...)
job_state() { timeout 10 scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
job_field() { timeout 10 scontrol show job -o "$1" 2>/dev/null | grep -o "$2=[^ ]*" | cut -d= -f2; }
# wait_job ID SECONDS: until the job has finished; prints its final state
wait_job() {
    local id=$1 limit=$((SECONDS + $2)) s=""
    [ "$limit" -gt "$DEADLINE" ] && limit=$DEADLINE
    while [ "$SECONDS" -lt "$limit" ]; do
        s=$(job_state "$id")
        case "$s" in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
                echo "$s"; return 0 ;;
        esac
        sleep 0.5
    done
    echo "TIMEDOUT(${s:-unknown})"
}
# submit ARGS...: sbatch, prints the job id ('' on failure)
submit() {
    timeout 30 sbatch --parsable --time=5 --chdir="$WORK" --export="ALL,COFI=$COFI" "$@" 2>>"$WORK/sbatch.err" |
        cut -d';' -f1
}
# completed_ok ID: the job completed with exit code 0
completed_ok() { [ "$(job_state "$1")" = COMPLETED ] && [ "$(job_field "$1" ExitCode)" = 0:0 ]; }
all_set() { local v; for v in "$@"; do [ -n "$v" ] || return 1; done; }
between() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt "$2" ] && [ "$1" -lt "$3" ]; }
show_log() { echo "---- $1 ----" >&2; tail -n 30 "$1" >&2 2>/dev/null; }

# --- data and the direct runs the jobs must reproduce --------------------------
run 2 generate -o "$WORK/g.h5" --items 3000 --users 500 --missing 0.9 --seed 7
check "generate" all_ranks_exited 2 0
TRAIN_OPTS=(-k 8 -T 25 --print-every 5)

# --- submit train (mpirun and srun), strong and weak scaling at once -----------
srun_mpi=$(srun --mpi=list 2>&1 | grep -ow pmix | head -n 1)
if [ -n "$srun_mpi" ]; then srun_launcher=srun; else srun_launcher=auto; fi
J_MPIRUN=$(COFI_LAUNCHER=mpirun submit --ntasks-per-node=2 --cpus-per-task=1 -o "$WORK/train_mpirun.out" \
    "$REPO/jobs/train.slurm" "$WORK/g.h5" "$WORK/m_mpirun.h5" "${TRAIN_OPTS[@]}")
J_SRUN=$(COFI_LAUNCHER=$srun_launcher submit --ntasks-per-node=1 --cpus-per-task=2 -o "$WORK/train_srun.out" \
    "$REPO/jobs/train.slurm" "$WORK/g.h5" "$WORK/m_srun.h5" "${TRAIN_OPTS[@]}")
J_STRONG=$(RANKS="1 2" THREADS="1 2" submit -o "$WORK/strong.out" \
    "$REPO/jobs/strong_scaling.slurm" "$WORK/g.h5" "$WORK/strong" -k 8 -T 6)
J_WEAK=$(RANKS="1 2" THREADS="1 2" COFI_OVERSUBSCRIBE=1 RATINGS_PER_RANK=8000 USERS=200 MISSING=0.8 \
    submit -o "$WORK/weak.out" "$REPO/jobs/weak_scaling.slurm" "$WORK/weak" -k 4 -T 5)
check "sbatch accepted the four jobs ($J_MPIRUN $J_SRUN $J_STRONG $J_WEAK) $(cat "$WORK/sbatch.err" 2>/dev/null)" \
    all_set "$J_MPIRUN" "$J_SRUN" "$J_STRONG" "$J_WEAK"

# meanwhile, the same training runs directly
run 2 train "$WORK/g.h5" -o "$WORK/ref2.h5" "${TRAIN_OPTS[@]}"
check "direct run on 2 ranks" all_ranks_exited 2 0
run 1 train "$WORK/g.h5" -o "$WORK/ref1.h5" "${TRAIN_OPTS[@]}"
check "direct run on 1 rank" all_ranks_exited 1 0

# --- train.slurm ---------------------------------------------------------------
s=$(wait_job "$J_MPIRUN" 120)
check "train.slurm via mpirun completed ($s, exit $(job_field "$J_MPIRUN" ExitCode))" completed_ok "$J_MPIRUN"
[ "$s" = COMPLETED ] || show_log "$WORK/train_mpirun.out"
check "train.slurm via mpirun: 2 ranks x 1 thread, bound" \
    grep -q "2 ranks x 1 threads via mpirun" "$WORK/train_mpirun.out"
check "... OMP_PLACES=cores OMP_PROC_BIND=close" \
    grep -q "OMP_NUM_THREADS=1 OMP_PLACES=cores OMP_PROC_BIND=close" "$WORK/train_mpirun.out"
check "... cofi saw 2 ranks x 1 thread" grep -q "2 ranks x 1 thread" "$WORK/train_mpirun.out"
check "train.slurm via mpirun = direct mpirun run, bitwise" $CM "$WORK/m_mpirun.h5" "$WORK/ref2.h5" /model 0

s=$(wait_job "$J_SRUN" 120)
check "train.slurm via $srun_launcher (--cpus-per-task=2) completed ($s)" completed_ok "$J_SRUN"
[ "$s" = COMPLETED ] || show_log "$WORK/train_srun.out"
check "... --cpus-per-task=2 became 2 OpenMP threads in cofi" grep -q "1 rank x 2 threads" "$WORK/train_srun.out"
[ "$srun_launcher" = srun ] && check "... launched by srun --mpi=pmix" grep -q "via srun" "$WORK/train_srun.out"
check "train.slurm, 1 rank x 2 threads = direct 1-rank run, bitwise" $CM "$WORK/m_srun.h5" "$WORK/ref1.h5" /model 0

# --- strong_scaling.slurm ------------------------------------------------------------
s=$(wait_job "$J_STRONG" 150)
check "strong_scaling.slurm completed ($s)" completed_ok "$J_STRONG"
[ "$s" = COMPLETED ] || show_log "$WORK/strong.out"
cores=$(timeout 10 sinfo -h -o %c | head -n 1)   # the node's CPUs as SLURM counts them
want=()
for t in 1 2; do for r in 1 2; do [ $((r * t)) -le "$cores" ] && want+=("$r:$t"); done; done
check "strong: one metrics file per configuration that fits $cores cores (${want[*]})" \
    $SC metrics "$WORK/strong" strong "$WORK/g.h5" 6 "${want[@]}"
if [ "$cores" -lt 4 ]; then
    check "strong: 2 ranks x 2 threads skipped on $cores cores, saying so" \
        grep -q "skipped 2 ranks x 2 threads: 4 threads > $cores cores" "$WORK/strong.out"
fi
check "strong: no model files left" [ -z "$(ls "$WORK"/strong/*.h5 2>/dev/null)" ]

# --- weak_scaling.slurm --------------------------------------------------------------
s=$(wait_job "$J_WEAK" 150)
check "weak_scaling.slurm completed ($s)" completed_ok "$J_WEAK"
[ "$s" = COMPLETED ] || show_log "$WORK/weak.out"
check "weak: one metrics file per configuration (oversubscription allowed)" \
    $SC metrics "$WORK/weak" weak - 5 1:1 2:1 1:2 2:2
check "weak: data sized per rank" $SC weak "$WORK/weak" 8000 200 0.8 1:1 2:1 1:2 2:2
check "weak: the generated data are removed" [ -z "$(ls "$WORK"/weak/data/*.h5 2>/dev/null)" ]

# --- preemptible.slurm: signal, checkpoint, requeue, resume --------------------------
# A run of a few seconds with a checkpoint every 200 iterations: the first one
# shows cofi is iterating (its signal handler is in place); then SIGUSR1 goes
# to the batch shell, as '#SBATCH --signal=B:USR1@...' would send it.
PT=4000
J_PRE=$(COFI_CHECKPOINT_EVERY=200 submit -o "$WORK/pre.out" \
    "$REPO/jobs/preemptible.slurm" "$WORK/g.h5" "$WORK/pre.h5" -k 8 -T $PT --print-every 1000)
check "sbatch preemptible.slurm ($J_PRE)" [ -n "$J_PRE" ]
limit=$((SECONDS + 60))
while [ ! -f "$WORK/pre.ckpt.h5" ] && [ "$SECONDS" -lt "$limit" ]; do sleep 0.1; done
check "preemptible: a periodic checkpoint appeared while running ($(job_state "$J_PRE"))" [ -f "$WORK/pre.ckpt.h5" ]
timeout 10 scancel --signal=USR1 --batch "$J_PRE"
check "scancel --signal=USR1 --batch" [ $? -eq 0 ]
# the job requeues itself: Restarts becomes 1
limit=$((SECONDS + 60))
while [ "$(job_field "$J_PRE" Restarts)" != 1 ] && [ "$SECONDS" -lt "$limit" ]; do sleep 0.2; done
check "preemptible: requeued itself (Restarts=$(job_field "$J_PRE" Restarts))" [ "$(job_field "$J_PRE" Restarts)" = 1 ]
stop_step=$(grep -o 'stopped at iteration [0-9]*' "$WORK/pre.out" | head -n 1 | awk '{print $4}')
check "preemptible: cofi stopped on the signal with a checkpoint (iteration '$stop_step' of $PT)" \
    between "$stop_step" 0 "$PT"
check "preemptible: the script forwarded the signal and requeued" \
    grep -q "stopped with a checkpoint at .*; requeueing job $J_PRE" "$WORK/pre.out"
# meanwhile, the uninterrupted run
run 2 train "$WORK/g.h5" -o "$WORK/pre_ref.h5" -k 8 -T $PT --print-every 0
check "uninterrupted direct run" all_ranks_exited 2 0
s=$(wait_job "$J_PRE" 150)
check "preemptible: completed after the requeue ($s, exit $(job_field "$J_PRE" ExitCode))" completed_ok "$J_PRE"
[ "$s" = COMPLETED ] || show_log "$WORK/pre.out"
check "preemptible: the second run resumed from the checkpoint at step $stop_step" \
    grep -q "run 2 of job $J_PRE: resuming from checkpoint $WORK/pre.ckpt.h5 (step $stop_step)" "$WORK/pre.out"
check "preemptible: ... and cofi restarted there" grep -q "restarting from .* at iteration $stop_step" "$WORK/pre.out"
check "preemptible: one log for both runs (--open-mode=append)" \
    bash -c "grep -q 'run 1 of job $J_PRE: starting from scratch' '$WORK/pre.out' && grep -q 'done: model written' '$WORK/pre.out'"
check "preemptible: the final model equals the uninterrupted run's, bitwise" \
    $CM "$WORK/pre.h5" "$WORK/pre_ref.h5" /model 0
check "preemptible: the model records $PT iterations" \
    "$PYTHON" -c "import h5py,sys; assert h5py.File(sys.argv[1])['/'].attrs['iterations'] == $PT" "$WORK/pre.h5"

echo "test_slurm: $((SECONDS - t0)) s with the local cluster"
timeout 60 "$REPO/tools/slurm-local" stop "$SL" >"$WORK/stop.txt" 2>&1
check "tools/slurm-local stop" [ $? -eq 0 ]
check "... stopped the three daemons it started" [ "$(grep -c '^slurm-local: stopped' "$WORK/stop.txt")" -eq 3 ]

# COFI_RUN_TIMEOUT: a configuration past its limit is stopped (SIGUSR1, cofi
# checkpoints and exits 75), counted as failed without its metrics, and the
# next one runs (the script run by bash, outside SLURM, as it allows).
COFI="$COFI" COFI_RUN_TIMEOUT=3 RANKS="2 1" THREADS=1 timeout 120 bash "$REPO/jobs/strong_scaling.slurm" \
    "$WORK/g.h5" "$WORK/tmo" -k 8 -T 1000000 > "$WORK/tmo.out" 2>&1
tmo_rc=$?
check "COFI_RUN_TIMEOUT=3: the study fails (exit $tmo_rc)" [ "$tmo_rc" -eq 1 ]
check "... both configurations stopped at the limit and said so" \
    eval '[ "$(grep -c "FAILED: stopped after COFI_RUN_TIMEOUT=3 s" "$WORK/tmo.out")" -eq 2 ]'
for r in 1 2; do
    check "... on $r ranks cofi stopped on the one signal with a checkpoint" \
        eval 'grep -q "(signal); checkpoint written" "$WORK/tmo/strong_r${r}_t1.log" && ! grep -q "exited on signal" "$WORK/tmo/strong_r${r}_t1.log"'
done
check "... no metrics, models or checkpoints left" [ -z "$(ls "$WORK"/tmo/*.json "$WORK"/tmo/*.h5 2>/dev/null)" ]
finish

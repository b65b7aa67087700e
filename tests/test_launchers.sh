#!/usr/bin/env bash
# The tools under launchers other than Open MPI's mpirun.  A stand-in for
# MPICH's or Intel MPI's mpiexec (it answers --version as Hydra does, refuses
# Open MPI's own flags, logs its arguments and runs the ranks through the real
# launcher) and one for srun (it needs -n and --cpus-per-task): tools/bench,
# tools/crossval, tools/scaling and tools/mpirun-flags must run under both and
# give each only the flags it takes; under the real Open MPI mpirun they keep
# Open MPI's.  Skipped (exit 77) without matplotlib (tools/scaling needs it).
source "$(dirname "$0")/lib.sh"
T=$TESTS_DIR/../tools
if ! "$PYTHON" -c "import matplotlib" 2>/dev/null; then
    echo "SKIPPED: matplotlib not installed (apt-get install python3-matplotlib)"
    exit 77
fi
REAL=$(command -v "$MPIEXEC")
ROOT=(); [ "$(id -u)" -eq 0 ] && ROOT=(--allow-run-as-root)
mkdir -p "$WORK/hydra" "$WORK/slurm"
# $1: the launcher's name; $2: its --version text; $3: the options it takes
# before the program (a bash pattern per argument)
fake() {
    cat > "$WORK/$1" <<EOF
#!/usr/bin/env bash
if [ "\${1:-}" = --version ]; then printf '%s\n' "$2"; exit 0; fi
echo "\$*" >> "$WORK/$1.log"
[ "\$1" = -n ] || { echo "$1: expected -n first, got '\$1'" >&2; exit 255; }
np=\$2; shift 2
while [ \$# -gt 0 ]; do
    case \$1 in
        $3) shift ;;
        -*) echo "$1: unrecognized argument \$1" >&2; exit 255 ;;
        *) break ;;
    esac
done
exec "$REAL" -np "\$np" --oversubscribe ${ROOT[*]} "\$@"
EOF
    chmod +x "$WORK/$1"
}
fake hydra/mpiexec "HYDRA build details:
    Version:                                 4.0.2" "__none__"
fake slurm/srun "slurm 22.05.8" "--cpus-per-task=[0-9]*"

run 2 generate -o "$WORK/g.h5" --items 300 --users 120 --missing 0.6 --noise 0.5 --no-round --seed 2
check "generate the data" all_ranks_exited 2 0

for L in hydra/mpiexec slurm/srun; do
    M=$WORK/$L; name=${L%/*}
    check "tools/bench under $name: exit 0 ($(tail -c 300 "$WORK/$name.bench.err" 2>/dev/null))" eval \
        '"$PYTHON" "$T/bench" --cofi "$COFI" --mpirun "$M" --sizes 20000 --shape 300x120 --ks 8 \
            --dists uniform --layouts 2x1,1x2 --repeat 1 --iterations 3 \
            > "$WORK/$name.bench.md" 2> "$WORK/$name.bench.err"'
    check "tools/bench under $name: a table row per layout" \
        [ "$(grep -c "| 300 x 120 |" "$WORK/$name.bench.md")" -eq 2 ]
    COFI="$COFI" OMP_NUM_THREADS=1 "$PYTHON" "$T/crossval" "$WORK/g.h5" --folds 2 --ranks 3 \
        --mpirun "$M" --workdir "$WORK/$name.cv" --quiet -- -k 4 -T 20 > "$WORK/$name.cv.txt" 2>&1
    rc=$?
    check "tools/crossval under $name: exit 0 ($rc: $(tail -c 300 "$WORK/$name.cv.txt"))" [ "$rc" -eq 0 ]
    check "tools/crossval under $name: a mean RMSE" grep -q "RMSE" "$WORK/$name.cv.txt"
    timeout 300 "$T/scaling" strong --ratings "$WORK/g.h5" --ranks 1,2 --threads 1,2 \
        --out "$WORK/$name.strong" --iterations 3 --mpirun "$M" -- -k 4 > "$WORK/$name.sc.txt" 2>&1
    rc=$?
    check "tools/scaling strong under $name: exit 0 ($rc: $(tail -c 300 "$WORK/$name.sc.txt"))" [ "$rc" -eq 0 ]
    check "tools/scaling strong under $name: 4 metrics files" \
        [ "$(ls "$WORK/$name.strong"/strong_r*_t*.json 2>/dev/null | wc -l)" -eq 4 ]
    check "tools/mpirun-flags under $name: none" [ -z "$("$T/mpirun-flags" 4 "$M")" ]
done

# What each launcher was given: the rank count, for srun the threads, and
# none of Open MPI's flags.
check "the launchers got only their own flags" "$PYTHON" - "$WORK" <<'PY'
import re, sys
w = sys.argv[1]
hydra = open(w + "/hydra/mpiexec.log").read().splitlines()
srun = open(w + "/slurm/srun.log").read().splitlines()
assert len(hydra) >= 2 + 4 + 4 and len(srun) >= 2 + 4 + 4, (len(hydra), len(srun))
for line in hydra:
    assert re.match(r"-n [123] \S*cofi ", line), line
for line in srun:
    assert re.match(r"-n [123] --cpus-per-task=[12] \S*cofi ", line), line
# bench's 1x2 layout and scaling's 1 x 2 asked srun for 2 CPUs per rank
assert any(l.startswith("-n 1 --cpus-per-task=2 ") for l in srun), srun
for line in hydra + srun:
    assert not re.search(r"--(allow-run-as-root|oversubscribe|bind-to|map-by)", line), line
PY

# Open MPI's mpirun keeps its flags: as root --allow-run-as-root; more ranks
# than cores --oversubscribe, no binding; else bound with --map-by when asked.
check "Open MPI's mpirun gets Open MPI's flags" env MPIEXEC="$REAL" "$PYTHON" - "$T" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
import machine
m = os.environ["MPIEXEC"]
assert machine.launcher_kind(m) == "openmpi", machine.launcher_kind(m)
n = machine.cores()
root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
cmd, env, over = machine.launch(m, n + 1, 1)
assert cmd == [m, "-n", str(n + 1)] + root + ["--oversubscribe", "--bind-to", "none"] and over, cmd
assert env["OMPI_MCA_mpi_yield_when_idle"] == "1" and env["OMP_WAIT_POLICY"] == "passive", env
cmd, env, over = machine.launch(m, 1, n, bind=True)
assert cmd == [m, "-n", "1"] + root + ["--map-by", f"slot:PE={n}", "--bind-to", "core"] and not over, cmd
assert (env["OMP_NUM_THREADS"], env["OMP_PLACES"], env["OMP_PROC_BIND"]) == (str(n), "cores", "close"), env
cmd, env, over = machine.launch(m, 1, 1)
assert cmd == [m, "-n", "1"] + root + ["--bind-to", "none"], cmd
PY
check "tools/mpirun-flags under Open MPI's mpirun" \
    [ "$("$T/mpirun-flags" 64 "$REAL")" = "$(echo "${ROOT[@]}" --oversubscribe)" ]
finish

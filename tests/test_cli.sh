#!/usr/bin/env bash
# The command line: help texts, unknown commands and options, bad values.
# Each usage error is one line on stderr from rank 0 and exit code 2 on every rank.
source "$(dirname "$0")/lib.sh"

run 1 --help
check "cofi --help exits 0" [ "$RC" -eq 0 ]
check "cofi --help lists commands" grep -q "train" "$OUT"
check "cofi --help fits 80 columns" [ "$(awk 'length > 80' "$OUT" | wc -l)" -eq 0 ]
for cmd in generate convert train predict recommend bench; do
    run 2 "$cmd" --help
    check "$cmd --help exits 0" [ "$RC" -eq 0 ]
    check "$cmd --help printed once" [ "$(grep -c '^usage: cofi' "$OUT")" -eq 1 ]
    check "$cmd --help fits 80 columns: $(awk 'length > 80' "$OUT" | head -1)" \
        [ "$(awk 'length > 80' "$OUT" | wc -l)" -eq 0 ]
done

# --version: the build and the libraries, each against what CMake found
run 2 --version
check "cofi --version: exit 0 on every rank" all_ranks_exited 2 0
want=$(sed -n 's/^project(cofi VERSION \([0-9.]*\).*/\1/p' "$TESTS_DIR/../CMakeLists.txt")
check "--version: 'cofi $want' once (rank 0)" [ "$(grep -c "^cofi $want\$" "$OUT")" -eq 1 ]
check "--version: build type '$COFI_BUILD_TYPE'" grep -q "^  build   $COFI_BUILD_TYPE (" "$OUT"
if [ "$COFI_BUILD_TYPE" = Debug ]; then opt="(NOT optimized"; else opt="(optimized)"; fi
check "--version: '$opt'" grep -qF " $opt" "$OUT"
check "--version: HDF5 $COFI_HDF5_VERSION, as CMake found it" \
    grep -qx "  HDF5    $COFI_HDF5_VERSION" "$OUT"
mv=$("$MPIEXEC" --version 2>/dev/null | sed -n '1s/.*[ v]\([0-9][0-9.]*[0-9]\)$/\1/p')
if [ -n "$mv" ]; then
    check "--version: MPI $mv, as $(basename "$MPIEXEC") --version says" grep -q "^  MPI     .*$mv" "$OUT"
fi
check "--version: an OpenMP date" grep -qE "^  OpenMP  [0-9]{6}\$" "$OUT"
check "--version fits 80 columns" [ "$(awk 'length > 80' "$OUT" | wc -l)" -eq 0 ]

# A CPU without an extension the library was compiled for (pretended with the
# hook COFI_FAIL_CPU): every rank exits 1 before any work, with one message.
simd=$(sed -n 's/^  build   [^,]*, \([^,]*\),.*/\1/p' "$OUT")
case $simd in
avx512) lack=avx512f ;;
avx2+fma) lack=avx2 ;;
*) lack="" ;;
esac
if [ -n "$lack" ]; then
    for who in all 2; do
        if [ "$who" = all ]; then unset COFI_FAIL_CPU_RANK; else export COFI_FAIL_CPU_RANK=$who; fi
        COFI_FAIL_CPU=fma,$lack run 3 generate -o "$WORK/cpu.h5" --items 5 --users 4
        check "a CPU without $lack (rank $who): exit 1 on every rank ($RANK_RCS)" all_ranks_exited 3 1
        check "a CPU without $lack (rank $who): one line on stderr" [ "$(wc -l < "$ERR")" -eq 1 ]
        want="the CPU of rank ${who/all/0} lacks .*$lack"
        check "a CPU without $lack (rank $who): the message names it: $(head -c 120 "$ERR")" \
            grep -q "^cofi: error: $want" "$ERR"
        check "a CPU without $lack (rank $who): no output" [ ! -e "$WORK/cpu.h5" ]
    done
    unset COFI_FAIL_CPU_RANK
    COFI_FAIL_CPU=sse9 run 3 generate -o "$WORK/cpu.h5" --items 5 --users 4
    check "an extension cofi was not compiled for may be missing" all_ranks_exited 3 0
    # The code that runs up to the check is compiled for any x86-64: no VEX or
    # EVEX instruction (v...) and no BMI2 in its objects, unlike the kernels'.
    LIB=$(dirname "$COFI")/libcofi.a
    if [ "$(uname -m)" = x86_64 ] && [ -f "$LIB" ] && command -v objdump >/dev/null; then
        newer() { # OBJECT: how many instructions past x86-64's baseline
            ar p "$LIB" "$1" > "$WORK/obj.o" &&
                objdump -d --no-show-raw-insn "$WORK/obj.o" |
                awk -F'\t' '$1 ~ /^ *[0-9a-f]+:$/ { split($2, a, " "); print a[1] }' |
                grep -cE '^(v[a-z]|shlx|shrx|sarx|rorx|pdep|pext|andn|bzhi|mulx)' || true
        }
        check "the kernels use the extensions: $(newer kernel.c.o) in kernel.c" [ "$(newer kernel.c.o)" -gt 100 ]
        for o in comm.c.o error.c.o cpucheck.c.o; do
            check "$o is compiled for any x86-64 ($(newer $o) newer instructions)" [ "$(newer $o)" -eq 0 ]
        done
    fi
fi

run 2 frobnicate
check "unknown command: exit 2 on all ranks" all_ranks_exited 2 2
check "unknown command: one line" [ "$(wc -l < "$ERR")" -eq 1 ]
run 1
check "no command: exit 2" all_ranks_exited 1 2

# name: expected fragment of the message; then the arguments
usage_case() {
    local frag=$1; shift
    run 3 "$@"
    check "'$*': exit 2 on every rank (got $RANK_RCS)" all_ranks_exited 3 2
    check "'$*': exactly one line on stderr" [ "$(wc -l < "$ERR")" -eq 1 ]
    check "'$*': message mentions '$frag'" grep -q -- "$frag" "$ERR"
}
touch "$WORK/r.h5"
usage_case "unknown option '--bogus'" train "$WORK/r.h5" -o "$WORK/m.h5" --bogus
usage_case "--features" train "$WORK/r.h5" -o "$WORK/m.h5" --features 0
usage_case "--features" train "$WORK/r.h5" -o "$WORK/m.h5" -k -3
usage_case "--features" train "$WORK/r.h5" -o "$WORK/m.h5" --features 12x
usage_case "--lambda" train "$WORK/r.h5" -o "$WORK/m.h5" --lambda -0.1
usage_case "--lambda" train "$WORK/r.h5" -o "$WORK/m.h5" --lambda nan
usage_case "--learning-rate" train "$WORK/r.h5" -o "$WORK/m.h5" --learning-rate 0
usage_case "--learning-rate" train "$WORK/r.h5" -o "$WORK/m.h5" --learning-rate -1
usage_case "--iterations" train "$WORK/r.h5" -o "$WORK/m.h5" --iterations -1
usage_case "optimizer" train "$WORK/r.h5" -o "$WORK/m.h5" --optimizer sgd
usage_case "--patience needs validation data" train "$WORK/r.h5" -o "$WORK/m.h5" --patience 3
usage_case "--eval-every needs validation data" train "$WORK/r.h5" -o "$WORK/m.h5" --eval-every 5
usage_case "cannot be combined" train "$WORK/r.h5" -o "$WORK/m.h5" --test "$WORK/t.h5" --holdout 0.1
usage_case "needs a value" train "$WORK/r.h5" -o "$WORK/m.h5" --lambda
usage_case "output file is required" train "$WORK/r.h5"
usage_case "ratings file is required" train -o "$WORK/m.h5"
usage_case "also an input" train "$WORK/r.h5" -o "$WORK/r.h5"
usage_case "--items" generate -o "$WORK/g.h5" --items 0 --users 3
usage_case "--missing" generate -o "$WORK/g.h5" --items 3 --users 3 --missing 1
usage_case "required" generate -o "$WORK/g.h5" --items 3
usage_case "format" convert --from excel "$WORK/x.txt" -o "$WORK/c.h5"
check "no output file left behind" eval '[ ! -e "$WORK/m.h5" ] && [ ! -e "$WORK/g.h5" ] && [ ! -e "$WORK/c.h5" ]'

# The job scripts: SLURM runs a copy of a batch script, so each carries its own
# copy of the launcher block; the copies must stay the same.
JOBS=$TESTS_DIR/../jobs
block() { awk '/^# ---- launcher: the same block/,/^# ---- end of launcher block/' "$1"; }
check "train.slurm has the launcher block" [ "$(block "$JOBS/train.slurm" | wc -l)" -gt 50 ]
for job in "$JOBS"/*.slurm; do
    check "$(basename "$job"): bash -n" bash -n "$job"
    check "$(basename "$job"): the launcher block is train.slurm's" \
        cmp -s <(block "$job") <(block "$JOBS/train.slurm")
done
finish

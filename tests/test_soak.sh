#!/usr/bin/env bash
# tools/soak: random small problems and options, each run across rank and
# thread counts, exchanges, restarts (also after a stop as by a signal to one
# rank at a random step) and precisions, must agree with one
# rank's run (and predict --dense and --pairs with numpy, recommend with
# predict --top).  A fixed seed, so the same
# cases every time.  Then the same tool against a cofi whose multi-rank
# models are off by 1e-6 must fail, naming the difference and the commands.
source "$(dirname "$0")/lib.sh"
SOAK=(env COFI="$COFI" MPIEXEC="$MPIEXEC" "$PYTHON" "$TESTS_DIR/../tools/soak" --timeout "$TIMEOUT")

"${SOAK[@]}" --seed 1 --cases 6 > "$WORK/soak.txt" 2>&1
rc=$?
check "soak, 6 cases of seed 1 (exit $rc): $(tail -n 3 "$WORK/soak.txt")" [ "$rc" -eq 0 ]
check "every case consistent or refused as it should be" \
    grep -qE '^soak: 6 cases, seed 1: [0-9]+ consistent, [0-9]+ refused as they should be; [0-9]+ runs stopped' "$WORK/soak.txt"
check "at least 3 runs stopped as by a signal (COFI_STOP_AFTER) and restarted to the same model" \
    eval '[ "$(sed -n "s/.* \([0-9]*\) runs stopped as by a signal and restarted$/\1/p" "$WORK/soak.txt")" -ge 3 ]'
check "at least 4 of the 6 cases trained and were compared" \
    eval '[ "$(grep -c "^case [0-9]*: ok: " "$WORK/soak.txt")" -ge 4 ]'

# The stand-in: the real cofi, then, after a train on more than one rank, rank
# 0 moves X[0][0] of the model by 1e-6 (rank 0 alone; the others have exited).
cat > "$WORK/cofi" <<STUB
#!/usr/bin/env bash
"$COFI" "\$@"
rc=\$?
# the launcher's rank and size: Open MPI's variables, else PMI's (MPICH, Slurm)
size=\${OMPI_COMM_WORLD_SIZE:-\${PMI_SIZE:-1}}; rank=\${OMPI_COMM_WORLD_RANK:-\${PMI_RANK:-0}}
if [ \$rc = 0 ] && [ "\$1" = train ] && [ "\$size" -gt 1 ] && [ "\$rank" = 0 ]; then
    out=""; prev=""
    for a in "\$@"; do [ "\$prev" = -o ] && out=\$a; prev=\$a; done
    "$PYTHON" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f['model/X'][0, 0] += 1e-6" "\$out"
fi
exit \$rc
STUB
chmod +x "$WORK/cofi"
env COFI="$WORK/cofi" MPIEXEC="$MPIEXEC" "$PYTHON" "$TESTS_DIR/../tools/soak" --seed 1 --cases 3 \
    --timeout "$TIMEOUT" > "$WORK/bad.txt" 2>&1
rc=$?
check "soak against a cofi whose multi-rank models differ: exit 1 ($rc)" [ "$rc" -eq 1 ]
check "... naming the difference: $(grep FAILED "$WORK/bad.txt")" \
    grep -qE '^case [0-9]+: FAILED: .*X differs by 1e-06' "$WORK/bad.txt"
check "... and listing the case's commands" grep -q "^  OMP_NUM_THREADS=[12] .*cofi train " "$WORK/bad.txt"
check "... without a traceback" eval '! grep -q Traceback "$WORK/bad.txt"'
finish

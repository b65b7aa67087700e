#!/usr/bin/env bash
# An I/O error on one rank's writes once its first N writes to the output
# have worked (tests/eio_preload.c, COFI_TEST_EIO_WRITE_AFTER), N swept over
# the data writes and the metadata HDF5 writes when it closes the file, on
# rank 0 and rank 2 of 3, under OMPIO and ROMIO.  Every run either succeeds
# with the model a run without the error writes, or stops with one message
# and exit 1 on every rank, no file left and the existing model unchanged,
# within 30 s (60 under the sanitizers).  Before: under ROMIO a metadata write failing on one rank at
# the final close left the ranks waiting in different collectives inside
# HDF5 (N = 7, 8 on rank 0, 3 on rank 2); under OMPIO the close reported
# success and the run exited 0 with a file HDF5 could not open (N = 7-11 on
# rank 0).  Now the close runs under a watchdog (COFI_CLOSE_TIMEOUT, 5 s
# here) and rank 0 reads the closed file's structure back before renaming it.
source "$(dirname "$0")/lib.sh"
if [ ! -f "${COFI_EIO_PRELOAD:-}" ]; then
    echo "skipped: the preload helper was not built"
    exit 77
fi
run 2 generate -o "$WORK/g.h5" --items 600 --users 300 --missing 0.8 --seed 2
TR=(train "$WORK/g.h5" -k 8 -T 20 --print-every 0)
run 3 "${TR[@]}" -o "$WORK/clean.h5"
check "a run without errors" all_ranks_exited 3 0
cp "$WORK/clean.h5" "$WORK/old.h5"
run 3 "${TR[@]}" -T 5 -o "$WORK/old.h5"
osum=$(md5sum < "$WORK/old.h5")
no_tmp() { ! ls "$WORK"/*.tmp-* >/dev/null 2>&1; }
closing=0 limit=30
[ "$SANITIZED" = 1 ] && limit=60
for io in ompio romio321; do
    for r in 0 2; do
        if [ $r = 0 ]; then points="5 6 7 8 9 10 11 12 13"; else points="2 3 4 5"; fi
        bad=0 stopped=0
        for n in $points; do
            cp "$WORK/old.h5" "$WORK/m.h5"
            t0=$(date +%s)
            COFI_CLOSE_TIMEOUT=5 COFI_TEST_EIO_WRITE_AFTER=$n eio $r $io 3 "${TR[@]}" -o "$WORK/m.h5"
            t=$(( $(date +%s) - t0 ))
            what="$io, rank $r, writes fail after $n"
            if [ "$RANK_RCS" = "0 0 0 " ]; then
                if ! h5diff -q "$WORK/clean.h5" "$WORK/m.h5" /model /model || ! no_tmp; then
                    bad=$((bad + 1)); echo "$what: exit 0 without the right model"
                fi
            elif none_succeeded 3 && [ "$(err_lines "^cofi")" -eq 1 ] && no_tmp &&
                [ "$(md5sum < "$WORK/m.h5")" = "$osum" ]; then
                stopped=$((stopped + 1))
                if grep -q "cannot finish writing" "$ERR"; then closing=$((closing + 1)); fi
            else
                bad=$((bad + 1)); echo "$what: '$RANK_RCS' (mpirun $RC), $(grep -c "^cofi" "$ERR") messages, $(head -c 300 "$ERR")"
            fi
            [ $t -lt $limit ] || { bad=$((bad + 1)); echo "$what: took $t s"; }
        done
        check "$io, rank $r: $(echo $points | wc -w) runs end cleanly in time ($stopped stopped)" [ $bad = 0 ]
    done
done
echo "stopped while closing the file: $closing"
check "the close's failures were reached and stopped ($closing)" [ $closing -ge 4 ]
finish

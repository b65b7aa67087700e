#!/usr/bin/env bash
# Parallel file system settings (h5io.c): COFI_H5_ALIGN puts every dataset of
# the threshold or more at a multiple of the alignment (offsets read back by
# h5py) in every file cofi writes, at 1 and 3 ranks, with the same data as
# without it; COFI_MPIIO_HINTS reaches the MPI-IO layer (COFI_DEBUG prints
# what MPI_File_get_info reports, under OMPIO and ROMIO); rank 0's
# environment decides for every rank; a malformed setting stops every rank
# with one message and no output.
source "$(dirname "$0")/lib.sh"

HINTS='cb_buffer_size=8388608; romio_cb_write=enable'

# aligned FILE ALIGN THRESHOLD: every dataset stored in THRESHOLD bytes or
# more starts at a multiple of ALIGN, and there is at least one.
aligned() {
    "$PYTHON" - "$@" <<'EOF'
import sys, h5py
path, align, thr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
big, bad = [], []
def visit(name, o):
    if isinstance(o, h5py.Dataset) and o.id.get_offset() is not None:
        if o.id.get_storage_size() >= thr:
            big.append(name)
            if o.id.get_offset() % align:
                bad.append("%s at %d" % (name, o.id.get_offset()))
with h5py.File(path, "r") as f:
    f.visititems(visit)
print(path, "large datasets:", big, "misaligned:", bad, file=sys.stderr)
sys.exit(0 if big and not bad else 1)
EOF
}
# same_data A B [RTOL]: every dataset of A is in B with the same values (to
# RTOL for floating point, bitwise without), and back.
same_data() {
    "$PYTHON" - "$@" <<'EOF'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
def same(x, y):
    if rtol and x.dtype.kind == "f":
        return x.shape == y.shape and np.allclose(x, y, rtol=rtol, atol=rtol)
    return np.array_equal(x, y)
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
nb = []
b.visititems(lambda n, o: nb.append(n) if isinstance(o, h5py.Dataset) else None)
ok = sorted(names) == sorted(nb) and len(names) > 0 and all(
    same(a[n][()], b[n][()]) for n in names)
sys.exit(0 if ok else 1)
EOF
}
# One line of COFI_DEBUG's report for FILE, with the two hints in it.
hints_reported() { # FILE
    [ "$(grep -c "^cofi debug: MPI-IO hints of '$1'" "$ERR")" -eq 1 ] &&
        grep "^cofi debug: MPI-IO hints of '$1'" "$ERR" | grep -q "cb_buffer_size=8388608" &&
        grep "^cofi debug: MPI-IO hints of '$1'" "$ERR" | grep -q "romio_cb_write=enable"
}

for np in 1 3; do
    d=$WORK/np$np
    mkdir -p "$d"
    # X (600 x 32 doubles, 150 KB) and W (200 x 32) pass 64 KiB; b does not.
    COFI_H5_ALIGN=64K run $np generate -o "$d/g.h5" --items 600 --users 200 --missing 0.8 --seed 3
    check "$np ranks: generate ran" all_ranks_exited $np 0
    check "$np ranks: generate's file aligned to 64 KiB" aligned "$d/g.h5" 65536 65536
    COFI_DEBUG=1 COFI_MPIIO_HINTS=$HINTS COFI_H5_ALIGN=64K run $np train "$d/g.h5" -k 32 -T 6 \
        --print-every 0 -o "$d/m.h5" --checkpoint "$d/ck.h5" --checkpoint-every 3 --metrics "$d/m.json"
    check "$np ranks: training with hints and alignment ran" all_ranks_exited $np 0
    check "$np ranks: the header names the settings" grep -qx \
        "  I/O: MPI-IO hints cb_buffer_size=8388608; romio_cb_write=enable; HDF5 objects of 64 KiB or more at multiples of 64 KiB" "$OUT"
    check "$np ranks: the metrics file names the settings" "$PYTHON" -c '
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["config"]["io"] == sys.argv[2] else 1)' "$d/m.json" \
        "MPI-IO hints cb_buffer_size=8388608; romio_cb_write=enable; HDF5 objects of 64 KiB or more at multiples of 64 KiB"
    check "$np ranks: MPI reports the hints for the input" hints_reported "$d/g.h5"
    check "$np ranks: ... and for the model" hints_reported "$d/m.h5"
    check "$np ranks: model aligned to 64 KiB" aligned "$d/m.h5" 65536 65536
    check "$np ranks: checkpoint aligned to 64 KiB" aligned "$d/ck.h5" 65536 65536
    # A threshold below the alignment: objects of 16 KiB or more at 1 MiB.
    COFI_H5_ALIGN=1M:16K run $np predict "$d/m.h5" "$d/g.h5" -o "$d/top.h5" --top 20
    check "$np ranks: predict ran" all_ranks_exited $np 0
    check "$np ranks: predictions of 16 KiB or more aligned to 1 MiB" aligned "$d/top.h5" 1048576 16384
    # The same run without the settings: the same numbers, other offsets.
    run $np train "$d/g.h5" -k 32 -T 6 --print-every 0 -o "$d/m0.h5" --metrics "$d/m0.json"
    check "$np ranks: training without settings ran" all_ranks_exited $np 0
    check "$np ranks: ... and its metrics file says none" "$PYTHON" -c '
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["config"]["io"] is None else 1)' "$d/m0.json"
    check "$np ranks: without COFI_H5_ALIGN the model is not aligned (the check can fail)" \
        eval '! aligned "$d/m0.h5" 65536 65536 2>/dev/null'
    check "$np ranks: the aligned model holds the same data" same_data "$d/m.h5" "$d/m0.h5"
done
check "the same model at 1 and 3 ranks (to round-off)" same_data "$WORK/np1/m.h5" "$WORK/np3/m.h5" 1e-9

# Under ROMIO too: the hints reach the file, the model is aligned.
COFI_DEBUG=1 COFI_MPIIO_HINTS=$HINTS COFI_H5_ALIGN=64K OMPI_MCA_io=romio321 run 2 train \
    "$WORK/np1/g.h5" -k 32 -T 6 --print-every 0 -o "$WORK/mr.h5"
check "ROMIO: training ran" all_ranks_exited 2 0
check "ROMIO: MPI reports the hints for the model" hints_reported "$WORK/mr.h5"
check "ROMIO: model aligned" aligned "$WORK/mr.h5" 65536 65536
check "ROMIO: the same model as 1 rank's (to round-off)" same_data "$WORK/mr.h5" "$WORK/np1/m0.h5" 1e-9

# Rank 0's environment decides.  A launcher that gives rank 1 other values
# (here, unreadable ones) changes nothing; the same on rank 0 stops all.
cat > "$WORK/rank_env" <<'EOF'
#!/usr/bin/env bash
if [ "${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}" = "$BAD_RANK" ]; then
    export COFI_MPIIO_HINTS='garbage' COFI_H5_ALIGN='1.5'
fi
exec "$REAL_COFI" "$@"
EOF
chmod +x "$WORK/rank_env"
export REAL_COFI=$COFI
BAD_RANK=1 COFI=$WORK/rank_env COFI_H5_ALIGN=64K run 3 train "$WORK/np1/g.h5" -k 32 -T 6 \
    --print-every 0 -o "$WORK/m1.h5"
check "other values on rank 1: the run goes on with rank 0's" all_ranks_exited 3 0
check "... and every rank aligned as rank 0 said" aligned "$WORK/m1.h5" 65536 65536
BAD_RANK=0 COFI=$WORK/rank_env run 3 train "$WORK/np1/g.h5" -k 32 -T 6 --print-every 0 \
    -o "$WORK/m2.h5"
check "unreadable values on rank 0: every rank exits 1" all_ranks_exited 3 1
check "... with one message" eval '[ "$(err_lines "^cofi train: error: COFI_MPIIO_HINTS: '"'"'garbage'"'"' is not KEY=VALUE")" -eq 1 ] && [ "$(err_lines "^cofi")" -eq 1 ]'
check "... and no output" eval '[ ! -e "$WORK/m2.h5" ] && ! ls "$WORK"/m2.h5.tmp* >/dev/null 2>&1'

# Malformed settings, at 3 ranks: exit 1 everywhere, one message naming the
# variable and what it expects, no output.
for spec in 'COFI_MPIIO_HINTS|foo|is not KEY=VALUE' 'COFI_MPIIO_HINTS|a b=1|is not a hint.s name' \
    'COFI_MPIIO_HINTS|striping_factor=|has no value' 'COFI_MPIIO_HINTS|=4|is not a hint.s name' \
    'COFI_H5_ALIGN|abc|is not SIZE or SIZE:THRESHOLD' 'COFI_H5_ALIGN|0|is not SIZE' \
    'COFI_H5_ALIGN|4M:0|is not SIZE' 'COFI_H5_ALIGN|2T|is not SIZE' 'COFI_H5_ALIGN|1.5|is not SIZE'; do
    IFS='|' read -r var val msg <<< "$spec"
    export "$var=$val"
    run 3 train "$WORK/np1/g.h5" -k 4 -T 2 --print-every 0 -o "$WORK/bad.h5"
    unset "$var"
    check "$var='$val': every rank exits 1" all_ranks_exited 3 1
    check "$var='$val': one message ($msg)" eval '[ "$(err_lines "^cofi train: error: $var: .*$msg")" -eq 1 ] && [ "$(err_lines "^cofi")" -eq 1 ]'
    check "$var='$val': no output" eval '[ ! -e "$WORK/bad.h5" ] && ! ls "$WORK"/bad.h5.tmp* >/dev/null 2>&1'
done
# --help still works with a bad setting: it reads no file.
COFI_MPIIO_HINTS=foo run 1 --help
check "--help is not stopped by a bad setting" eval '[ "$RANK_RCS" = "0 " ] && grep -q COFI_MPIIO_HINTS "$OUT"'

finish

# lib.sh - helpers for cofi's script tests (sourced).
# Environment (set by ctest): COFI (the executable), MPIEXEC, PYTHON, COFI_TEST_DATA.
set -u
: "${COFI:?COFI must name the cofi executable}"
: "${MPIEXEC:=mpiexec}"
: "${PYTHON:=/usr/bin/python3}"
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cofi-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
CHECKS=0
TIMEOUT=${COFI_CASE_TIMEOUT:-60}
# The sanitizer build (COFI_SANITIZED=1) runs each cofi process about 2-3x
# slower; loops that repeat the same code paths at more rank counts run at
# fewer of them there (test_badinput, test_paths).
SANITIZED=${COFI_SANITIZED:-0}

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
check() { # check "what" command...
    local what=$1; shift
    CHECKS=$((CHECKS + 1))
    if ! "$@"; then fail "$what"; fi
}
finish() {
    echo "$(basename "$0"): $CHECKS checks, $FAILS failed"
    [ "$FAILS" -eq 0 ] && [ "$CHECKS" -gt 0 ]
}

# run NP ARGS... : cofi on NP ranks under a timeout.  Sets OUT, ERR (file
# names), RC (mpiexec's exit code), RANK_RCS (each rank's exit code, sorted).
run() {
    local np=$1; shift
    OUT=$WORK/out.txt; ERR=$WORK/err.txt
    local rcdir=$WORK/rc; rm -rf "$rcdir"; mkdir -p "$rcdir"
    timeout -s KILL "$TIMEOUT" "$MPIEXEC" -np "$np" --oversubscribe \
        bash -c '"$0" "$@"; echo $? > "'"$rcdir"'/rc.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}"' \
        "$COFI" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
    RANK_RCS=$(cat "$rcdir"/rc.* 2>/dev/null | sort | tr '\n' ' ')
}

# rank_pid SID RANK: the pid of the cofi process of MPI rank RANK in session
# SID (found by its name and its environment, not by pid order, which wraps).
rank_pid() {
    local p
    for p in $(pgrep -s "$1" -x cofi); do
        if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qxE "(OMPI_COMM_WORLD_RANK|PMI_RANK)=$2"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Every one of NP ranks exited with CODE.
all_ranks_exited() { # np code
    local want="" i
    for ((i = 0; i < $1; i++)); do want+="$2 "; done
    [ "$RANK_RCS" = "$want" ]
}

# The number of lines of stderr that match a pattern.
err_lines() { grep -c -- "$1" "$ERR" || true; }

# No rank exited 0 of NP.  A rank whose process mpirun killed, after another
# exited 1, records no code (mpirun then exits non-zero).
none_succeeded() { # np
    ! echo " $RANK_RCS" | grep -q " 0 " && { [ "$(echo $RANK_RCS | wc -w)" = "$1" ] || [ "$RC" != 0 ]; }
}

# eio RANK IO NP ARGS...: run on NP ranks under MPI-IO module IO (ompio,
# romio321) with tests/eio_preload.c (COFI_EIO_PRELOAD) failing I/O on rank
# RANK; the COFI_TEST_EIO_* variables set what fails.  ASan must otherwise
# come first among preloaded libraries.
eio() {
    local r=$1 io=$2 np=$3
    shift 3
    COFI_TEST_EIO_RANK=$r LD_PRELOAD=$COFI_EIO_PRELOAD OMPI_MCA_io=$io \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 run "$np" "$@"
}

/* asan_keep_modules.c - linked into every executable of the sanitizer build
 * (-DCOFI_SANITIZE=ON) only: dlclose() keeps the library loaded.
 *
 * Open MPI loads its components with dlopen and closes them in
 * MPI_Finalize, before LeakSanitizer's check at exit.  The allocations those
 * components keep on purpose then have stack frames in no known module, so
 * the library suppressions of tests/asan.supp cannot name them, and each
 * such frame makes the sanitizer re-read /proc/self/maps (about a second per
 * process).  With the components kept mapped, their frames resolve, the
 * suppressions apply, and the check takes milliseconds.  The executable
 * exports this definition (-Wl,--export-dynamic-symbol=dlclose), so it
 * takes precedence over libc's for every library of the process. */
int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}

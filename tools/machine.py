"""What the tools need to know about this machine to launch cofi under mpirun."""
import os
import shlex
import shutil


def cores():
    """The physical cores this process may run on.

    Open MPI's slots are cores, and the tools bind each rank to its own cores,
    so hardware threads of one core count once (os.cpu_count() would count
    each of them)."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:
        return os.cpu_count() or 1
    seen = set()
    for c in cpus:
        topo = f"/sys/devices/system/cpu/cpu{c}/topology/"
        try:
            with open(topo + "physical_package_id") as p, open(topo + "core_id") as k:
                seen.add((p.read().strip(), k.read().strip()))
        except OSError:
            seen.add(("cpu", c))
    return max(1, len(seen))


def default_cofi():
    """$COFI, else cofi on PATH, else this checkout's build/src/cofi."""
    built = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "..", "build", "src", "cofi"))
    return os.environ.get("COFI") or shutil.which("cofi") or built


def launch_problem(cofi, mpirun=None):
    """Why cofi (under mpirun, when given) cannot be launched, or None."""
    if not shutil.which(cofi):
        return f"cofi not found or not executable: {cofi} (pass --cofi PATH or set COFI)"
    if mpirun is not None and not shutil.which((shlex.split(mpirun) or [""])[0]):
        return f"MPI launcher '{mpirun}' not found (tools/setup-deps installs Open MPI)"
    return None

"""What the tools need to know about this machine to launch cofi under mpirun."""
import os
import shlex
import shutil
import subprocess


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


_KINDS = {}


def launcher_kind(mpirun):
    """'openmpi', 'srun' or 'other' (MPICH's and Intel MPI's Hydra, or
    anything else) for the launcher command mpirun.  Only Open MPI's
    launcher gets Open MPI's own flags; srun is told the threads per rank."""
    words = shlex.split(mpirun) or ["mpirun"]
    if os.path.basename(words[0]) == "srun":
        return "srun"
    if mpirun not in _KINDS:
        try:
            p = subprocess.run(words + ["--version"], capture_output=True, text=True, timeout=30)
            text = p.stdout + p.stderr
        except (OSError, subprocess.SubprocessError):
            text = ""
        _KINDS[mpirun] = "openmpi" if ("Open MPI" in text or "OpenRTE" in text) else "other"
    return _KINDS[mpirun]


def launch(mpirun, ranks, threads, bind=False, env=None):
    """(command, environment, oversubscribed) that start ranks x threads
    under the launcher mpirun; the program and its arguments follow.

    Every launcher gets '-n RANKS' and OMP_NUM_THREADS.  Open MPI also gets
    --allow-run-as-root as root; with more ranks x threads than cores
    --oversubscribe, no binding and ranks that yield; else, with bind, each
    rank bound to its own THREADS cores (--map-by slot:PE=T) and its threads
    to one core each, without bind no binding.  srun gets --cpus-per-task and
    leaves binding to SLURM's configuration; other launchers (MPICH's or
    Intel MPI's mpiexec) get nothing more: their defaults allow root and more
    ranks than cores, and their binding is theirs to set."""
    kind = launcher_kind(mpirun)
    over = ranks * threads > cores()
    cmd = shlex.split(mpirun) + ["-n", str(ranks)]
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS=str(threads))
    if kind == "openmpi":
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        if over:
            cmd += ["--oversubscribe", "--bind-to", "none"]
            env["OMPI_MCA_mpi_yield_when_idle"] = "1"
        elif bind:
            cmd += ["--map-by", f"slot:PE={threads}", "--bind-to", "core"]
        else:
            cmd += ["--bind-to", "none"]
    elif kind == "srun":
        cmd.append(f"--cpus-per-task={threads}")
    if over:
        env.update(OMP_WAIT_POLICY="passive", OMP_PROC_BIND="false")
        env.pop("OMP_PLACES", None)
    elif bind:
        env.update(OMP_PLACES="cores", OMP_PROC_BIND="close")
    return cmd, env, over

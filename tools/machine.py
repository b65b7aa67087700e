"""What the tools need to know about this machine to launch cofi under mpirun."""
import os


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

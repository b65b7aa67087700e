"""Every option of every Python tool in tools/ has a help text; every
tool's --help (and each subcommand's), Python or shell, exits 0 without a
traceback, prints its text in at most 80 columns and does nothing else: it
runs with the build, install and launch commands on PATH replaced by stubs
that leave a mark, and BUILD_DIR pointing to a directory that must not
appear.

usage: check_tool_help.py TOOLS_DIR PYTHON
Prints each problem; exit 1 if there is any.
"""
import ast
import os
import subprocess
import sys
import tempfile

tools, python = sys.argv[1], sys.argv[2]
bad = []
checked = 0
scratch = tempfile.mkdtemp(prefix="cofi-toolhelp-")
stubs = os.path.join(scratch, "bin")
mark = os.path.join(scratch, "ran")
os.mkdir(stubs)
for cmd in ("cmake", "ctest", "make", "cc", "gcc", "clang", "mpicc", "h5pcc", "mpirun",
            "mpiexec", "apt-get", "sudo", "dpkg", "valgrind", "sbatch", "srun", "slurmctld",
            "slurmd", "munged", "h5diff", "h5dump", "scan-build"):
    with open(os.path.join(stubs, cmd), "w") as f:
        f.write(f"#!/bin/sh\necho {cmd} >> '{mark}'\nexit 1\n")
    os.chmod(os.path.join(stubs, cmd), 0o755)
env = dict(os.environ, PATH=stubs + os.pathsep + os.environ.get("PATH", ""),
           BUILD_DIR=os.path.join(scratch, "build"), MPIEXEC=os.path.join(stubs, "mpirun"))


def check_help(label, argv):
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0 or "Traceback" in p.stderr or not p.stdout.strip():
        bad.append(f"{label}: exit {p.returncode}, {p.stderr.strip()[-200:]!r}")
    wide = [l for l in p.stdout.splitlines() if len(l) > 80]
    if wide:
        bad.append(f"{label}: {len(wide)} lines wider than 80 columns, e.g. {wide[0]!r}")
    if os.path.exists(mark):
        bad.append(f"{label}: ran {' '.join(open(mark).read().split())}")
        os.remove(mark)
    if os.path.exists(env["BUILD_DIR"]):
        bad.append(f"{label}: created BUILD_DIR")
        subprocess.run(["rm", "-rf", env["BUILD_DIR"]])


for name in sorted(os.listdir(tools)):
    path = os.path.join(tools, name)
    if not os.path.isfile(path):
        continue
    with open(path, "rb") as f:
        head = f.readline()
    if b"python" not in head:
        continue
    tree = ast.parse(open(path).read(), path)
    subcommands = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "add_parser" and node.args and isinstance(node.args[0], ast.Constant):
            subcommands.append(node.args[0].value)
        if node.func.attr != "add_argument":
            continue
        checked += 1
        if not any(k.arg == "help" for k in node.keywords):
            flags = [a.value for a in node.args if isinstance(a, ast.Constant)]
            bad.append(f"{name}:{node.lineno}: {'/'.join(flags) or '?'} has no help text")
    if name.endswith(".py"):
        continue  # a module, not a command
    for argv in [["--help"]] + [[c, "--help"] for c in subcommands]:
        check_help(f"{name} {' '.join(argv)}", [python, path] + argv)
# The shell tools: the same, run as a user runs them.
shell = 0
for name in sorted(os.listdir(tools)):
    path = os.path.join(tools, name)
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        continue
    with open(path, "rb") as f:
        head = f.readline()
    if b"python" in head:
        continue
    shell += 1
    check_help(f"{name} --help", [path, "--help"])
subprocess.run(["rm", "-rf", scratch])
if shell == 0:
    bad.append("no shell tools found")
for b in bad:
    print(b)
print(f"{checked} options and {shell} shell tools checked, {len(bad)} problems")
sys.exit(1 if bad or checked == 0 else 0)

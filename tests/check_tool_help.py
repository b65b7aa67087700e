"""Every option of every Python tool in tools/ has a help text, and every
tool's --help (and each subcommand's) exits 0 without a traceback.

usage: check_tool_help.py TOOLS_DIR PYTHON
Prints each option without help; exit 1 if there is any.
"""
import ast
import os
import subprocess
import sys

tools, python = sys.argv[1], sys.argv[2]
bad = []
checked = 0
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
        p = subprocess.run([python, path] + argv, capture_output=True, text=True)
        if p.returncode != 0 or "Traceback" in p.stderr or not p.stdout.strip():
            bad.append(f"{name} {' '.join(argv)}: exit {p.returncode}, {p.stderr.strip()[-200:]!r}")
for b in bad:
    print(b)
print(f"{checked} options checked, {len(bad)} problems")
sys.exit(1 if bad or checked == 0 else 0)

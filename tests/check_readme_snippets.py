#!/usr/bin/python3
"""Run README's h5py snippets (File layouts) on real cofi files.

usage: check_readme_snippets.py README MODEL RATINGS DENSE
The snippets open "model.h5" and "ratings.h5"; they run in a scratch
directory where those names point at MODEL and RATINGS.  Their Y_hat must
equal DENSE's /dense/prediction (cofi predict --dense) and their Y the
ratings read here directly.
"""
import os
import re
import sys
import tempfile

import h5py
import numpy as np

readme, model, ratings, dense = (os.path.abspath(p) for p in sys.argv[1:5])
text = open(readme).read()
section = text[text.index("Predicting from a model with h5py"):]
blocks = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
assert len(blocks) == 2, "expected the two snippets after 'Predicting from a model with h5py'"
with tempfile.TemporaryDirectory() as d:
    os.symlink(model, os.path.join(d, "model.h5"))
    os.symlink(ratings, os.path.join(d, "ratings.h5"))
    os.chdir(d)
    env = {}
    for b in blocks:
        exec(compile(b, "README snippet", "exec"), env)
want = h5py.File(dense, "r")["dense/prediction"][:]
err = np.max(np.abs(env["Y_hat"] - want))
with h5py.File(ratings, "r") as f:
    indptr, user, y = f["ratings/indptr"][:], f["ratings/user"][:], f["ratings/rating"][:]
Y = env["Y"]
rated = ~np.isnan(Y)
ok_y = rated.sum() == len(y) and all(
    np.array_equal(Y[i, user[indptr[i]:indptr[i + 1]]], y[indptr[i]:indptr[i + 1]]) for i in range(len(indptr) - 1))
print(f"README snippets: Y_hat vs cofi predict --dense max |diff| {err:.3g}; Y {'matches' if ok_y else 'DIFFERS'}")
sys.exit(0 if err < 1e-12 and ok_y else 1)

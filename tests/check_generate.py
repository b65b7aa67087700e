#!/usr/bin/python3
"""Check a file from `cofi generate` against its own truth, independently.

usage: check_generate.py FILE MODE   (MODE: rounded-noiseless | exact | noisy)
- layout: sorted CSR, ids, attributes;
- density within 5 standard deviations of 1 - missing;
- rounded-noiseless: rating == clip(round(x_i . w_j), 1, 5) at every rated pair;
- exact (--no-round --noise 0): rating == x_i . w_j;
- noisy (--no-round): rating - x_i . w_j has mean ~0 and std ~ noise;
- every mode: the truth X and W look like N(0, 1) samples.
"""
import sys

import h5py
import numpy as np

path, mode = sys.argv[1], sys.argv[2]
errors = []
with h5py.File(path, "r") as f:
    a = dict(f.attrs)
    ni, nu, nnz = int(a["n_items"]), int(a["n_users"]), int(a["nnz"])
    indptr = f["ratings/indptr"][:]
    user = f["ratings/user"][:]
    y = f["ratings/rating"][:]
    X = f["truth/X"][:]
    W = f["truth/W"][:]
    items = [s.decode() for s in f["items/id"][:]]
    users = [s.decode() for s in f["users/id"][:]]
if a["format"] != "cofi-ratings" or int(a["version"]) != 1:
    errors.append("format attributes")
if indptr.shape != (ni + 1,) or indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
    errors.append("indptr")
if user.shape != (nnz,) or y.shape != (nnz,):
    errors.append("shapes")
item = np.repeat(np.arange(ni), np.diff(indptr))
key = item * nu + user
if np.any(np.diff(key) <= 0):
    errors.append("not sorted by item then user, or duplicates")
if user.min() < 0 or user.max() >= nu:
    errors.append("user out of range")
if items != ["Item_%d" % i for i in range(ni)] or users != ["User_%d" % j for j in range(nu)]:
    errors.append("ids")
p = 1.0 - float(a["missing"])
n = ni * nu
if float(a.get("zipf", 0)) == 0 and abs(nnz - n * p) > 5 * np.sqrt(n * p * (1 - p)) + 1:
    errors.append(f"density: {nnz} ratings, expected {n * p:.0f}")
# the truth itself: entries of N(0, 1) (mean, spread and the share within one
# standard deviation, each within 5 standard errors)
for name, T in (("X", X), ("W", W)):
    t = T.ravel()
    if T.shape[0] != (ni if name == "X" else nu) or T.ndim != 2 or t.size < 100:
        errors.append(f"truth/{name} shape {T.shape}")
        continue
    se = 1 / np.sqrt(t.size)
    inside = np.mean(np.abs(t) < 1)
    if (abs(t.mean()) > 5 * se or abs(t.std() - 1) > 5 * se / np.sqrt(2) + 1e-3
            or abs(inside - 0.682689) > 5 * np.sqrt(0.682689 * 0.317311) * se):
        errors.append(f"truth/{name}: mean {t.mean():.4f} std {t.std():.4f} "
                      f"within 1: {inside:.4f}, expected N(0, 1)")
dot = np.einsum("rf,rf->r", X[item], W[user])
if mode == "rounded-noiseless":
    want = np.clip(np.round(dot), 1, 5)
    # round-half cases may differ only where dot is within 1e-9 of .5
    bad = (y != want) & (np.abs(np.abs(dot - np.floor(dot)) - 0.5) > 1e-9)
    if bad.any():
        errors.append(f"{bad.sum()} ratings differ from clip(round(x.w))")
elif mode == "exact":
    if not np.allclose(y, dot, rtol=1e-12, atol=1e-12):
        errors.append("ratings differ from x.w")
elif mode == "noisy":
    r = y - dot
    noise = float(a["noise"])
    # 5 standard errors: the mean's is noise/sqrt(n), the std's noise/sqrt(2n)
    if abs(r.mean()) > 5 * noise / np.sqrt(nnz) or abs(r.std() / noise - 1) > 5 / np.sqrt(2 * nnz):
        errors.append(f"noise mean {r.mean():.4f} std {r.std():.4f}, expected 0 and {noise}")
else:
    errors.append("unknown mode " + mode)
for e in errors:
    print("FAIL", path, e)
print(f"check_generate {mode}: {nnz} ratings, {len(errors)} problems")
sys.exit(1 if errors else 0)

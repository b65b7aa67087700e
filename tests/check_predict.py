#!/usr/bin/python3
"""Check cofi's predictions against a brute-force computation in numpy.

usage:
  check_predict.py topk PRED RATINGS MODEL K
  check_predict.py dense PRED RATINGS MODEL
  check_predict.py recommend OUTPUT RATINGS MODEL USER K
Scores are mu + item_bias[i] + X[i] . W[j] + b[j], reported clipped to the
model's clip_min/clip_max attributes and ranked unclipped; rated pairs are
excluded from top-K lists; ties go to the lower item index.
"""
import re
import sys

import h5py
import numpy as np


def load(ratings, model):
    with h5py.File(ratings, "r") as f:
        indptr, user = f["ratings/indptr"][:], f["ratings/user"][:]
        ni, nu = int(f.attrs["n_items"]), int(f.attrs["n_users"])
        items = [s.decode() if isinstance(s, bytes) else s for s in f["items/id"][:]]
        users = [s.decode() if isinstance(s, bytes) else s for s in f["users/id"][:]]
    with h5py.File(model, "r") as f:
        m = f["model"]
        S = m["X"][:] @ m["W"][:].T + m["b"][:]
        mu = float(m["mu"][()]) if "mu" in m else 0.0
        ib = m["item_bias"][:] if "item_bias" in m else np.zeros(ni)
        lo = float(f.attrs.get("clip_min", -np.inf))
        hi = float(f.attrs.get("clip_max", np.inf))
    S = S + (mu + ib)[:, None]
    global CLIP
    CLIP = (lo, hi)
    rated = np.zeros((ni, nu), bool)
    rated[np.repeat(np.arange(ni), np.diff(indptr)), user] = True
    return S, rated, items, users


CLIP = (-np.inf, np.inf)


def clip(x):
    """Reported predictions are clipped to the model's range; ranking is not."""
    return np.clip(x, CLIP[0], CLIP[1])


def best(S, rated, j, K):
    cand = np.where(~rated[:, j])[0]
    order = np.lexsort((cand, -S[cand, j]))  # score desc, then item asc
    return cand[order][:K]


def close(a, b):
    return np.all(np.abs(a - b) <= 1e-12 * np.maximum(1, np.abs(b)))


def main(a):
    mode = a[0]
    if mode == "topk":
        pred, ratings, model, K = a[1], a[2], a[3], int(a[4])
        S, rated, items, users = load(ratings, model)
        with h5py.File(pred, "r") as f:
            it, sc, cnt = f["topk/item"][:], f["topk/score"][:], f["topk/count"][:]
            if [s.decode() for s in f["users/id"][:]] != users or \
               [s.decode() for s in f["items/id"][:]] != items:
                print("ids differ"); return 1
            if f.attrs["format"] != "cofi-predictions" or int(f.attrs["top"]) != K:
                print("attributes"); return 1
        if it.shape != (len(users), K):
            print("shape", it.shape); return 1
        short = 0
        for j in range(len(users)):
            want = best(S, rated, j, K)
            n = len(want)
            short += n < K
            if cnt[j] != n or not np.array_equal(it[j, :n], want) or np.any(it[j, n:] != -1) \
               or not close(sc[j, :n], clip(S[want, j])) or not np.all(np.isnan(sc[j, n:])):
                print(f"user {j}: got {it[j]} {sc[j]} count {cnt[j]}, want {want} {S[want, j]}")
                return 1
        print(f"top-{K} lists of {len(users)} users match brute force ({short} users with fewer than K)")
        return 0
    if mode == "dense":
        pred, ratings, model = a[1], a[2], a[3]
        S, _, _, _ = load(ratings, model)
        D = h5py.File(pred, "r")["dense/prediction"][:]
        ok = D.shape == S.shape and close(D, clip(S))
        print(f"dense {D.shape}: {'matches' if ok else 'DIFFERS from'} X W^T + b + offsets")
        return 0 if ok else 1
    if mode == "recommend":
        out, ratings, model, user, K = a[1], a[2], a[3], a[4], int(a[5])
        S, rated, items, users = load(ratings, model)
        j = users.index(user)
        want = best(S, rated, j, K)
        got = re.findall(r"^Choice (\d+) : (\S+)  \(predicted rating (\S+)\)$", open(out).read(), re.M)
        if len(got) != len(want):
            print(f"{len(got)} choices, want {len(want)}"); return 1
        for (n, name, s), i in zip(got, want):
            if name != items[i] or abs(float(s) - clip(S[i, j])) > 1e-4:
                print(f"choice {n}: {name} {s}, want {items[i]} {S[i, j]:.4f}"); return 1
        print(f"recommend: {len(got)} choices match brute force")
        return 0
    return 2


sys.exit(main(sys.argv[1:]))

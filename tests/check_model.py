#!/usr/bin/python3
"""Compare a cofi model file with a reference, independently of cofi.

usage:
  check_model.py MODEL REF.h5 GROUP TOL          X, W, b of MODEL vs GROUP of REF
  check_model.py --gd MODEL RATINGS INIT.h5 GROUP LR LAMBDA STEPS TOL
        MODEL vs STEPS of plain gradient descent computed here in numpy
  check_model.py --table LOG REF.h5 TOL          progress-table costs vs /cost
"""
import sys

import h5py
import numpy as np


def rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def load_model(path):
    with h5py.File(path, "r") as f:
        return f["model/X"][:], f["model/W"][:], f["model/b"][:], dict(f.attrs)


def main(argv):
    if argv[0] == "--table":
        log, ref, tol = argv[1], argv[2], float(argv[3])
        cost = h5py.File(ref, "r")["cost"][:]
        rows = 0
        for line in open(log):
            parts = line.split()
            if len(parts) >= 4 and parts[0].isdigit() and int(parts[0]) < len(cost):
                t = int(parts[0])
                c = float(parts[1])
                if abs(c - cost[t]) > tol * abs(cost[t]):
                    print(f"iteration {t}: printed cost {c} vs reference {cost[t]}")
                    return 1
                rows += 1
        print(f"{rows} progress rows match the reference cost")
        return 0 if rows >= 5 else 1
    if argv[0] == "--gd":
        model, ratings, init, group = argv[1:5]
        lr, lam, steps, tol = float(argv[5]), float(argv[6]), int(argv[7]), float(argv[8])
        with h5py.File(ratings, "r") as f:
            indptr = f["ratings/indptr"][:]
            user = f["ratings/user"][:]
            y = f["ratings/rating"][:]
            ni, nu = int(f.attrs["n_items"]), int(f.attrs["n_users"])
        with h5py.File(init, "r") as f:
            X, W, b = f[group + "/X"][:], f[group + "/W"][:], f[group + "/b"][:]
        Y = np.zeros((ni, nu))
        R = np.zeros((ni, nu))
        item = np.repeat(np.arange(ni), np.diff(indptr))
        Y[item, user] = y
        R[item, user] = 1
        for _ in range(steps):
            E = (X @ W.T + b - Y) * R
            gX = E @ W + lam * X
            gW = E.T @ X + lam * W
            gb = E.sum(axis=0)
            X, W, b = X - lr * gX, W - lr * gW, b - lr * gb
        mX, mW, mb, _ = load_model(model)
        err = max(rel(mX, X), rel(mW, W), rel(mb, b))
        print(f"gradient descent, {steps} steps: relative error {err:.3g}")
        return 0 if err <= tol else 1
    model, ref, group, tol = argv[0], argv[1], argv[2], float(argv[3])
    mX, mW, mb, attrs = load_model(model)
    with h5py.File(ref, "r") as f:
        X, W, b = f[group + "/X"][:], f[group + "/W"][:], f[group + "/b"][:]
    err = max(rel(mX, X), rel(mW, W), rel(mb, b))
    print(f"model vs {group}: relative error {err:.3g}")
    return 0 if err <= tol else 1


sys.exit(main(sys.argv[1:]))

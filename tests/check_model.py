#!/usr/bin/python3
"""Compare a cofi model file with a reference, independently of cofi.

usage:
  check_model.py MODEL REF.h5 GROUP TOL          X, W, b of MODEL vs GROUP of REF
  check_model.py --gd MODEL RATINGS INIT.h5 GROUP LR LAMBDA STEPS TOL
        MODEL vs STEPS of plain gradient descent computed here in numpy
  check_model.py --gd-full MODEL RATINGS INIT.h5 GROUP LR LAMBDA LAMBDA_BIAS STEPS TOL IBMODE LO HI [OPT]
        the same on the default preset's whole objective (see gd_full); OPT adam,B1,B2,EPS for Adam
  check_model.py --table LOG REF.h5 TOL          progress-table costs vs /cost
  check_model.py --diverge METRICS CKPT RATINGS INIT.h5 GROUP LR LAMBDA LAMBDA_BIAS TOL
        a run of gradient descent on the whole objective (learned item bias) that
        diverged: its recorded costs vs numpy's up to the first one that is not
        finite, at the same iteration; CKPT (or -) holds numpy's parameters
"""
import sys

import h5py
import numpy as np


def rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def load_model(path):
    with h5py.File(path, "r") as f:
        return f["model/X"][:], f["model/W"][:], f["model/b"][:], dict(f.attrs)


def dense_problem(ratings, init, group):
    """The ratings as dense Y and mask R, the ratings themselves, and the
    starting X, W, b from GROUP of INIT."""
    with h5py.File(ratings, "r") as f:
        indptr, user = f["ratings/indptr"][:], f["ratings/user"][:]
        y = f["ratings/rating"][:].astype(np.float64)
        ni, nu = int(f.attrs["n_items"]), int(f.attrs["n_users"])
    with h5py.File(init, "r") as f:
        X, W, b = f[group + "/X"][:], f[group + "/W"][:], f[group + "/b"][:]
    item = np.repeat(np.arange(ni), np.diff(indptr))
    Y, R = np.zeros((ni, nu)), np.zeros((ni, nu))
    Y[item, user], R[item, user] = y, 1
    return Y, R, y, X, W, b


def gd_full(argv):
    """The whole objective of the default preset, by plain gradient descent:
    J = 1/2 sum_rated (mu + ib_i + x_i.w_j + b_j - y)^2
        + lam/2 (sum r_i |x_i|^2 + sum r_j |w_j|^2) + lamb/2 (|b|^2 + |ib|^2)
    with mu the mean rating, r the rows' rating counts, ib learned from zero
    (IBMODE learned) or fixed at sum_i (y - mu) / (r_i + lamb) (IBMODE mean,
    then not a parameter: J leaves out its ridge);
    and the reported train RMSE and MAE of predictions clipped to [LO, HI]."""
    model, ratings, init, group = argv[0:4]
    lr, lam, lamb, steps, tol = float(argv[4]), float(argv[5]), float(argv[6]), int(argv[7]), float(argv[8])
    ibmode, lo, hi = argv[9], float(argv[10]), float(argv[11])
    # OPT: gd (default) or adam,B1,B2,EPS (Keras' arithmetic, as cofi's adam.c)
    opt = argv[12].split(",") if len(argv) > 12 else ["gd"]
    Y, R, y, X, W, b = dense_problem(ratings, init, group)
    ni = Y.shape[0]
    ri, rj = R.sum(axis=1), R.sum(axis=0)
    mu = y.mean()
    if ibmode == "learned":
        ib = np.zeros(ni)
    else:
        ib = ((Y - mu) * R).sum(axis=1) / (ri + lamb)
    state = {}

    def update(name, p, g, t):
        if opt[0] == "gd":
            return p - lr * g
        b1, b2, eps = (float(v) for v in opt[1:4])
        m, v = state.get(name, (np.zeros_like(p), np.zeros_like(p)))
        alpha = lr * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        m = m + (g - m) * (1.0 - b1)
        v = v + (g * g - v) * (1.0 - b2)
        state[name] = (m, v)
        return p - (m * alpha) / (np.sqrt(v) + eps)

    for t in range(1, steps + 1):
        E = (mu + ib[:, None] + X @ W.T + b - Y) * R
        gX = E @ W + lam * ri[:, None] * X
        gW = E.T @ X + lam * rj[:, None] * W
        gb = E.sum(axis=0) + lamb * b
        gib = E.sum(axis=1) + lamb * ib
        X, W, b = update("X", X, gX, t), update("W", W, gW, t), update("b", b, gb, t)
        if ibmode == "learned":
            ib = update("ib", ib, gib, t)
    P = mu + ib[:, None] + X @ W.T + b
    E = (P - Y) * R
    J = 0.5 * (E ** 2).sum() + 0.5 * lam * ((ri * (X ** 2).sum(1)).sum() + (rj * (W ** 2).sum(1)).sum()) \
        + 0.5 * lamb * ((b ** 2).sum() + ((ib ** 2).sum() if ibmode == "learned" else 0))
    Ec = (np.clip(P, lo, hi) - Y)[R > 0]
    rmse, mae = np.sqrt((Ec ** 2).mean()), np.abs(Ec).mean()
    mX, mW, mb, attrs = load_model(model)
    with h5py.File(model, "r") as f:
        mib, mmu = f["model/item_bias"][:], f["model/mu"][()]
    errs = {"X": rel(mX, X), "W": rel(mW, W), "b": rel(mb, b), "item_bias": rel(mib, ib),
            "mu": abs(mmu - mu) / abs(mu), "final_cost": abs(attrs["final_cost"] - J) / J,
            "train_rmse": abs(attrs["final_train_rmse"] - rmse) / rmse,
            "train_mae": abs(attrs["final_train_mae"] - mae) / mae,
            "clip": abs(attrs["clip_min"] - lo) + abs(attrs["clip_max"] - hi)}
    print(f"{opt[0]} on the whole objective ({ibmode} item bias, clip [{lo}, {hi}]), {steps} "
          "steps: relative errors " + ", ".join(f"{k} {v:.3g}" for k, v in errs.items()))
    return 0 if max(errs.values()) <= tol else 1


def diverge(argv):
    """Plain gradient descent on the objective of gd_full (learned item bias)
    until the cost is no longer finite; the metrics file of cofi's run must
    hold the same costs and end, marked diverged, at the same iteration."""
    import json
    metrics, ckpt, ratings, init, group = argv[0:5]
    lr, lam, lamb, tol = float(argv[5]), float(argv[6]), float(argv[7]), float(argv[8])
    Y, R, y, X, W, b = dense_problem(ratings, init, group)
    ri, rj, mu, ib = R.sum(axis=1), R.sum(axis=0), y.mean(), np.zeros(Y.shape[0])
    costs, params = [], []
    with np.errstate(all="ignore"):
        while len(costs) < 1000:
            E = (mu + ib[:, None] + X @ W.T + b - Y) * R
            J = 0.5 * (E ** 2).sum() + 0.5 * lam * ((ri * (X ** 2).sum(1)).sum() + (rj * (W ** 2).sum(1)).sum()) \
                + 0.5 * lamb * ((b ** 2).sum() + (ib ** 2).sum())
            costs.append(J)
            params.append((X, W, b))
            if not np.isfinite(J):
                break
            gX, gW = E @ W + lam * ri[:, None] * X, E.T @ X + lam * rj[:, None] * W
            gb, gib = E.sum(axis=0) + lamb * b, E.sum(axis=1) + lamb * ib
            X, W, b, ib = X - lr * gX, W - lr * gW, b - lr * gb, ib - lr * gib
    d = json.load(open(metrics))
    got = [e["cost"] for e in d["iterations"]] + [d["final"]["cost"]]
    ok = np.isfinite(costs[-1]) == False and len(got) == len(costs) and got[-1] is None  # noqa: E712
    ok = ok and d["final"]["stop"] == "diverged" and d["output"] is None
    worst = max((abs(g - c) / c for g, c in zip(got[:-1], costs[:-1])), default=0.0)
    print(f"numpy: cost not finite at iteration {len(costs) - 1}; cofi's metrics: {len(got)} costs, "
          f"the last {got[-1]}, stop {d['final']['stop']}; finite costs off by {worst:.3g} relative")
    ok = ok and worst <= tol
    if ckpt != "-":
        with h5py.File(ckpt, "r") as f:
            s = int(f.attrs["step"])
            cX, cW, cb = f["model/X"][:], f["model/W"][:], f["model/b"][:]
        pX, pW, pb = params[s]
        err = max(rel(cX, pX), rel(cW, pW), rel(cb, pb))
        print(f"checkpoint at step {s}: parameters off by {err:.3g} relative")
        ok = ok and err <= tol
    return 0 if ok else 1


def main(argv):
    if argv[0] == "--diverge":
        return diverge(argv[1:])
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
        Y, R, _, X, W, b = dense_problem(ratings, init, group)
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
    if argv[0] == "--gd-full":
        return gd_full(argv[1:])
    model, ref, group, tol = argv[0], argv[1], argv[2], float(argv[3])
    mX, mW, mb, attrs = load_model(model)
    with h5py.File(ref, "r") as f:
        X, W, b = f[group + "/X"][:], f[group + "/W"][:], f[group + "/b"][:]
    err = max(rel(mX, X), rel(mW, W), rel(mb, b))
    print(f"model vs {group}: relative error {err:.3g}")
    return 0 if err <= tol else 1


sys.exit(main(sys.argv[1:]))

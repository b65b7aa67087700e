#!/usr/bin/python3
"""Independent checks for cofi's held-out evaluation (numpy + h5py).

usage:
  check_accuracy.py shift IN OUT DELTA            write IN's ratings + DELTA to OUT
  check_accuracy.py coldsplit IN TRAIN TEST       make a training file whose first
        3 items and 2 users keep their ids but lose their ratings, and a test file
        with pairs of those, of never-seen ids, and ordinary held-out pairs
  check_accuracy.py pairs MODEL TEST PRED         /pairs/prediction = the formula,
        with unknown items/users predicted from the offsets; no NaN; RMSE attribute
  check_accuracy.py cold MODEL                    cold rows of the model are zero
  check_accuracy.py best METRICS MODEL TEST PRED  early stopping kept the best model
"""
import json
import sys

import h5py
import numpy as np


def ids(f, name):
    return [s.decode() if isinstance(s, bytes) else s for s in f[name][:]]


def read(path):
    with h5py.File(path, "r") as f:
        ip, u, y = f["ratings/indptr"][:], f["ratings/user"][:], f["ratings/rating"][:]
        return np.repeat(np.arange(len(ip) - 1), np.diff(ip)), u, y, ids(f, "items/id"), ids(f, "users/id")


def write(path, item, user, y, item_ids, user_ids):
    """cofi's ratings layout; items and users given by their id lists."""
    order = np.lexsort((user, item))
    item, user, y = item[order], user[order], y[order]
    ip = np.zeros(len(item_ids) + 1, np.int64)
    np.add.at(ip, item + 1, 1)
    with h5py.File(path, "w") as f:
        f["ratings/indptr"] = np.cumsum(ip)
        f["ratings/user"] = user.astype(np.int64)
        f["ratings/rating"] = y.astype(np.float64)
        f["items/id"] = np.array([s.encode() for s in item_ids])
        f["users/id"] = np.array([s.encode() for s in user_ids])
        f.attrs.update(format="cofi-ratings", version=1, n_items=len(item_ids),
                       n_users=len(user_ids), nnz=len(y))


def model(path):
    with h5py.File(path, "r") as f:
        m = f["model"]
        return dict(X=m["X"][:], W=m["W"][:], b=m["b"][:], mu=float(m["mu"][()]),
                    ib=m["item_bias"][:], lo=float(f.attrs["clip_min"]), hi=float(f.attrs["clip_max"]),
                    items=ids(f, "items/id"), users=ids(f, "users/id"), attrs=dict(f.attrs))


def predict(m, item_id, user_id):
    """clip(mu + item_bias + x.w + b), leaving out what an unknown id lacks."""
    i = m["items"].index(item_id) if item_id in m["items"] else -1
    j = m["users"].index(user_id) if user_id in m["users"] else -1
    y = m["mu"]
    if i >= 0:
        y += m["ib"][i]
    if j >= 0:
        y += m["b"][j]
    if i >= 0 and j >= 0:
        y += m["X"][i] @ m["W"][j]
    return min(max(y, m["lo"]), m["hi"])


def main(a):
    if a[0] == "shift":
        it, u, y, I, U = read(a[1])
        write(a[2], it, u, y + float(a[3]), I, U)
        return 0
    if a[0] == "coldsplit":
        it, u, y, I, U = read(a[1])
        rng = np.random.default_rng(1)
        cold = (it < 3) | (u < 2)                      # items 0-2 and users 0-1 go cold
        test = cold | (rng.random(len(y)) < 0.15)
        write(a[2], it[~test], u[~test], y[~test], I, U)  # all ids kept, cold ones unrated
        ti, tu, ty = list(it[test]), list(u[test]), list(y[test])
        TI, TU = list(I) + ["NewItem_1", "NewItem_2"], list(U) + ["NewUser_1"]
        for i, j in [(len(I), 5), (len(I) + 1, 7), (4, len(U)), (len(I), len(U))]:
            ti.append(i); tu.append(j); ty.append(float(np.mean(y)))
        write(a[3], np.array(ti), np.array(tu), np.array(ty), TI, TU)
        return 0
    if a[0] == "pairs":
        m = model(a[1])
        it, u, y, I, U = read(a[2])
        with h5py.File(a[3], "r") as f:
            p, attrs = f["pairs/prediction"][:], dict(f.attrs)
        want = np.array([predict(m, I[i], U[j]) for i, j in zip(it, u)])
        kinds = {"known": 0, "item unknown": 0, "user unknown": 0, "both unknown": 0, "cold": 0}
        for i, j in zip(it, u):
            ki, kj = I[i] in m["items"], U[j] in m["users"]
            kinds["known" if ki and kj else "item unknown" if kj else "user unknown" if ki else "both unknown"] += 1
            kinds["cold"] += I[i] in ("Item_0", "Item_1", "Item_2") or U[j] in ("User_0", "User_1")
        err = np.max(np.abs(p - want))
        rmse = np.sqrt(np.mean((want - y) ** 2))
        ok = not np.isnan(p).any() and err < 1e-9 and abs(rmse - attrs["rmse"]) < 1e-9
        print(f"pairs {kinds}: max |cofi - formula| {err:.2e}, RMSE {rmse:.6f} vs {attrs['rmse']:.6f}")
        return 0 if ok else 1
    if a[0] == "cold":
        m = model(a[1])
        ci = [m["items"].index(s) for s in ("Item_0", "Item_1", "Item_2")]
        cu = [m["users"].index(s) for s in ("User_0", "User_1")]
        ok = not np.any(m["X"][ci]) and not np.any(m["ib"][ci]) and not np.any(m["W"][cu]) \
            and not np.any(m["b"][cu]) and np.all(np.abs(m["X"]).sum(1)[3:] > 0)
        print(f"cold rows zero: {ok}")
        return 0 if ok else 1
    if a[0] == "best":
        d = json.load(open(a[1]))
        evals = [(e["iter"], e["val_rmse"]) for e in d["iterations"] if e["val_rmse"] is not None]
        best_it, best = min(evals, key=lambda e: e[1])
        with h5py.File(a[4], "r") as f:
            saved = float(f.attrs["rmse"])
        fin = d["final"]
        ok = (fin["stop"] == "early" and fin["best_iteration"] == best_it and
              abs(fin["best_val_rmse"] - best) < 1e-12 and abs(saved - best) < 1e-9 and
              evals[-1][1] > best + 1e-6 and fin["iterations"] < d["config"]["iterations"])
        print(f"early stop at {fin['iterations']}: best {best:.6f} at {best_it}, last {evals[-1][1]:.6f}, "
              f"saved model scores {saved:.6f}")
        return 0 if ok else 1
    return 2


sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""Write cofi's corpus of bad ratings files (and one good one) with h5py.

usage: make_bad_inputs.py OUTDIR

Each case is a file OUTDIR/<name>.h5 plus a line "<name>\t<message fragment>"
in OUTDIR/cases.tsv: the fragment must appear in cofi's one error message.
The good file OUTDIR/good.h5 follows the documented layout, written here
independently of cofi.
"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
cases = []

N_ITEMS, N_USERS = 6, 5
INDPTR = np.array([0, 2, 3, 3, 6, 8, 10], dtype=np.int64)
USER = np.array([0, 3, 1, 0, 2, 4, 1, 3, 0, 4], dtype=np.int64)
RATING = np.array([5, 3, 4, 1, 2, 5, 3, 3, 4, 1], dtype=np.float64)


def write(name, fragment, indptr=INDPTR, user=USER, rating=RATING, attrs=None,
          skip=(), n_items=N_ITEMS, n_users=N_USERS, nnz=None):
    path = os.path.join(out, name + ".h5")
    with h5py.File(path, "w") as f:
        if "indptr" not in skip:
            f["ratings/indptr"] = indptr
        if "user" not in skip:
            f["ratings/user"] = user
        if "rating" not in skip:
            f["ratings/rating"] = rating
        f["items/id"] = np.array([b"i%d" % i for i in range(N_ITEMS)])
        f["users/id"] = np.array([b"u%d" % j for j in range(N_USERS)])
        a = {"format": "cofi-ratings", "version": 1, "n_items": n_items,
             "n_users": n_users, "nnz": len(rating) if nnz is None else nnz}
        a.update(attrs or {})
        for k, v in a.items():
            if v is not None:
                f.attrs[k] = v
    if fragment:
        cases.append((name, fragment))
    return path


good = write("good", None)

# not files, not HDF5
os.makedirs(os.path.join(out, "adir.h5"), exist_ok=True)
cases.append(("adir", "is a directory"))
cases.append(("missing", "No such file or directory"))
with open(os.path.join(out, "text.h5"), "w") as f:
    f.write("item,user,rating\n1,2,3\n")
cases.append(("text", "not an HDF5 file"))
open(os.path.join(out, "empty.h5"), "w").close()
cases.append(("empty", "is empty"))
data = open(good, "rb").read()
with open(os.path.join(out, "truncated.h5"), "wb") as f:
    f.write(data[: len(data) // 2])
cases.append(("truncated", "damaged"))
with open(os.path.join(out, "truncated_head.h5"), "wb") as f:
    f.write(data[:600])
cases.append(("truncated_head", "damaged"))

# wrong layout
write("no_format", "not a cofi ratings file", attrs={"format": None})
write("other_format", "not a cofi ratings file", attrs={"format": "cofi-model"})
write("future_version", "version 99", attrs={"version": 99})
write("no_user", "'/ratings/user' is missing", skip=("user",))
write("no_rating", "'/ratings/rating' is missing", skip=("rating",))
write("no_nnz_attr", "attribute 'nnz' of '/' is missing", attrs={"nnz": None})
write("short_user", "must be 1-D with 10 entries", user=USER[:-1])
write("rating_2d", "must be 1-D", rating=RATING.reshape(5, 2), nnz=10)
write("float_user", "must hold integers", user=USER.astype(np.float64))
write("string_rating", "must hold numbers", rating=np.array([b"x"] * 10), nnz=10)
write("float_nitems", "must be one integer", attrs={"n_items": 6.5})
write("negative_items", "bad sizes", attrs={"n_items": -5})
write("huge_users", "of memory is available", attrs={"n_users": 10**15})
write("too_many_ratings", "cannot fit", attrs={"n_users": 1})
write("empty_dataset", "has no ratings", indptr=np.zeros(7, np.int64),
      user=np.zeros(0, np.int64), rating=np.zeros(0))

# bad values
write("nan", "is nan", rating=np.where(np.arange(10) == 4, np.nan, RATING))
write("inf", "is inf", rating=np.where(np.arange(10) == 9, np.inf, RATING))
write("user_too_big", "out of range", user=np.where(np.arange(10) == 5, 5, USER))
write("user_negative", "out of range", user=np.where(np.arange(10) == 0, -1, USER))
u = USER.copy(); u[3], u[4] = u[4], u[3]
write("unsorted", "not sorted", user=u)
u = USER.copy(); u[7] = u[6]
write("duplicate", "duplicated", user=u)
write("indptr_decreasing", "indptr decreases", indptr=np.array([0, 2, 1, 3, 6, 8, 10]))
write("indptr_end", "ends at", indptr=np.array([0, 2, 3, 3, 6, 8, 9]))
write("indptr_start", "must be 0", indptr=np.array([1, 2, 3, 3, 6, 8, 10]))

with open(os.path.join(out, "cases.tsv"), "w") as f:
    for name, frag in cases:
        f.write(f"{name}\t{frag}\n")
print(f"{len(cases)} bad inputs written to {out}")

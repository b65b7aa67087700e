#!/usr/bin/env python3
"""check_convert.py - check a ratings file written by `cofi convert`.

Usage: check_convert.py FORMAT TEXTFILE H5FILE

Parses TEXTFILE on its own (plain Python, sharing no code with cofi) as one of
movielens-100k, movielens-csv, movielens-dat, triplets, dense; orders the ids
the way cofi documents (numerically when every id of a dimension is an int64,
ties by text; otherwise by first appearance); and compares the result with
H5FILE, which must hold exactly:

  /ratings/indptr  int64 (n_items + 1), indptr[0] = 0, indptr[-1] = nnz
  /ratings/user    int64 (nnz), strictly increasing within each item's row
  /ratings/rating  float64 (nnz)
  /items/id        strings (n_items), the item ids in order
  /users/id        strings (n_users), the user ids in order
  root attributes  n_items, n_users, nnz (integers), format = "cofi-ratings",
                   version = 1

Every rating of the text must sit at its (item id, user id) position with the
same value, bit for bit, and nothing else may be there.  Prints one summary
line; exits 0 when everything matches, 1 with a message otherwise.

The text rules mirror cofi's parser: LF or CRLF lines, a UTF-8 byte order mark
skipped, blank lines and lines whose first non-blank character is '#' skipped,
fields trimmed of ASCII whitespace, ratings that parse completely as a finite
number (C strtod syntax), a NUL byte anywhere rejected.
"""

import re
import sys

FORMATS = ("movielens-100k", "movielens-csv", "movielens-dat", "triplets", "dense")
WS = b" \t\r\x0b\x0c"
CSV_HEADER = [b"userId", b"movieId", b"rating", b"timestamp"]

# What C strtod accepts, written out: decimal, hexadecimal, inf/nan forms.
DEC_RE = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
HEX_RE = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
NONFINITE_RE = re.compile(rb"[+-]?(?:inf|infinity|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
INT_RE = re.compile(rb"[+-]?[0-9]+")


class Mismatch(Exception):
    """The text or the HDF5 file is not what it should be."""


def number(field):
    """('ok', value) | ('bad', None) | ('nonfinite', None) | ('range', None)."""
    if DEC_RE.fullmatch(field):
        v = float(field.decode("ascii"))
        return ("range", None) if v in (float("inf"), float("-inf")) else ("ok", v)
    if HEX_RE.fullmatch(field):
        try:
            return ("ok", float.fromhex(field.decode("ascii")))
        except OverflowError:
            return ("range", None)
    if NONFINITE_RE.fullmatch(field):
        return ("nonfinite", None)
    return ("bad", None)


def int64_value(ident):
    if not INT_RE.fullmatch(ident):
        return None
    v = int(ident)
    return v if -(2**63) <= v < 2**63 else None


class Ids:
    """Ids of one dimension in order of first appearance."""

    def __init__(self):
        self.index = {}
        self.names = []

    def get(self, name):
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
        return self.index[name]

    def ordered(self):
        values = [int64_value(n) for n in self.names]
        if self.names and all(v is not None for v in values):
            return [n for _, n in sorted(zip(values, self.names))]
        return list(self.names)


def show(b):
    return b.decode("utf-8", "replace")


class TextRatings:
    """The ratings of a text file: {(item id, user id): rating}."""

    def __init__(self, fmt, path):
        self.fmt, self.path = fmt, path
        self.items, self.users = Ids(), Ids()
        self.ratings = {}  # (item, user) -> (rating, line)
        self.lineno = 0
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        first = True
        header_cells = None
        for self.lineno, raw in enumerate(data.split(b"\n"), 1):
            if b"\0" in raw:
                self.fail("NUL byte")
            t = raw.strip(WS)
            if not t or t.startswith(b"#"):
                continue
            if fmt == "movielens-100k":
                f = t.split()
                self.want(f, 4)
                self.add(f[1], f[0], f[2])
            elif fmt == "movielens-csv":
                f = [x.strip(WS) for x in t.split(b",")]
                if first:
                    if f != CSV_HEADER:
                        self.fail("not the header userId,movieId,rating,timestamp")
                else:
                    self.want(f, 4)
                    self.add(f[1], f[0], f[2])
            elif fmt == "movielens-dat":
                f = [x.strip(WS) for x in t.split(b"::")]
                self.want(f, 4)
                self.add(f[1], f[0], f[2])
            elif fmt == "triplets":
                f = [x.strip(WS) for x in t.split(b",")] if b"," in t else t.split()
                self.want(f, 3)
                if not (first and f[2] and number(f[2])[0] == "bad"):
                    self.add(f[0], f[1], f[2])
            elif first:  # dense header
                sep = b"\t" if b"\t" in raw and b"," not in raw else b","
                header_cells = [x.strip(WS) for x in raw.split(sep)]
                if len(header_cells) < 2:
                    self.fail("the header names no users")
                for u in header_cells[1:]:
                    if not u:
                        self.fail("empty user name")
                    if u in self.users.index:
                        self.fail("duplicate user name '%s'" % show(u))
                    self.users.get(u)
            else:  # dense row
                if all(c in WS or c == sep[0] for c in raw):
                    continue
                cells = [x.strip(WS) for x in raw.split(sep)]
                if len(cells) != len(header_cells):
                    self.fail("%d cells, the header has %d" % (len(cells), len(header_cells)))
                if not cells[0]:
                    self.fail("empty item name")
                if cells[0] in self.items.index:
                    self.fail("duplicate item name '%s'" % show(cells[0]))
                self.items.get(cells[0])
                for u, c in zip(header_cells[1:], cells[1:]):
                    if c:
                        self.add(cells[0], u, c)
            first = False
        if not self.ratings:
            raise Mismatch("'%s': no ratings found" % path)

    def fail(self, what):
        raise Mismatch("'%s' line %d: %s (cofi should have rejected it)" % (self.path, self.lineno, what))

    def want(self, fields, n):
        if len(fields) != n:
            self.fail("%d fields, expected %d" % (len(fields), n))

    def add(self, item, user, rating):
        if not item or not user:
            self.fail("empty id")
        kind, v = number(rating)
        if kind != "ok":
            self.fail("rating '%s': %s" % (show(rating), kind))
        self.items.get(item)
        self.users.get(user)
        key = (item, user)
        if key in self.ratings:
            self.fail("duplicate of line %d" % self.ratings[key][1])
        self.ratings[key] = (v, self.lineno)


def as_bytes(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    import numpy as np

    if isinstance(x, np.ndarray) and x.shape in ((), (1,)):
        return as_bytes(x.reshape(-1)[0])
    if isinstance(x, np.bytes_):
        return bytes(x)
    raise Mismatch("expected a string, found %r" % (x,))


def scalar_int(x, what):
    import numpy as np

    a = np.asarray(x)
    if a.shape not in ((), (1,)) or a.dtype.kind not in "iu":
        raise Mismatch("attribute %s: expected an integer, found %r" % (what, x))
    return int(a.reshape(-1)[0])


def check_h5(text, h5path):
    import h5py
    import numpy as np

    items, users = text.items.ordered(), text.users.ordered()
    ni, nu, nnz = len(items), len(users), len(text.ratings)
    with h5py.File(h5path, "r") as f:
        for name in ("n_items", "n_users", "nnz", "format", "version"):
            if name not in f.attrs:
                raise Mismatch("'%s': no root attribute '%s'" % (h5path, name))
        fmt = as_bytes(f.attrs["format"])
        if fmt != b"cofi-ratings":
            raise Mismatch("attribute format is '%s', expected 'cofi-ratings'" % show(fmt))
        got = {k: scalar_int(f.attrs[k], k) for k in ("version", "n_items", "n_users", "nnz")}
        want = {"version": 1, "n_items": ni, "n_users": nu, "nnz": nnz}
        for k in want:
            if got[k] != want[k]:
                raise Mismatch("attribute %s is %d, expected %d" % (k, got[k], want[k]))

        def dataset(name, kind, n):
            if name not in f:
                raise Mismatch("'%s': no dataset '%s'" % (h5path, name))
            d = f[name]
            if kind is not None and (d.dtype.kind != kind or d.dtype.itemsize != 8):
                raise Mismatch("%s has type %s, expected %s" % (name, d.dtype,
                                                                "int64" if kind == "i" else "float64"))
            if d.shape != (n,):
                raise Mismatch("%s has shape %s, expected (%d,)" % (name, d.shape, n))
            return d[()]

        for name, want_ids in (("/items/id", items), ("/users/id", users)):
            d = dataset(name, None, len(want_ids))
            if f[name].dtype.kind not in "SOU":
                raise Mismatch("%s has type %s, expected strings" % (name, f[name].dtype))
            got_ids = [as_bytes(x) for x in d]
            for k, (g, w) in enumerate(zip(got_ids, want_ids)):
                if g != w:
                    raise Mismatch("%s[%d] is '%s', expected '%s'" % (name, k, show(g), show(w)))

        indptr = dataset("/ratings/indptr", "i", ni + 1)
        user = dataset("/ratings/user", "i", nnz)
        rating = dataset("/ratings/rating", "f", nnz)

    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
        raise Mismatch("/ratings/indptr is not a row pointer from 0 to %d: %s" % (nnz, indptr[:10]))
    if nnz and (user.min() < 0 or user.max() >= nu):
        raise Mismatch("/ratings/user holds an index outside 0..%d" % (nu - 1))
    iidx = {name: k for k, name in enumerate(items)}
    uidx = {name: k for k, name in enumerate(users)}
    want_rows = [[] for _ in range(ni)]
    for (it, us), (v, _) in text.ratings.items():
        want_rows[iidx[it]].append((uidx[us], v))
    for i in range(ni):
        row = sorted(want_rows[i])
        lo, hi = int(indptr[i]), int(indptr[i + 1])
        got_users = [int(u) for u in user[lo:hi]]
        if any(b <= a for a, b in zip(got_users, got_users[1:])):
            raise Mismatch("row of item '%s': users not strictly increasing: %s"
                           % (show(items[i]), got_users))
        if got_users != [u for u, _ in row]:
            raise Mismatch("row of item '%s': users %s, expected %s"
                           % (show(items[i]), [show(users[u]) for u in got_users if 0 <= u < nu],
                              [show(users[u]) for u, _ in row]))
        for k, (u, v) in enumerate(row):
            g = float(rating[lo + k])
            if not (g == v and np.signbit(g) == np.signbit(v)):
                raise Mismatch("rating of item '%s', user '%s' is %r, expected %r"
                               % (show(items[i]), show(users[u]), g, v))
    return ni, nu, nnz


def main(argv):
    if len(argv) != 4 or argv[1] not in FORMATS:
        sys.stderr.write("usage: check_convert.py {%s} TEXTFILE H5FILE\n" % ",".join(FORMATS))
        return 2
    fmt, textpath, h5path = argv[1:]
    try:
        text = TextRatings(fmt, textpath)
        ni, nu, nnz = check_h5(text, h5path)
    except (Mismatch, OSError) as e:
        print("check_convert: FAIL: %s" % e)
        return 1
    except Exception as e:  # a malformed file h5py cannot even describe
        print("check_convert: FAIL: '%s' is not a cofi ratings file: %s: %s"
              % (h5path, type(e).__name__, e))
        return 1
    print("check_convert: ok: %s '%s' = '%s': %d items, %d users, %d ratings"
          % (fmt, textpath, h5path, ni, nu, nnz))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""Independent checks of the SLURM jobs' and the scaling tools' outputs.

usage:
  slurm_checks.py png FILE...
        each FILE is a complete PNG: signature, every chunk's CRC, IHDR first,
        IEND last, and the image data inflate to height x (1 + width x bytes
        per pixel) bytes
  slurm_checks.py metrics DIR PREFIX RATINGS ITERS R:T...
        DIR/PREFIX_rR_tT.json exists for exactly the given R:T pairs, is valid
        JSON, says R ranks and T threads, ran ITERS iterations, has one entry
        per rank whose ratings add up to data.nnz, and data.nnz is the nnz of
        RATINGS (an HDF5 ratings file; '-' skips this)
  slurm_checks.py weak DIR PER_RANK USERS MISSING R:T...
        DIR/weak_rR_tT.json: n_items = ceil(PER_RANK R / (USERS (1 - MISSING))),
        n_users = USERS and nnz within 5 sigma of n_items USERS (1 - MISSING)
  slurm_checks.py repeat LOG DIR KIND N
        every 'best of' line of tools/scaling's LOG names the least of N times,
        and that is the median of the metrics file kept in DIR
  slurm_checks.py csv CSV FILE.json...
        the CSV has exactly one row per FILE.json and its numbers equal the
        ones computed here from the JSON (median of the per-iteration times
        without the first; speedup = rate / rate of the fewest-cores run of
        the same kind; efficiency = speedup / (cores / base cores)), to 1e-9
"""
import csv
import glob
import json
import math
import os
import re
import struct
import sys
import zlib

import numpy as np


def fail(msg):
    print(f"FAIL: {msg}")
    return 1


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return f"{path}: no PNG signature"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        if pos + 8 > len(data):
            return f"{path}: truncated chunk header at {pos}"
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            return f"{path}: truncated {ctype!r} chunk"
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            return f"{path}: bad CRC in {ctype!r}"
        chunks.append((ctype, body))
        if ctype == b"IDAT":
            idat += body
        pos += 12 + length
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        return f"{path}: IHDR not first or IEND not last"
    w, h, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if not w or not h or channels is None or depth != 8:
        return f"{path}: unexpected IHDR {w}x{h} depth {depth} colour {colour}"
    raw = zlib.decompress(idat)
    if len(raw) != h * (1 + w * channels):
        return f"{path}: image data {len(raw)} bytes, expected {h * (1 + w * channels)}"
    print(f"{path}: valid PNG {w}x{h}")
    return None


def pairs(args):
    out = []
    for a in args:
        r, t = a.split(":")
        out.append((int(r), int(t)))
    return out


def load(path):
    with open(path) as f:
        return json.load(f)


def cmd_metrics(argv):
    d, prefix, ratings, iters = argv[0], argv[1], argv[2], int(argv[3])
    want = pairs(argv[4:])
    present = sorted(glob.glob(os.path.join(d, prefix + "_r*_t*.json")))
    names = sorted(os.path.join(d, f"{prefix}_r{r}_t{t}.json") for r, t in want)
    if present != names:
        return fail(f"metrics files {present}, expected {names}")
    nnz_file = None
    if ratings != "-":
        import h5py
        with h5py.File(ratings, "r") as f:
            nnz_file = int(f.attrs["nnz"])
    for r, t in want:
        path = os.path.join(d, f"{prefix}_r{r}_t{t}.json")
        m = load(path)
        if (m["ranks"], m["threads"]) != (r, t):
            return fail(f"{path}: {m['ranks']} ranks x {m['threads']} threads, expected {r} x {t}")
        if m["final"]["iterations"] != iters or len(m["iterations"]) != iters:
            return fail(f"{path}: {m['final']['iterations']} iterations, expected {iters}")
        pr = m["per_rank"]
        for key in ("compute", "allreduce", "io", "total", "ratings", "items"):
            if len(pr[key]) != r:
                return fail(f"{path}: per_rank.{key} has {len(pr[key])} entries for {r} ranks")
        if sum(pr["ratings"]) != m["data"]["nnz"]:
            return fail(f"{path}: per-rank ratings add up to {sum(pr['ratings'])}, nnz {m['data']['nnz']}")
        if sum(pr["items"]) != m["data"]["n_items"]:
            return fail(f"{path}: per-rank items add up to {sum(pr['items'])}")
        if nnz_file is not None and m["data"]["nnz"] != nnz_file:
            return fail(f"{path}: nnz {m['data']['nnz']}, the ratings file has {nnz_file}")
        if m["final"]["stop"] != "done":
            return fail(f"{path}: stop = {m['final']['stop']}")
    print(f"{len(want)} metrics files in {d}: ranks, threads, iterations and nnz as expected")
    return 0


def cmd_weak(argv):
    d, per_rank, users, missing = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    for r, t in pairs(argv[4:]):
        path = os.path.join(d, f"weak_r{r}_t{t}.json")
        m = load(path)["data"]
        items = math.ceil(per_rank * r / (users * (1 - missing)))
        if m["n_items"] != items or m["n_users"] != users:
            return fail(f"{path}: {m['n_items']} x {m['n_users']}, expected {items} x {users}")
        cells = items * users
        mean = cells * (1 - missing)
        sigma = math.sqrt(cells * missing * (1 - missing))
        if abs(m["nnz"] - mean) > 5 * sigma:
            return fail(f"{path}: nnz {m['nnz']} vs expected {mean:.0f} +- {5 * sigma:.0f}")
        print(f"{path}: {items} x {users}, nnz {m['nnz']} ~ {mean:.0f} ({m['nnz'] / r:.0f} per rank)")
    return 0


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def cmd_csv(argv):
    path, files = argv[0], argv[1:]
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(files):
        return fail(f"{path}: {len(rows)} rows for {len(files)} metrics files")
    expect = {}
    for fp in files:
        m = load(fp)
        secs = np.array([it["seconds"] for it in m["iterations"]], dtype=float)
        kind = re.match(r"(strong|weak)_", os.path.basename(fp))
        expect[os.path.realpath(fp)] = {
            "kind": kind.group(1) if kind else "run",
            "ranks": m["ranks"], "threads": m["threads"], "cores": m["ranks"] * m["threads"],
            "nnz": m["data"]["nnz"], "n_items": m["data"]["n_items"], "n_users": m["data"]["n_users"],
            "iterations": len(secs),
            "sec_per_iter": float(np.median(secs[1:])),
            "compute_mean": m["time"]["compute"]["mean"], "compute_max": m["time"]["compute"]["max"],
            "allreduce_mean": m["time"]["allreduce"]["mean"],
            "allreduce_max": m["time"]["allreduce"]["max"],
            "io_mean": m["time"]["io"]["mean"], "io_max": m["time"]["io"]["max"],
            "total_max": m["time"]["total"]["max"],
            "peak_rss_bytes": max(m["per_rank"]["peak_rss_bytes"]),
        }
    # the baseline of each kind: the fewest cores, then the fewest ranks
    for kind in {e["kind"] for e in expect.values()}:
        group = [e for e in expect.values() if e["kind"] == kind]
        base = min(group, key=lambda e: (e["cores"], e["ranks"]))
        for e in group:
            if kind == "strong":
                e["speedup"] = base["sec_per_iter"] / e["sec_per_iter"]
            else:
                e["speedup"] = (e["nnz"] / e["sec_per_iter"]) / (base["nnz"] / base["sec_per_iter"])
            e["efficiency"] = e["speedup"] * base["cores"] / e["cores"]
    seen = set()
    for row in rows:
        key = os.path.realpath(row["file"])
        if key not in expect:
            return fail(f"{path}: row for unexpected file {row['file']}")
        seen.add(key)
        e = expect[key]
        if row["kind"] != e["kind"]:
            return fail(f"{row['file']}: kind {row['kind']}, expected {e['kind']}")
        for col in ("ranks", "threads", "cores", "nnz", "n_items", "n_users", "iterations",
                    "peak_rss_bytes"):
            if int(row[col]) != e[col]:
                return fail(f"{row['file']}: {col} = {row[col]}, expected {e[col]}")
        for col in ("sec_per_iter", "compute_mean", "compute_max", "allreduce_mean", "allreduce_max",
                    "io_mean", "io_max", "total_max", "speedup", "efficiency"):
            if not close(float(row[col]), e[col]):
                return fail(f"{row['file']}: {col} = {row[col]}, expected {e[col]!r}")
    if len(seen) != len(expect):
        return fail(f"{path}: some metrics files have no row")
    for key, e in sorted(expect.items(), key=lambda kv: (kv[1]["kind"], kv[1]["cores"], kv[1]["ranks"])):
        print(f"  {e['kind']:6} {e['ranks']} x {e['threads']}: {e['sec_per_iter']:.6f} s/iter, "
              f"speedup {e['speedup']:.3f}, efficiency {e['efficiency']:.3f}")
    print(f"{path}: {len(rows)} rows match the metrics files")
    return 0


def cmd_repeat(argv):
    """Each 'KIND R ranks x T threads: X s/iteration (best of a, b, ...)' line of
    LOG: X is the least of the repeats and the kept metrics file's median."""
    log, d, kind, n = argv[0], argv[1], argv[2], int(argv[3])
    pat = re.compile(kind + r" (\d+) ranks x (\d+) threads: ([0-9.]+) s/iteration \(best of ([0-9., ]+)\)")
    found = 0
    for line in open(log):
        mt = pat.search(line)
        if not mt:
            continue
        r, t, best = int(mt.group(1)), int(mt.group(2)), float(mt.group(3))
        reps = [float(x) for x in mt.group(4).split(",")]
        if len(reps) != n or best != min(reps):
            return fail(f"{line.strip()}: not the least of {n} repeats")
        secs = [it["seconds"] for it in load(os.path.join(d, f"{kind}_r{r}_t{t}.json"))["iterations"]]
        if abs(float(np.median(secs[1:])) - best) > 6e-6:
            return fail(f"{line.strip()}: the kept metrics file's median is {np.median(secs[1:])}")
        found += 1
    print(f"{found} configurations kept their fastest of {n} runs")
    return 0 if found else fail(f"no 'best of' lines in {log}")


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "png":
        errors = [e for e in (check_png(p) for p in rest) if e]
        for e in errors:
            print(f"FAIL: {e}")
        return 1 if errors or not rest else 0
    if cmd == "metrics":
        return cmd_metrics(rest)
    if cmd == "weak":
        return cmd_weak(rest)
    if cmd == "repeat":
        return cmd_repeat(rest)
    if cmd == "csv":
        return cmd_csv(rest)
    print(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, KeyError, ValueError) as e:
        print(f"FAIL: {type(e).__name__}: {e}")
        sys.exit(1)

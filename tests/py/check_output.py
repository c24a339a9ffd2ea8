#!/usr/bin/python3
"""Strict checker for ddkit's parallel HDF5/XDMF output (src/io/output.rs).

Usage:
    check_output.py FILE.xdmf EXPECT

EXPECT is a JSON file, or a JSON object given inline (an argument starting with "{").
Keys (all optional except num_points and num_cells):

    num_points   int      global number of points
    num_cells    int      global number of cells
    gdim         int      number of coordinate columns (2 or 3)
    cell_type    str      meshio cell type of the single cell block ("quad", "triangle", "triangle6",
                          "tetra10", ...)
    times        [float]  the snapshot times, in order (a run without snapshots has [0.0])
    time_tol     float    absolute tolerance on times (default 1e-12)
    fields       {name: "point"|"cell"}  fields that must be present at every step with the
                 right length; "rank" (cell) is always expected and need not be listed
    exact_fields bool     (default true) no field other than those listed (and "rank") may appear
    ranks        int      the run's rank count: "rank" values must be integers in [0, ranks)
    last         {name: {"min": x, "max": y, "ref": [values] | "file.npy" | "file.json",
                         "rtol": r, "atol": a}}
                 checks on a field at the last step: bounds (with atol), and/or elementwise
                 closeness to reference values (default rtol 0, atol 0: bitwise equality);
                 a relative ref path is taken relative to the EXPECT file's directory
    static       {name: {"min": x, "max": y, "atol": a, "center": "point"|"cell"}}
                 checks on /static/NAME read directly with h5py: its length (num_points or
                 num_cells by center, default cell) and bounds, and that the bounds are
                 attained (min(v) == x and max(v) == y to atol), e.g. a coefficient's extremes

Checks made: the .h5 named by the XDMF opens with h5py; /mesh/geometry is (num_points, gdim)
float64; /mesh/topology is (num_cells, nv) with every id in [0, num_points); /times matches
the times (or is empty for a run without snapshots); meshio.xdmf.TimeSeriesReader reads the
points, one cell block and every step, whose time and fields match; all field values are finite.

Prints one line "check_output: OK ..." and exits 0, or prints "check_output: FAIL <reason>" and
exits 1.
"""

import json
import math
import os
import sys
import xml.etree.ElementTree as ET


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def load_expect(arg):
    if arg.lstrip().startswith("{"):
        return json.loads(arg), os.getcwd()
    with open(arg) as f:
        return json.load(f), os.path.dirname(os.path.abspath(arg))


def load_ref(ref, base):
    import numpy as np

    if isinstance(ref, list):
        return np.asarray(ref, dtype=float)
    path = ref if os.path.isabs(ref) else os.path.join(base, ref)
    if path.endswith(".npy"):
        return np.load(path)
    with open(path) as f:
        return np.asarray(json.load(f), dtype=float)


def h5_file_of(xdmf):
    """The .h5 file that the XDMF's Geometry DataItem refers to."""
    root = ET.parse(xdmf).getroot()
    item = root.find(".//Geometry/DataItem")
    need(item is not None, f"{xdmf}: no Geometry DataItem")
    need(item.get("Format") == "HDF", f"{xdmf}: geometry is not stored in HDF5")
    name = item.text.strip().split(":")[0]
    return os.path.join(os.path.dirname(os.path.abspath(xdmf)), name)


def check_h5(h5, exp):
    import h5py
    import numpy as np

    npts, ncells = exp["num_points"], exp["num_cells"]
    with h5py.File(h5, "r") as f:
        geo, top = f["mesh/geometry"], f["mesh/topology"]
        need(geo.dtype == np.float64, f"{h5}: geometry dtype {geo.dtype}")
        need(geo.ndim == 2 and geo.shape[0] == npts, f"{h5}: geometry shape {geo.shape}, expected ({npts}, gdim)")
        if "gdim" in exp:
            need(geo.shape[1] == exp["gdim"], f"{h5}: geometry has {geo.shape[1]} columns, expected {exp['gdim']}")
        need(geo.shape[1] in (2, 3), f"{h5}: geometry has {geo.shape[1]} columns")
        need(top.dtype.kind in "iu", f"{h5}: topology dtype {top.dtype}")
        need(top.ndim == 2 and top.shape[0] == ncells, f"{h5}: topology shape {top.shape}, expected ({ncells}, nv)")
        t = top[()]
        if t.size:
            need(t.min() >= 0 and t.max() < npts, f"{h5}: topology ids in [{t.min()}, {t.max()}], points {npts}")
        need(np.all(np.isfinite(geo[()])), f"{h5}: non-finite coordinates")
        need("times" in f, f"{h5}: no /times dataset")
        times = f["times"][()]
        for name, spec in exp.get("static", {}).items():
            need(f"static/{name}" in f, f"{h5}: no /static/{name}")
            v = f[f"static/{name}"][()]
            want = npts if spec.get("center", "cell") == "point" else ncells
            need(v.shape == (want,), f"{h5}: /static/{name} shape {v.shape}, expected ({want},)")
            atol = spec.get("atol", 0.0)
            for key, got in (("min", v.min()), ("max", v.max())):
                if key in spec:
                    need(abs(got - spec[key]) <= atol, f"{h5}: {key}(/static/{name}) = {got!r}, expected {spec[key]!r}")
        return geo.shape[1], top.shape[1], times


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    xdmf = argv[1]
    import meshio
    import numpy as np

    try:
        exp, base = load_expect(argv[2])
        need("num_points" in exp and "num_cells" in exp, "EXPECT needs num_points and num_cells")
        npts, ncells = exp["num_points"], exp["num_cells"]
        h5 = h5_file_of(xdmf)
        gdim, nv, h5_times = check_h5(h5, exp)

        fields = {"rank": "cell"}
        fields.update(exp.get("fields", {}))
        for name, c in fields.items():
            need(c in ("point", "cell"), f"EXPECT: field {name}: center must be point or cell")
        exact = exp.get("exact_fields", True)
        tol = exp.get("time_tol", 1e-12)

        times, last = [], None
        with meshio.xdmf.TimeSeriesReader(xdmf) as reader:
            points, cells = reader.read_points_cells()
            need(points.shape == (npts, gdim), f"meshio: points shape {points.shape}, expected ({npts}, {gdim})")
            need(len(cells) == 1, f"meshio: {len(cells)} cell blocks, expected 1")
            block = cells[0]
            need(block.data.shape == (ncells, nv), f"meshio: cells shape {block.data.shape}")
            if "cell_type" in exp:
                need(block.type == exp["cell_type"], f"meshio: cell type {block.type}, expected {exp['cell_type']}")
            need(reader.num_steps >= 1, "meshio: no time steps")
            for k in range(reader.num_steps):
                t, pd, cd = reader.read_data(k)
                times.append(t)
                have = {n: "point" for n in pd}
                for n, blocks in cd.items():
                    need(n not in have, f"step {k}: field {n} is both point and cell data")
                    need(len(blocks) == 1, f"step {k}: cell field {n} has {len(blocks)} blocks")
                    have[n] = "cell"
                for n, c in fields.items():
                    need(n in have, f"step {k} (t={t}): field {n} missing (have {sorted(have)})")
                    need(have[n] == c, f"step {k}: field {n} is {have[n]} data, expected {c}")
                if exact:
                    extra = sorted(set(have) - set(fields))
                    need(not extra, f"step {k}: unexpected fields {extra}")
                values = {n: np.asarray(v) for n, v in pd.items()}
                values.update({n: np.asarray(v[0]) for n, v in cd.items()})
                for n, v in values.items():
                    want = npts if have[n] == "point" else ncells
                    need(v.shape == (want,), f"step {k}: field {n} shape {v.shape}, expected ({want},)")
                    need(np.all(np.isfinite(v)), f"step {k}: field {n} has non-finite values")
                last = values

        if "times" in exp:
            want = exp["times"]
            need(len(times) == len(want), f"{len(times)} steps {times}, expected {len(want)} {want}")
            for a, b in zip(times, want):
                need(abs(a - b) <= tol, f"times {times}, expected {want}")
        if len(h5_times):
            need(list(h5_times) == times, f"/times {list(h5_times)} differs from the XDMF times {times}")
        else:
            need(times == [0.0], f"/times is empty but the XDMF has times {times}")

        rank = last["rank"]
        need(np.all(rank == np.round(rank)), "rank field has non-integer values")
        if "ranks" in exp:
            if rank.size:
                need(rank.min() >= 0 and rank.max() < exp["ranks"], f"rank values in [{rank.min()}, {rank.max()}], ranks {exp['ranks']}")

        for n, spec in exp.get("last", {}).items():
            need(n in last, f"last step: no field {n}")
            v = last[n]
            atol = spec.get("atol", 0.0)
            if "min" in spec:
                need(v.min() >= spec["min"] - atol, f"last step: min({n}) = {v.min()!r} < {spec['min']!r}")
            if "max" in spec:
                need(v.max() <= spec["max"] + atol, f"last step: max({n}) = {v.max()!r} > {spec['max']!r}")
            if "ref" in spec:
                ref = load_ref(spec["ref"], base).ravel()
                need(ref.shape == v.shape, f"last step: {n} has {v.size} values, reference {ref.size}")
                rtol = spec.get("rtol", 0.0)
                err = np.abs(v - ref)
                bad = err > atol + rtol * np.abs(ref)
                if np.any(bad):
                    i = int(np.argmax(bad))
                    raise Fail(f"last step: {n}[{i}] = {v[i]!r}, reference {ref[i]!r} ({int(bad.sum())} entries differ)")
    except Fail as e:
        print(f"check_output: FAIL {e}")
        return 1
    except Exception as e:  # unreadable file, missing dataset, malformed XDMF or EXPECT
        print(f"check_output: FAIL {type(e).__name__}: {e}")
        return 1

    nranks = len(np.unique(rank)) if rank.size else 0
    print(
        f"check_output: OK {os.path.basename(xdmf)}: {npts} points, {ncells} cells, "
        f"{len(times)} steps t={times[0]:g}..{times[-1]:g}, fields {sorted(fields)}, "
        f"{nranks} owning ranks"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

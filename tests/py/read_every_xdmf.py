#!/usr/bin/python3
"""Reads every .xdmf file below the given directories with meshio, as a ParaView user's script
would: a time series (a temporal collection) with meshio.xdmf.TimeSeriesReader, every step and
every field; a single mesh with meshio.read. Each file must have points, one or more cell
blocks whose ids lie in range, and finite field values of the right length (one value or one
vector per point or cell).

Usage: read_every_xdmf.py DIR [DIR ...]
Prints "read_every_xdmf: OK files F steps S fields N" (exit 0) or "read_every_xdmf: FAIL <file>:
<reason>" (exit 1). No file at all is a failure: the caller expects output.
"""

import os
import sys
import xml.etree.ElementTree as ET

import meshio
import numpy as np


class Fail(Exception):
    pass


def check_mesh(points, cells):
    if len(points) == 0:
        raise Fail("no points")
    if not cells:
        raise Fail("no cell block")
    for block in cells:
        data = np.asarray(block.data)
        if data.size and (data.min() < 0 or data.max() >= len(points)):
            raise Fail(f"{block.type} ids outside 0..{len(points)}")
    return sum(len(b.data) for b in cells)


def check_data(name, values, n, what):
    for v in values:
        v = np.asarray(v)
        if v.shape[0] != n:
            raise Fail(f"{what} field {name} has {v.shape[0]} values for {n} {what}s")
        if not np.all(np.isfinite(v)):
            raise Fail(f"{what} field {name} is not finite")


def is_series(path):
    root = ET.parse(path).getroot()
    return any(g.get("CollectionType") == "Temporal" for g in root.iter("Grid"))


def read(path):
    """Returns (steps, fields) read from one file."""
    if not is_series(path):
        m = meshio.read(path)
        n_cells = check_mesh(m.points, m.cells)
        for name, v in m.point_data.items():
            check_data(name, [v], len(m.points), "point")
        for name, v in m.cell_data.items():
            if sum(len(b) for b in v) != n_cells:
                raise Fail(f"cell field {name} has the wrong length")
            check_data(name, v, len(v[0]), "cell")
        return 1, len(m.point_data) + len(m.cell_data)
    steps, fields = 0, 0
    with meshio.xdmf.TimeSeriesReader(path) as r:
        points, cells = r.read_points_cells()
        n_cells = check_mesh(points, cells)
        for k in range(r.num_steps):
            t, pd, cd = r.read_data(k)
            if not np.isfinite(t):
                raise Fail(f"step {k} has time {t}")
            for name, v in pd.items():
                check_data(name, [v], len(points), "point")
            for name, v in cd.items():
                if sum(len(b) for b in v) != n_cells:
                    raise Fail(f"cell field {name} at step {k} has the wrong length")
            steps += 1
            fields += len(pd) + len(cd)
    if steps == 0:
        raise Fail("a time series without steps")
    return steps, fields


def main():
    files = sorted(
        os.path.join(d, f)
        for top in sys.argv[1:]
        for d, _, names in os.walk(top)
        for f in names
        if f.endswith(".xdmf")
    )
    if not files:
        print(f"read_every_xdmf: FAIL no .xdmf below {sys.argv[1:]}")
        return 1
    steps = fields = 0
    for f in files:
        try:
            s, n = read(f)
        except Exception as e:  # meshio's own errors as well as ours
            print(f"read_every_xdmf: FAIL {f}: {type(e).__name__}: {e}")
            return 1
        steps, fields = steps + s, fields + n
    print(f"read_every_xdmf: OK files {len(files)} steps {steps} fields {fields}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

//! The structured box generator: NX×NY(×NZ) cells on the unit square or cube, as quadrilaterals /
//! hexahedra (for finite differences) or split into triangles / tetrahedra (for P1).

use super::{CellType, Mesh, PhysicalName};
use crate::error::{Error, Result};

/// The grid behind a structured mesh; grid cell `(i, j, k)` has id `i + nx * (j + ny * k)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GridInfo {
    /// Cells per direction (`n[2] == 1` in 2D).
    pub n: [usize; 3],
    /// Cell sizes per direction.
    pub h: [f64; 3],
    /// Number of directions used (2 or 3).
    pub dim: usize,
    /// Mesh cells per grid cell: 1 for quadrilaterals / hexahedra, 2 or 6 when split into
    /// simplices (the cells of grid cell `g` are `g * k .. (g + 1) * k`).
    pub cells_per_grid_cell: usize,
}

/// Boundary tags of the box sides, in the order xmin, xmax, ymin, ymax, zmin, zmax.
pub const SIDE_NAMES: [&str; 6] = ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"];

/// Parses `64x64` or `32x32x32` into cell counts.
pub fn parse_grid(s: &str) -> Result<Vec<usize>> {
    let dims: std::result::Result<Vec<usize>, _> = s.split('x').map(str::parse).collect();
    match dims {
        Ok(d) if (d.len() == 2 || d.len() == 3) && d.iter().all(|&n| n > 0) => Ok(d),
        _ => Err(Error::input(format!(
            "--grid '{s}': expected NXxNY or NXxNYxNZ with positive integers, e.g. 64x64"
        ))),
    }
}

impl Mesh {
    /// The unit box `[0,1]^d` with `dims` cells per direction; quadrilaterals / hexahedra, or
    /// triangles / tetrahedra when `simplices` (each quad into 2 triangles, each hex into 6
    /// tetrahedra sharing the main diagonal, so the triangulation is conforming).
    pub fn structured(dims: &[usize], simplices: bool) -> Result<Mesh> {
        let dim = dims.len();
        if !(2..=3).contains(&dim) || dims.contains(&0) {
            return Err(Error::input("a structured grid needs 2 or 3 positive cell counts"));
        }
        let n = [dims[0], dims[1], if dim == 3 { dims[2] } else { 1 }];
        let ncells = n[0] as u64 * n[1] as u64 * n[2] as u64;
        if ncells > u32::MAX as u64 / 8 {
            return Err(Error::input(format!(
                "grid of {ncells} cells is too large: at most {} cells fit the 32-bit ids of the mesh \
                 (split into simplices)",
                u32::MAX as u64 / 8
            )));
        }
        let h = [
            1.0 / n[0] as f64,
            1.0 / n[1] as f64,
            if dim == 3 { 1.0 / n[2] as f64 } else { 1.0 },
        ];
        let np = [n[0] + 1, n[1] + 1, if dim == 3 { n[2] + 1 } else { 1 }];
        let pid = |i: usize, j: usize, k: usize| (i + np[0] * (j + np[1] * k)) as u32;
        let points = grid_points(dim, np, h);
        let cells = grid_cells(dim, n, simplices, &pid);
        let cell_type = match (dim, simplices) {
            (2, false) => CellType::Quadrilateral,
            (2, true) => CellType::Triangle,
            (_, false) => CellType::Hexahedron,
            (_, true) => CellType::Tetrahedron,
        };
        let (facets, facet_tags) = box_facets(dim, n, simplices, &pid);
        let ncells_total = cells.len() / cell_type.num_vertices();
        let names = (0..2 * dim)
            .map(|s| PhysicalName {
                dim: dim - 1,
                tag: s as i32 + 1,
                name: SIDE_NAMES[s].to_string(),
            })
            .collect();
        Ok(Mesh {
            gdim: dim,
            points,
            cell_type,
            cells,
            cell_tags: vec![0; ncells_total],
            facets,
            facet_tags,
            names,
            grid: Some(GridInfo {
                n,
                h,
                dim,
                cells_per_grid_cell: ncells_total / (n[0] * n[1] * n[2]),
            }),
        })
    }
}

/// The grid points `(i h_x, j h_y, k h_z)` of the unit box, `x` fastest (`z = 0` in 2D).
fn grid_points(dim: usize, np: [usize; 3], h: [f64; 3]) -> Vec<[f64; 3]> {
    let mut points = Vec::with_capacity(np[0] * np[1] * np[2]);
    for k in 0..np[2] {
        for j in 0..np[1] {
            for i in 0..np[0] {
                let z = if dim == 3 { k as f64 * h[2] } else { 0.0 };
                points.push([i as f64 * h[0], j as f64 * h[1], z]);
            }
        }
    }
    points
}

/// The cells' vertex lists, grid cells `x` fastest: quadrilaterals / hexahedra, or each split
/// into simplices (two triangles, or the six tetrahedra of the Kuhn split).
fn grid_cells(dim: usize, n: [usize; 3], simplices: bool, pid: &dyn Fn(usize, usize, usize) -> u32) -> Vec<u32> {
    let mut cells = Vec::new();
    for k in 0..n[2] {
        for j in 0..n[1] {
            for i in 0..n[0] {
                if dim == 2 {
                    let q = [pid(i, j, 0), pid(i + 1, j, 0), pid(i + 1, j + 1, 0), pid(i, j + 1, 0)];
                    if simplices {
                        cells.extend_from_slice(&[q[0], q[1], q[2], q[0], q[2], q[3]]);
                    } else {
                        cells.extend_from_slice(&q);
                    }
                } else {
                    let c = |a: usize, b: usize, d: usize| pid(i + a, j + b, k + d);
                    let hex = [
                        c(0, 0, 0),
                        c(1, 0, 0),
                        c(1, 1, 0),
                        c(0, 1, 0),
                        c(0, 0, 1),
                        c(1, 0, 1),
                        c(1, 1, 1),
                        c(0, 1, 1),
                    ];
                    if simplices {
                        // Kuhn split: six tetrahedra around the diagonal 0-6.
                        for path in [[1, 2], [2, 3], [3, 7], [7, 4], [4, 5], [5, 1]] {
                            cells.extend_from_slice(&[hex[0], hex[path[0]], hex[path[1]], hex[6]]);
                        }
                    } else {
                        cells.extend_from_slice(&hex);
                    }
                }
            }
        }
    }
    cells
}

/// Boundary facets of the box, tagged 1..=2·dim in [`SIDE_NAMES`] order.
fn box_facets(
    dim: usize,
    n: [usize; 3],
    simplices: bool,
    pid: &dyn Fn(usize, usize, usize) -> u32,
) -> (Vec<u32>, Vec<i32>) {
    let mut facets = Vec::new();
    let mut tags = Vec::new();
    if dim == 2 {
        for (side, (fixed_axis, at)) in [(0, 0), (0, n[0]), (1, 0), (1, n[1])].into_iter().enumerate() {
            let len = n[1 - fixed_axis];
            for a in 0..len {
                let p = |s: usize| if fixed_axis == 0 { pid(at, s, 0) } else { pid(s, at, 0) };
                facets.extend_from_slice(&[p(a), p(a + 1)]);
                tags.push(side as i32 + 1);
            }
        }
    } else {
        for side in 0..6 {
            let axis = side / 2;
            let at = if side % 2 == 0 { 0 } else { n[axis] };
            let (u, v) = match axis {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            for b in 0..n[v] {
                for a in 0..n[u] {
                    let p = |da: usize, db: usize| {
                        let mut ijk = [0; 3];
                        ijk[axis] = at;
                        ijk[u] = a + da;
                        ijk[v] = b + db;
                        pid(ijk[0], ijk[1], ijk[2])
                    };
                    let q = [p(0, 0), p(1, 0), p(1, 1), p(0, 1)];
                    if simplices {
                        // Triangles matching the Kuhn split: every face diagonal runs from the
                        // lower-index corner (0,0) to (1,1) of the face.
                        facets.extend_from_slice(&[q[0], q[1], q[2], q[0], q[2], q[3]]);
                        tags.extend_from_slice(&[side as i32 + 1; 2]);
                    } else {
                        facets.extend_from_slice(&q);
                        tags.push(side as i32 + 1);
                    }
                }
            }
        }
    }
    (facets, tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_tags() {
        let m = Mesh::structured(&[4, 3], false).unwrap();
        assert_eq!(m.num_cells(), 12);
        assert_eq!(m.num_points(), 20);
        assert_eq!(m.num_facets(), 14);
        let t = Mesh::structured(&[2, 2, 2], true).unwrap();
        assert_eq!(t.num_cells(), 48);
        assert_eq!(t.num_facets(), 6 * 4 * 2);
        // Tetrahedra of the Kuhn split fill the cube: total volume 1.
        let vol: f64 = (0..t.num_cells())
            .map(|c| {
                let v = t.cell(c);
                let p = |i: usize| t.points[v[i] as usize];
                let d = |i: usize| [p(i)[0] - p(0)[0], p(i)[1] - p(0)[1], p(i)[2] - p(0)[2]];
                let (a, b, c) = (d(1), d(2), d(3));
                (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                    + a[2] * (b[0] * c[1] - b[1] * c[0]))
                    .abs()
                    / 6.0
            })
            .sum();
        assert!((vol - 1.0).abs() < 1e-12);
    }

    #[test]
    fn grid_parsing() {
        assert_eq!(parse_grid("64x32").unwrap(), vec![64, 32]);
        assert!(parse_grid("64").is_err());
        assert!(parse_grid("0x4").is_err());
        assert!(parse_grid("axb").is_err());
    }
}

//! Grid geometry shared by the FD operators: cell coordinates and centres, and the neighbour of
//! an owned cell across each side — a local (owned or ghost) cell, or a boundary face — and the
//! ghost value a boundary condition gives, and the κ of a face between two cells.

use crate::error::{Error, Result};
use crate::mesh::GridInfo;
use crate::partition::LocalMesh;
use crate::pde::{BcKind, HeatData};

/// What lies across one side of a cell.
pub(crate) enum Neighbour {
    /// A local cell (owned or ghost).
    Cell(u32),
    /// The domain boundary: face centre, outward normal and boundary tag (1..=6 as xmin..zmax).
    Face { x: [f64; 3], normal: [f64; 3], tag: i32 },
}

/// The κ of the face between cells of κ `kc` and `kn`: the harmonic mean `2 kc kn / (kc + kn)`.
/// With κ constant on each cell and the flux `κ u'` continuous across the face, the two
/// half-cell resistances `(h/2)/kc` and `(h/2)/kn` add in series, so the harmonic mean is the
/// two-point flux that stays consistent at a jump (the arithmetic mean would let a 10⁶ cell
/// leak through a κ = 1 neighbour, overestimating the flux up to half the contrast). Equal values
/// return `kc` itself, so a uniform κ gives the same bits as before the per-cell κ existed.
pub(crate) fn face_kappa(kc: f64, kn: f64) -> f64 {
    if kc == kn {
        kc
    } else {
        2.0 * kc * kn / (kc + kn)
    }
}

/// The ghost value across a boundary face at `x` (outward `normal`, spacing `h` across it) of a
/// cell of coefficient `kappa` as `(a, b)` with `u_ghost = a·u_cell + T(t)·b`, from the face's
/// boundary condition with the data `T(t) S`: Dirichlet `(u_g + u_c)/2 = S`; Neumann
/// `(u_g − u_c)/h = ∇S·n`; Robin `κ (u_g − u_c)/h + α (u_g + u_c)/2 = κ ∇S·n + α S` (the ghost
/// mirrors the cell, so the face takes the cell's own κ).
pub(crate) fn ghost_rule(data: &HeatData, kappa: f64, tag: i32, x: &[f64; 3], normal: &[f64; 3], h: f64) -> (f64, f64) {
    match data.bc(tag) {
        BcKind::Dirichlet => (-1.0, 2.0 * data.shape(x)),
        kind => {
            let (k, alpha) = (kappa / h, kind.robin_alpha());
            let g = kappa * data.shape_normal_derivative(x, normal) + alpha * data.shape(x);
            ((k - alpha / 2.0) / (k + alpha / 2.0), g / (k + alpha / 2.0))
        }
    }
}

/// Grid coordinates of grid cell `c`.
pub(crate) fn cell_ijk(grid: &GridInfo, c: usize) -> [usize; 3] {
    [c % grid.n[0], (c / grid.n[0]) % grid.n[1], c / (grid.n[0] * grid.n[1])]
}

/// Centre of the cell at grid coordinates `p`.
pub(crate) fn centre(grid: &GridInfo, p: &[usize; 3]) -> [f64; 3] {
    let mut x = [0.0; 3];
    for d in 0..grid.dim {
        x[d] = (p[d] as f64 + 0.5) * grid.h[d];
    }
    x
}

/// Local index of every grid cell (`u32::MAX` where not local).
pub(crate) fn local_index(grid: &GridInfo, lm: &LocalMesh) -> Vec<u32> {
    let mut local_of = vec![u32::MAX; grid.n.iter().product()];
    for (l, &c) in lm.cell_orig.iter().enumerate() {
        local_of[c as usize] = l as u32;
    }
    local_of
}

/// The neighbour of the cell at `p` across side `s` (0: minus, 1: plus) of axis `d`.
pub(crate) fn neighbour(grid: &GridInfo, local_of: &[u32], p: &[usize; 3], d: usize, s: usize) -> Result<Neighbour> {
    let side = if s == 0 { -1i64 } else { 1 };
    let q = p[d] as i64 + side;
    if q < 0 || q >= grid.n[d] as i64 {
        let mut x = centre(grid, p);
        x[d] += side as f64 * 0.5 * grid.h[d];
        let mut normal = [0.0; 3];
        normal[d] = side as f64;
        return Ok(Neighbour::Face {
            x,
            normal,
            tag: (2 * d + s) as i32 + 1,
        });
    }
    let mut pq = *p;
    pq[d] = q as usize;
    match local_of[pq[0] + grid.n[0] * (pq[1] + grid.n[1] * pq[2])] {
        u32::MAX => Err(Error::input("finite differences need one facet ghost layer")),
        loc => Ok(Neighbour::Cell(loc)),
    }
}

//! Taylor–Hood P2/P1 element integrals on (possibly curved) simplices, for incompressible flow:
//! velocity components in the P2 space of the cell, pressure in the P1 space of its corners (the
//! barycentric coordinates λ, also on curved cells: the pressure is P1 on the reference cell, as
//! the isoparametric map makes the velocity P2 there). One quadrature pass gives the matrices that
//! do not change in time; the convection matrix, whose values follow the velocity, has its own.
//!
//! [`Scatter`] adds element matrices straight into the value arrays of a [`DistMatrix`] whose
//! pattern is fixed: each rank integrates every local cell (owned and ghost) touching its owned
//! rows, so a value update needs no communication and no allocation.

use super::element::{ElementMatrix, Lagrange, MAX_NODES};
use crate::error::{Error, Result};
use crate::linalg::DistMatrix;
use crate::partition::LocalMesh;

/// The constant matrices of one cell: P2 mass and stiffness, the P2 × P1 blocks
/// `B_d[j][i] = ∫ q_i ∂_d φ_j` (so `Σ_d B_dᵀ u_d` is the divergence tested with the pressure
/// functions, and `B_d p` the pressure force `∫ p ∂_d φ_j`), and the P1 pressure stiffness and
/// mass.
pub struct CellMatrices {
    /// `∫ φ_i φ_j`.
    pub mass: ElementMatrix,
    /// `∫ ∇φ_i·∇φ_j`.
    pub stiffness: ElementMatrix,
    /// `B_d[j][i] = ∫ q_i ∂_d φ_j`, per direction d.
    pub div: [[[f64; 4]; MAX_NODES]; 3],
    /// `∫ ∇q_i·∇q_j` of the corner functions.
    pub pressure_stiffness: [[f64; 4]; 4],
    /// `∫ q_i q_j` of the corner functions.
    pub pressure_mass: [[f64; 4]; 4],
    /// The cell's volume (non-positive for a degenerate cell).
    pub volume: f64,
}

/// The constant matrices of the P2 cell `el` with nodes `x` (by a degree-4 rule: exact on
/// straight cells for all of them).
pub fn cell_matrices(el: &Lagrange, x: &[[f64; 3]]) -> CellMatrices {
    let (n, c) = (el.num_nodes(), el.dim() + 1);
    let mut out = CellMatrices {
        mass: [[0.0; MAX_NODES]; MAX_NODES],
        stiffness: [[0.0; MAX_NODES]; MAX_NODES],
        div: [[[0.0; 4]; MAX_NODES]; 3],
        pressure_stiffness: [[0.0; 4]; 4],
        pressure_mass: [[0.0; 4]; 4],
        volume: 0.0,
    };
    let (mut phi, mut g) = ([0.0; MAX_NODES], [[0.0; 3]; MAX_NODES]);
    out.volume = el.quadrature(x, 4, |q| {
        el.values(&q.l, &mut phi);
        el.gradients(&q.l, &q.gl, &mut g);
        let dv = q.w * q.jac;
        for i in 0..n {
            for j in 0..n {
                out.mass[i][j] += dv * phi[i] * phi[j];
                out.stiffness[i][j] += dv * (g[i][0] * g[j][0] + g[i][1] * g[j][1] + g[i][2] * g[j][2]);
            }
            for (d, div) in out.div.iter_mut().enumerate() {
                for (k, lk) in q.l[..c].iter().enumerate() {
                    div[i][k] += dv * lk * g[i][d];
                }
            }
        }
        for a in 0..c {
            for b in 0..c {
                let gl = &q.gl;
                out.pressure_stiffness[a][b] += dv * (gl[a][0] * gl[b][0] + gl[a][1] * gl[b][1] + gl[a][2] * gl[b][2]);
                out.pressure_mass[a][b] += dv * q.l[a] * q.l[b];
            }
        }
    });
    out
}

/// The convection matrix of the cell in skew-symmetric (Temam) form,
/// `C_ij = ∫ (w·∇φ_j) φ_i + ½ (∇·w) φ_j φ_i`, for the advecting velocity `w` given at the cell's
/// nodes (`w[k]` the vector at node k). Skew-symmetry makes `uᵀCu = 0` for every u vanishing on
/// the boundary, whatever `w`, so convection adds no energy (degree-5 rule: exact on straight
/// cells).
pub fn convection(el: &Lagrange, x: &[[f64; 3]], w: &[[f64; 3]], out: &mut ElementMatrix) {
    let n = el.num_nodes();
    for row in out.iter_mut().take(n) {
        row[..n].fill(0.0);
    }
    let (mut phi, mut g) = ([0.0; MAX_NODES], [[0.0; 3]; MAX_NODES]);
    el.quadrature(x, 5, |q| {
        el.values(&q.l, &mut phi);
        el.gradients(&q.l, &q.gl, &mut g);
        let (mut wq, mut divw) = ([0.0; 3], 0.0);
        for k in 0..n {
            for d in 0..3 {
                wq[d] += w[k][d] * phi[k];
                divw += w[k][d] * g[k][d];
            }
        }
        let dv = q.w * q.jac;
        for j in 0..n {
            let adv = wq[0] * g[j][0] + wq[1] * g[j][1] + wq[2] * g[j][2] + 0.5 * divw * phi[j];
            for i in 0..n {
                out[i][j] += dv * adv * phi[i];
            }
        }
    });
}

/// Where each entry of the element matrices of the local cells goes in a [`DistMatrix`] whose
/// rows and columns are the local mesh's points: for every local cell and node pair (i, j) with
/// an owned row, the position of `(row, col)` among the owned rows' entries (diagonal block
/// first, then the off-diagonal block), or `u32::MAX` for rows owned elsewhere.
pub struct Scatter {
    slots: Vec<u32>,
    nn: usize,
    nnz_diag: usize,
}

impl Scatter {
    /// Local: the slots of `a`'s entries for every local cell of `lm`, whose points are `a`'s
    /// rows and columns (owned points = owned rows, in order). An entry missing from `a`'s
    /// pattern is an error: the pattern must hold every coupling of the cells.
    pub fn new(a: &DistMatrix, lm: &LocalMesh) -> Result<Scatter> {
        let nn = lm.cell_type.num_vertices();
        let layout = a.layout();
        let (n_owned, lo) = (layout.n_owned, layout.offset);
        let (diag, offd) = (a.diag(), a.offd());
        let find = |cols: &[u32], c: u32| cols.binary_search(&c).ok();
        let mut slots = Vec::with_capacity(lm.num_local_cells() * nn * nn);
        for c in 0..lm.num_local_cells() {
            let vs = lm.cell(c);
            for &r in vs {
                let r = r as usize;
                for &col in vs {
                    if r >= n_owned {
                        slots.push(u32::MAX);
                        continue;
                    }
                    let g = lm.points.global(col as usize);
                    let slot = if (lo..lo + n_owned as u64).contains(&g) {
                        let (s, e) = (diag.rowptr[r], diag.rowptr[r + 1]);
                        find(&diag.cols[s..e], (g - lo) as u32).map(|k| s + k)
                    } else {
                        let ghost = layout.ghosts.binary_search(&g).ok();
                        let (s, e) = (offd.rowptr[r], offd.rowptr[r + 1]);
                        ghost
                            .and_then(|gc| find(&offd.cols[s..e], gc as u32))
                            .map(|k| diag.nnz() + s + k)
                    };
                    let slot = slot.ok_or_else(|| {
                        Error::input(format!(
                            "matrix pattern lacks the coupling of points {} and {} of cell {}",
                            lm.points.global(r),
                            g,
                            lm.cell_orig[c]
                        ))
                    })?;
                    slots.push(slot as u32);
                }
            }
        }
        Ok(Scatter {
            slots,
            nn,
            nnz_diag: diag.nnz(),
        })
    }

    /// Adds `scale · ke` of local cell `cell` to the owned rows of a matrix of the pattern the
    /// scatter was built for, given as its diagonal- and off-diagonal-block values
    /// ([`DistMatrix::values_mut`]).
    pub fn add(&self, diag: &mut [f64], offd: &mut [f64], cell: usize, ke: &ElementMatrix, scale: f64) {
        let nn = self.nn;
        let slots = &self.slots[cell * nn * nn..(cell + 1) * nn * nn];
        for i in 0..nn {
            for j in 0..nn {
                let s = slots[i * nn + j];
                if s == u32::MAX {
                    continue;
                }
                let s = s as usize;
                if s < self.nnz_diag {
                    diag[s] += scale * ke[i][j];
                } else {
                    offd[s - self.nnz_diag] += scale * ke[i][j];
                }
            }
        }
    }
}

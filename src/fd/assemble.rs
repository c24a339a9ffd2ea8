//! Assembly of the cell-centred FD Poisson matrix `-κΔu = f` (5/7-point) into a distributed
//! matrix: each rank assembles its owned rows; boundary faces enter through the same ghost
//! values as the explicit operator (Dirichlet `u_g = 2g - u_c` adds `κ/h²` to the diagonal and
//! `2κg/h²` to the right-hand side; Neumann `u_g = u_c + h ∂u/∂n` removes the face's coupling and
//! adds `κ ∂u/∂n / h`), which keeps the matrix symmetric positive definite. A κ that varies per
//! cell enters face by face: the harmonic mean of the two cells' κ between cells (the same value
//! from both sides, so the matrix stays symmetric), the cell's own κ on boundary faces.

use super::stencil::{cell_ijk, centre, face_kappa, ghost_rule, local_index, neighbour, Neighbour};
use crate::comm::Comm;
use crate::error::Result;
use crate::linalg::{DistMatrix, DistVector};
use crate::mesh::GridInfo;
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData};

/// An assembled FD system on one rank.
pub struct FdSystem {
    /// The matrix over owned cells.
    pub a: DistMatrix,
    /// The right-hand side.
    pub b: DistVector,
    /// Centres of owned cells.
    pub centres: Vec<[f64; 3]>,
    cell_volume: f64,
}

/// Collective: assembles the FD Poisson system on `lm` (one facet ghost layer of a structured
/// grid); source and boundary data as in [`crate::fem::assemble_poisson`].
pub fn assemble_poisson_fd(comm: &Comm, lm: &LocalMesh, grid: &GridInfo, data: &HeatData) -> Result<FdSystem> {
    let mut sys = assemble_fd(comm, lm, grid, data, 0.0, 1.0)?;
    for (bi, x) in sys.b.owned_mut().iter_mut().zip(&sys.centres) {
        *bi += data.poisson_source(x);
    }
    Ok(sys)
}

/// Collective: assembles `shift·I + scale·K`, with `K` the FD discretization of `-κΔ` (boundary
/// faces as above), and in `b` the boundary data's contribution to `K u = b` for the spatial
/// factor `S` of the exact solution (time factor 1; zero without an exact solution). The implicit
/// heat step uses `shift = 1, scale = θ dt`; Poisson `shift = 0, scale = 1` plus its source.
pub fn assemble_fd(
    comm: &Comm,
    lm: &LocalMesh,
    grid: &GridInfo,
    data: &HeatData,
    shift: f64,
    scale: f64,
) -> Result<FdSystem> {
    let n_owned = lm.cells.n_owned;
    let local_of = local_index(grid, lm);
    let exact = data.exact.is_some();
    let mut triplets = Vec::with_capacity(n_owned * (2 * grid.dim + 1));
    let mut rhs = vec![0.0; n_owned];
    let mut centres = Vec::with_capacity(n_owned);
    let mut failure = None;
    for (l, &c) in lm.cell_orig[..n_owned].iter().enumerate() {
        let p = cell_ijk(grid, c as usize);
        let xc = centre(grid, &p);
        let row = lm.cells.global(l);
        let kc = data.kappa_at(c);
        let mut diag = 0.0;
        for d in 0..grid.dim {
            let h2 = grid.h[d] * grid.h[d];
            for s in 0..2 {
                match neighbour(grid, &local_of, &p, d, s) {
                    Ok(Neighbour::Cell(loc)) => {
                        let k = face_kappa(kc, data.kappa_at(lm.cell_orig[loc as usize])) / h2;
                        diag += k;
                        triplets.push((row, lm.cells.global(loc as usize), -scale * k));
                    }
                    Ok(Neighbour::Face { x, normal, tag }) => {
                        // The flux k (u_g − u_c) with u_g = a u_c + b.
                        let k = kc / h2;
                        let (a, b) = ghost_rule(data, kc, tag, &x, &normal, grid.h[d]);
                        diag += k * (1.0 - a);
                        if exact {
                            rhs[l] += k * b;
                        }
                    }
                    Err(e) => failure = Some(e),
                }
            }
        }
        triplets.push((row, row, shift + scale * diag));
        centres.push(xc);
    }
    comm.agree(failure.map_or(Ok(()), Err))?;
    let a = DistMatrix::assemble(comm, n_owned, &triplets)?;
    let b = DistVector::from_owned(a.layout(), &rhs);
    Ok(FdSystem {
        a,
        b,
        centres,
        cell_volume: grid.h[..grid.dim].iter().product(),
    })
}

impl FdSystem {
    /// Collective: discrete L2 (midpoint) and max errors against the manufactured solution.
    pub fn errors(&self, comm: &Comm, u: &DistVector, data: &HeatData) -> ErrorNorms {
        let (mut e2, mut n2, mut emax) = (0.0, 0.0, 0.0f64);
        for (ui, x) in u.owned().iter().zip(&self.centres) {
            let ex = data.shape(x);
            e2 += (ui - ex) * (ui - ex);
            n2 += ex * ex;
            emax = emax.max((ui - ex).abs());
        }
        ErrorNorms::reduce(comm, e2 * self.cell_volume, n2 * self.cell_volume, emax)
    }
}

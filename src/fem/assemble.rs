//! Assembly of P1 systems into distributed matrices: each rank integrates its owned cells only,
//! contributions to rows owned elsewhere travel with the matrix assembly (stash) and the
//! load-vector exchange (reverse-add through the point halo). Dirichlet rows are eliminated
//! symmetrically — the row becomes the identity and the column moves to the right-hand side —
//! so an SPD problem stays SPD for CG.

use super::boundary::{boundary_facets, dirichlet_points, neumann_load};
use super::simplex::{degree2_rule, map_point, p1_gradients, p1_stiffness};
use crate::comm::{Comm, Halo};
use crate::error::{Error, Result};
use crate::linalg::{DistMatrix, DistVector};
use crate::mesh::{CellType, Mesh};
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData};

/// An assembled P1 system `A u = b` for `-∇·(κ∇u) = f` on one rank, with what is needed to
/// evaluate the solution afterwards.
pub struct P1System {
    /// The matrix (Dirichlet rows and columns eliminated).
    pub a: DistMatrix,
    /// The right-hand side over `a.layout`.
    pub b: DistVector,
    /// Whether each owned point is a Dirichlet point.
    pub dirichlet: Vec<bool>,
    /// Coordinates of local points (owned, then ghosts of the point layout).
    pub points: Vec<[f64; 3]>,
    /// The point exchange plan (owned → ghost points of owned cells).
    pub point_halo: Halo,
    owned_conn: Vec<u32>,
    dim: usize,
}

/// Collective: assembles the P1 Poisson system on `lm` (one vertex-adjacency ghost layer).
/// `f = κπ²d S(x) + constant source` when the problem has the manufactured solution `S`, Dirichlet
/// data `S`, Neumann data `∇S·n`; with no exact solution, `f` is the constant source and the
/// boundary data are zero.
pub fn assemble_poisson_p1(comm: &Comm, mesh: &Mesh, lm: &LocalMesh, data: &HeatData) -> Result<P1System> {
    if !matches!(mesh.cell_type, CellType::Triangle | CellType::Tetrahedron) {
        return comm.agree(Err(Error::input("P1 elements need a triangle or tetrahedron mesh")));
    }
    let dim = mesh.cell_type.dim();
    let nv = dim + 1;
    let n_owned = lm.points.n_owned;
    let mut point_halo = Halo::new(comm, &lm.points)?;
    let points: Vec<[f64; 3]> = lm.point_orig.iter().map(|&p| mesh.points[p as usize]).collect();
    let facets = boundary_facets(mesh, lm, &points);
    let owned_dirichlet = dirichlet_points(&facets, n_owned, data);
    // Ghost points learn their Dirichlet status from their owners.
    let mut flag = vec![0.0; lm.points.n_local()];
    for (f, &d) in flag.iter_mut().zip(&owned_dirichlet) {
        *f = if d { 1.0 } else { 0.0 };
    }
    point_halo.forward(comm, &mut flag);
    let is_dir = |i: u32| flag[i as usize] != 0.0;
    let g = |i: u32| {
        if data.exact.is_some() {
            data.shape(&points[i as usize])
        } else {
            0.0
        }
    };

    let rule = degree2_rule(dim);
    let mut rhs = vec![0.0; lm.points.n_local()];
    let mut triplets: Vec<(u64, u64, f64)> = Vec::with_capacity(lm.cells.n_owned * nv * nv);
    let mut degenerate = None;
    for c in 0..lm.cells.n_owned {
        let vs = lm.cell(c);
        let x: Vec<[f64; 3]> = vs.iter().map(|&v| points[v as usize]).collect();
        let (vol, k) = p1_stiffness(&x, dim, data.kappa);
        if !(vol > 0.0 && vol.is_finite()) {
            degenerate = Some(lm.cell_orig[c]);
            break;
        }
        for (i, &a) in vs.iter().enumerate() {
            if is_dir(a) {
                continue;
            }
            // ∫ f φ_a with the degree-2 rule (φ_a = barycentric coordinate a).
            rhs[a as usize] += rule
                .iter()
                .map(|(l, w)| w * vol * l[i] * data.poisson_source(&map_point(&x, l)))
                .sum::<f64>();
            for (j, &b) in vs.iter().enumerate() {
                if is_dir(b) {
                    rhs[a as usize] -= k[i][j] * g(b); // column moved to the right-hand side
                } else {
                    triplets.push((lm.points.global(a as usize), lm.points.global(b as usize), k[i][j]));
                }
            }
        }
    }
    comm.agree(match degenerate {
        Some(c) => Err(Error::mesh("mesh", format!("degenerate cell {c}"))),
        None => Ok(()),
    })?;
    point_halo.reverse_add(comm, &mut rhs);
    let nload = neumann_load(&facets, &points, n_owned, dim, data);
    for i in 0..n_owned {
        if owned_dirichlet[i] {
            triplets.push((lm.points.global(i), lm.points.global(i), 1.0));
            rhs[i] = g(i as u32);
        } else if data.exact.is_some() {
            rhs[i] += nload[i];
        }
    }
    let a = DistMatrix::assemble(comm, n_owned, &triplets)?;
    let b = DistVector::from_owned(&a.layout, &rhs[..n_owned]);
    Ok(P1System {
        a,
        b,
        dirichlet: owned_dirichlet,
        owned_conn: lm.conn[..lm.cells.n_owned * nv].to_vec(),
        points,
        point_halo,
        dim,
    })
}

impl P1System {
    /// Collective among neighbours: the solution on all local points (owned values of `u`,
    /// ghosts fetched from their owners).
    pub fn local_values(&mut self, comm: &Comm, u: &DistVector) -> Vec<f64> {
        let mut v = vec![0.0; self.points.len()];
        v[..u.n_owned].copy_from_slice(u.owned());
        self.point_halo.forward(comm, &mut v);
        v
    }

    /// Collective: L2 and H1-seminorm errors of `u` against the manufactured solution `S`
    /// (degree-2 rule on owned cells), and the nodal maximum error.
    pub fn errors(&mut self, comm: &Comm, u: &DistVector, data: &HeatData) -> (ErrorNorms, f64) {
        let v = self.local_values(comm, u);
        let rule = degree2_rule(self.dim);
        let (mut e2, mut n2, mut h1) = (0.0, 0.0, 0.0);
        for cell in self.owned_conn.chunks(self.dim + 1) {
            let x: Vec<[f64; 3]> = cell.iter().map(|&p| self.points[p as usize]).collect();
            let (vol, grad) = p1_gradients(&x, self.dim);
            let mut gh = [0.0; 3];
            for (k, &p) in cell.iter().enumerate() {
                for d in 0..3 {
                    gh[d] += v[p as usize] * grad[k][d];
                }
            }
            for (l, w) in &rule {
                let xq = map_point(&x, l);
                let uh: f64 = cell.iter().zip(l).map(|(&p, lk)| lk * v[p as usize]).sum();
                let ex = data.shape(&xq);
                e2 += w * vol * (uh - ex) * (uh - ex);
                n2 += w * vol * ex * ex;
                let ge = data.shape_gradient(&xq);
                h1 += w * vol * (0..3).map(|d| (gh[d] - ge[d]).powi(2)).sum::<f64>();
            }
        }
        let emax = u
            .owned()
            .iter()
            .zip(&self.points)
            .map(|(ui, x)| (ui - data.shape(x)).abs())
            .fold(0.0, f64::max);
        (ErrorNorms::reduce(comm, e2, n2, emax), comm.sum_f64(h1).sqrt())
    }
}

//! Assembly of P1 systems into distributed matrices: each rank integrates its owned cells only,
//! contributions to rows owned elsewhere travel with the matrix assembly (stash) and the
//! load-vector exchange (reverse-add through the point halo). Dirichlet rows are eliminated
//! symmetrically — the row becomes the identity and the column moves to the right-hand side —
//! so an SPD problem stays SPD for CG.

use super::boundary::{boundary_facets, dirichlet_points, natural_load, robin_entries};
use super::simplex::{degree2_rule, map_point, p1_gradients, p1_stiffness};
use crate::comm::{Comm, Halo};
use crate::error::{Error, Result};
use crate::linalg::{DistMatrix, DistVector};
use crate::mesh::{CellType, Mesh};
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData};

/// How the mass matrix is formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MassKind {
    /// Row-summed (diagonal) mass: what explicit time stepping needs.
    #[default]
    Lumped,
    /// The consistent Galerkin mass `∫ φ_i φ_j`.
    Consistent,
}

/// The operator `mass·M + stiff·K` to assemble, where `K` holds the stiffness of
/// `-∇·(κ∇·)` plus the Robin boundary terms `α ∫ φ_i φ_j ds`.
#[derive(Clone, Copy, Debug)]
pub struct Terms {
    /// Factor of the mass matrix.
    pub mass: f64,
    /// Lumped or consistent mass.
    pub mass_kind: MassKind,
    /// Factor of the stiffness (and Robin) matrix.
    pub stiff: f64,
    /// Whether Dirichlet rows and columns are eliminated.
    pub eliminate: bool,
}

impl Terms {
    /// The stiffness alone (`mass = 0`), with or without Dirichlet elimination.
    pub fn stiffness(eliminate: bool) -> Terms {
        Terms {
            mass: 0.0,
            mass_kind: MassKind::Lumped,
            stiff: 1.0,
            eliminate,
        }
    }
}

/// Load vectors of owned points at time factor 1 (zero for the parts of `S` when the problem has
/// no exact solution).
pub struct P1Loads {
    /// `-Σ_{j Dirichlet} A_ij S_j`: the eliminated columns times the Dirichlet data.
    pub lift: Vec<f64>,
    /// `∫ S φ_i`.
    pub shape: Vec<f64>,
    /// `∫ g φ_i` over the natural-boundary facets: `g = κ ∇S·n` (Neumann), `κ ∇S·n + α S`
    /// (Robin).
    pub neumann: Vec<f64>,
    /// The lumped mass `∫ φ_i`.
    pub mass: Vec<f64>,
    /// `S` at owned Dirichlet points (0 elsewhere).
    pub dirichlet_shape: Vec<f64>,
}

/// An assembled P1 system `A u = b` for `-∇·(κ∇u) = f` on one rank, with what is needed to
/// evaluate the solution afterwards.
pub struct P1System {
    /// The matrix (Dirichlet rows and columns eliminated).
    pub a: DistMatrix,
    /// The right-hand side over `a.layout`.
    pub b: DistVector,
    /// Whether each owned point is an (eliminated) Dirichlet point.
    pub dirichlet: Vec<bool>,
    /// Load vectors of owned points at time factor 1.
    pub loads: P1Loads,
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
    let mut sys = assemble_p1(comm, mesh, lm, data, Terms::stiffness(true))?;
    let manufactured = data.kappa * std::f64::consts::PI.powi(2) * data.dim as f64;
    let rhs: Vec<f64> = (0..sys.dirichlet.len())
        .map(|i| {
            let l = &sys.loads;
            if sys.dirichlet[i] {
                l.dirichlet_shape[i]
            } else {
                manufactured * l.shape[i] + data.constant_source * l.mass[i] + l.neumann[i] + l.lift[i]
            }
        })
        .collect();
    sys.b = DistVector::from_owned(&sys.a.layout, &rhs);
    Ok(sys)
}

/// Collective: assembles `A = mass·M + stiff·K` on `lm` (see [`Terms`]) — `M` the lumped or
/// consistent P1 mass, `K` the P1 stiffness of `-∇·(κ∇·)` with κ per cell, plus the Robin
/// terms — with the Dirichlet rows and columns eliminated when `terms.eliminate` (rows become
/// the identity; the eliminated columns times the Dirichlet data `S` go to `loads.lift`), and
/// the load vectors of owned points at time factor 1 (`∫ S φ_i`, `∫ φ_i`, the natural-boundary
/// data). `b` is left zero for the caller.
pub fn assemble_p1(comm: &Comm, mesh: &Mesh, lm: &LocalMesh, data: &HeatData, terms: Terms) -> Result<P1System> {
    let Terms {
        mass,
        mass_kind,
        stiff,
        eliminate,
    } = terms;
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
    let is_dir = |i: u32| eliminate && flag[i as usize] != 0.0;
    let g = |i: u32| {
        if data.exact.is_some() {
            data.shape(&points[i as usize])
        } else {
            0.0
        }
    };

    let rule = degree2_rule(dim);
    // Local accumulators over all local points, completed by one reverse-add each.
    let (mut lift, mut shape, mut lumped) = (
        vec![0.0; points.len()],
        vec![0.0; points.len()],
        vec![0.0; points.len()],
    );
    let mut triplets: Vec<(u64, u64, f64)> = Vec::with_capacity(lm.cells.n_owned * nv * nv);
    let mut degenerate = None;
    for c in 0..lm.cells.n_owned {
        let vs = lm.cell(c);
        let x: Vec<[f64; 3]> = vs.iter().map(|&v| points[v as usize]).collect();
        let (vol, k) = p1_stiffness(&x, dim, data.kappa_at(lm.cell_orig[c]));
        if !(vol > 0.0 && vol.is_finite()) {
            degenerate = Some(lm.cell_orig[c]);
            break;
        }
        for (i, &a) in vs.iter().enumerate() {
            let ai = a as usize;
            lumped[ai] += vol / nv as f64;
            // ∫ S φ_a with the degree-2 rule (φ_a = barycentric coordinate a).
            shape[ai] += rule
                .iter()
                .map(|(l, w)| w * vol * l[i] * data.shape(&map_point(&x, l)))
                .sum::<f64>();
            if is_dir(a) {
                continue;
            }
            for (j, &b) in vs.iter().enumerate() {
                let v = stiff * k[i][j] + mass * p1_mass(vol, nv, i == j, mass_kind);
                if is_dir(b) {
                    lift[ai] -= v * g(b); // column moved to the right-hand side
                } else {
                    triplets.push((lm.points.global(ai), lm.points.global(b as usize), v));
                }
            }
        }
    }
    comm.agree(match degenerate {
        Some(c) => Err(Error::mesh("mesh", format!("degenerate cell {c}"))),
        None => Ok(()),
    })?;
    // Robin rows are complete on their owner (every facet at an owned point is local).
    for (a, b, v) in robin_entries(&facets, n_owned, dim, data) {
        if is_dir(a) {
            continue;
        }
        if is_dir(b) {
            lift[a as usize] -= stiff * v * g(b);
        } else {
            triplets.push((lm.points.global(a as usize), lm.points.global(b as usize), stiff * v));
        }
    }
    for v in [&mut lift, &mut shape, &mut lumped] {
        point_halo.reverse_add(comm, v);
    }
    let neumann = natural_load(&facets, &points, n_owned, dim, data);
    let mut dirichlet_shape = vec![0.0; n_owned];
    for i in 0..n_owned {
        if eliminate && owned_dirichlet[i] {
            triplets.push((lm.points.global(i), lm.points.global(i), 1.0));
            dirichlet_shape[i] = g(i as u32);
        }
    }
    let a = DistMatrix::assemble(comm, n_owned, &triplets)?;
    let b = DistVector::zeros(&a.layout);
    let exact = if data.exact.is_some() { 1.0 } else { 0.0 };
    Ok(P1System {
        a,
        b,
        loads: P1Loads {
            lift: lift[..n_owned].to_vec(),
            shape: shape[..n_owned].iter().map(|s| exact * s).collect(),
            neumann: neumann.iter().map(|v| exact * v).collect(),
            mass: lumped[..n_owned].to_vec(),
            dirichlet_shape,
        },
        dirichlet: owned_dirichlet.iter().map(|&d| d && eliminate).collect(),
        owned_conn: lm.conn[..lm.cells.n_owned * nv].to_vec(),
        points,
        point_halo,
        dim,
    })
}

/// Entry `(i, j)` of the P1 mass of a simplex of volume `vol` with `nv` vertices: lumped,
/// `|T|/nv` on the diagonal; consistent, `|T| (1 + δ_ij) / (nv (nv + 1))`.
fn p1_mass(vol: f64, nv: usize, diagonal: bool, kind: MassKind) -> f64 {
    let nv = nv as f64;
    match (kind, diagonal) {
        (MassKind::Lumped, true) => vol / nv,
        (MassKind::Lumped, false) => 0.0,
        (MassKind::Consistent, true) => 2.0 * vol / (nv * (nv + 1.0)),
        (MassKind::Consistent, false) => vol / (nv * (nv + 1.0)),
    }
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

    /// Collective: L2 and H1-seminorm errors of `u` against the exact solution `T(t) S` at `t`
    /// (degree-2 rule on owned cells), and the nodal maximum error.
    pub fn errors(&mut self, comm: &Comm, u: &DistVector, data: &HeatData, t: f64) -> (ErrorNorms, f64) {
        let tf = data.time_factor(t);
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
                let ex = tf * data.shape(&xq);
                e2 += w * vol * (uh - ex) * (uh - ex);
                n2 += w * vol * ex * ex;
                let ge = data.shape_gradient(&xq).map(|g| tf * g);
                h1 += w * vol * (0..3).map(|d| (gh[d] - ge[d]).powi(2)).sum::<f64>();
            }
        }
        let emax = u
            .owned()
            .iter()
            .zip(&self.points)
            .map(|(ui, x)| (ui - tf * data.shape(x)).abs())
            .fold(0.0, f64::max);
        (ErrorNorms::reduce(comm, e2, n2, emax), comm.sum_f64(h1).sqrt())
    }
}

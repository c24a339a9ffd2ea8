//! Assembly of P1 and P2 Lagrange systems into distributed matrices, one code path for both
//! (the element — [`Lagrange`] — comes from the mesh's cell type; P2 runs on the quadratic mesh
//! of [`crate::mesh::Mesh::elevate`], whose nodes are the unknowns). Each rank integrates its
//! owned cells only; contributions to rows owned elsewhere travel with the matrix assembly
//! (stash) and the load-vector exchange (reverse-add through the point halo). Dirichlet rows are
//! eliminated symmetrically — the row becomes the identity and the column moves to the
//! right-hand side — so an SPD problem stays SPD for CG.

use super::boundary::{boundary_facets, dirichlet_points, natural_load, robin_entries};
use super::element::{Lagrange, MAX_NODES};
use crate::comm::{Comm, Halo};
use crate::error::{Error, Result};
use crate::linalg::{DistMatrix, DistVector};
use crate::mesh::Mesh;
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

/// Load vectors of owned nodes at time factor 1 (zero for the parts of `S` when the problem has
/// no exact solution).
pub struct FemLoads {
    /// `-Σ_{j Dirichlet} A_ij S_j`: the eliminated columns times the Dirichlet data.
    pub lift: Vec<f64>,
    /// `∫ S φ_i`.
    pub shape: Vec<f64>,
    /// `∫ g φ_i` over the natural-boundary facets: `g = κ ∇S·n` (Neumann), `κ ∇S·n + α S`
    /// (Robin).
    pub neumann: Vec<f64>,
    /// `∫ φ_i`, the load of a unit source (for P1 also the lumped mass).
    pub mass: Vec<f64>,
    /// `S` at owned Dirichlet nodes (0 elsewhere).
    pub dirichlet_shape: Vec<f64>,
}

/// An assembled P1 or P2 system `A u = b` for `-∇·(κ∇u) = f` on one rank, with what is needed to
/// evaluate the solution afterwards.
pub struct FemSystem {
    /// The matrix (Dirichlet rows and columns eliminated).
    pub a: DistMatrix,
    /// The right-hand side over `a.layout`.
    pub b: DistVector,
    /// Whether each owned node is an (eliminated) Dirichlet node.
    pub dirichlet: Vec<bool>,
    /// Load vectors of owned nodes at time factor 1.
    pub loads: FemLoads,
    /// Coordinates of local nodes (owned, then ghosts of the point layout).
    pub points: Vec<[f64; 3]>,
    /// The node exchange plan (owned → ghost nodes of owned cells).
    pub point_halo: Halo,
    owned_conn: Vec<u32>,
    element: Lagrange,
}

/// Collective: assembles the Poisson system on `lm` (one vertex-adjacency ghost layer), P1 or P2
/// as the mesh's cells say. `f = κπ²d S(x) + constant source` when the problem has the
/// manufactured solution `S`, Dirichlet data `S`, Neumann data `∇S·n`; with no exact solution,
/// `f` is the constant source and the boundary data are zero.
pub fn assemble_poisson(comm: &Comm, mesh: &Mesh, lm: &LocalMesh, data: &HeatData) -> Result<FemSystem> {
    let mut sys = assemble(comm, mesh, lm, data, Terms::stiffness(true))?;
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
    sys.b = DistVector::from_owned(sys.a.layout(), &rhs);
    Ok(sys)
}

/// The element of `mesh`'s cells, or the agreed error for cells that are not simplices.
fn element_of(comm: &Comm, mesh: &Mesh, terms: &Terms) -> Result<Lagrange> {
    let el = Lagrange::for_cell(mesh.cell_type)
        .ok_or_else(|| Error::input("P1 and P2 elements need a triangle or tetrahedron mesh"));
    comm.agree(el.and_then(|el| {
        if terms.mass != 0.0 && terms.mass_kind == MassKind::Lumped && el.degree() > 1 {
            // Row sums of the P2 mass vanish (2D) or turn negative (3D) at the corners.
            Err(Error::input("P2 elements need the consistent mass (--mass consistent)"))
        } else {
            Ok(el)
        }
    }))
}

/// Collective: assembles `A = mass·M + stiff·K` on `lm` (see [`Terms`]) — `M` the lumped (P1
/// only) or consistent mass, `K` the stiffness of `-∇·(κ∇·)` with κ per cell, plus the Robin
/// terms — with the Dirichlet rows and columns eliminated when `terms.eliminate` (rows become
/// the identity; the eliminated columns times the Dirichlet data `S` at the nodes go to
/// `loads.lift`), and the load vectors of owned nodes at time factor 1 (`∫ S φ_i`, `∫ φ_i`, the
/// natural-boundary data). `b` is left zero for the caller.
pub fn assemble(comm: &Comm, mesh: &Mesh, lm: &LocalMesh, data: &HeatData, terms: Terms) -> Result<FemSystem> {
    let el = element_of(comm, mesh, &terms)?;
    let (stiff, eliminate) = (terms.stiff, terms.eliminate);
    let nn = el.num_nodes();
    let n_owned = lm.points.n_owned;
    let mut point_halo = Halo::new(comm, &lm.points)?;
    let points: Vec<[f64; 3]> = lm.point_orig.iter().map(|&p| mesh.points[p as usize]).collect();
    let facets = boundary_facets(mesh, lm, &points);
    let owned_dirichlet = dirichlet_points(&facets, n_owned, data);
    let dir = DirichletNodes::new(comm, &mut point_halo, &owned_dirichlet, eliminate, &points, data);
    let CellSums {
        mut triplets,
        mut lift,
        mut shape,
        mut unit,
    } = comm.agree(cell_sums(&el, lm, data, &terms, &dir))?;
    // Robin rows are complete on their owner (every facet at an owned node is local).
    for (a, b, v) in robin_entries(&facets, n_owned, &el, data) {
        if dir.is_dir(a) {
            continue;
        }
        if dir.is_dir(b) {
            lift[a as usize] -= stiff * v * dir.g(b);
        } else {
            triplets.push((lm.points.global(a as usize), lm.points.global(b as usize), stiff * v));
        }
    }
    for v in [&mut lift, &mut shape, &mut unit] {
        point_halo.reverse_add(comm, v);
    }
    let neumann = natural_load(&facets, &points, n_owned, &el, data);
    let mut dirichlet_shape = vec![0.0; n_owned];
    for i in 0..n_owned {
        if eliminate && owned_dirichlet[i] {
            triplets.push((lm.points.global(i), lm.points.global(i), 1.0));
            dirichlet_shape[i] = dir.g(i as u32);
        }
    }
    let a = DistMatrix::assemble(comm, n_owned, &triplets)?;
    let b = DistVector::zeros(a.layout());
    let exact = if data.exact.is_some() { 1.0 } else { 0.0 };
    Ok(FemSystem {
        a,
        b,
        loads: FemLoads {
            lift: lift[..n_owned].to_vec(),
            shape: shape[..n_owned].iter().map(|s| exact * s).collect(),
            neumann: neumann.iter().map(|v| exact * v).collect(),
            mass: unit[..n_owned].to_vec(),
            dirichlet_shape,
        },
        dirichlet: owned_dirichlet.iter().map(|&d| d && eliminate).collect(),
        owned_conn: lm.conn[..lm.cells.n_owned * nn].to_vec(),
        points,
        point_halo,
        element: el,
    })
}

/// Which local nodes are eliminated Dirichlet nodes, and the nodal interpolation of their data.
struct DirichletNodes<'a> {
    /// 1.0 at Dirichlet nodes, owned or ghost, 0.0 elsewhere (sent through the halo as values).
    flag: Vec<f64>,
    /// Whether Dirichlet rows and columns are eliminated at all ([`Terms::eliminate`]).
    eliminate: bool,
    points: &'a [[f64; 3]],
    data: &'a HeatData,
}

impl<'a> DirichletNodes<'a> {
    /// Collective: ghost nodes learn their Dirichlet status from their owners.
    fn new(
        comm: &Comm,
        point_halo: &mut Halo,
        owned_dirichlet: &[bool],
        eliminate: bool,
        points: &'a [[f64; 3]],
        data: &'a HeatData,
    ) -> DirichletNodes<'a> {
        let mut flag = vec![0.0; points.len()];
        for (f, &d) in flag.iter_mut().zip(owned_dirichlet) {
            *f = if d { 1.0 } else { 0.0 };
        }
        point_halo.forward(comm, &mut flag);
        DirichletNodes {
            flag,
            eliminate,
            points,
            data,
        }
    }

    /// Whether local node `i` is eliminated.
    fn is_dir(&self, i: u32) -> bool {
        self.eliminate && self.flag[i as usize] != 0.0
    }

    /// Nodal interpolation of the Dirichlet data: `S` at node `i` (0 without an exact solution).
    fn g(&self, i: u32) -> f64 {
        if self.data.exact.is_some() {
            self.data.shape(&self.points[i as usize])
        } else {
            0.0
        }
    }
}

/// What the owned cells contribute: matrix triplets of the free rows and columns, and local
/// accumulators over all local nodes, each completed by one reverse-add.
struct CellSums {
    triplets: Vec<(u64, u64, f64)>,
    /// Eliminated Dirichlet columns moved to the right-hand side.
    lift: Vec<f64>,
    /// `∫ S φ_i`.
    shape: Vec<f64>,
    /// `∫ φ_i`.
    unit: Vec<f64>,
}

/// Element matrices and loads of the owned cells, summed; an error names a degenerate cell
/// (for the caller to agree on).
fn cell_sums(el: &Lagrange, lm: &LocalMesh, data: &HeatData, terms: &Terms, dir: &DirichletNodes) -> Result<CellSums> {
    let Terms {
        mass, mass_kind, stiff, ..
    } = *terms;
    let nn = el.num_nodes();
    let points = dir.points;
    let (mut lift, mut shape, mut unit) = (
        vec![0.0; points.len()],
        vec![0.0; points.len()],
        vec![0.0; points.len()],
    );
    let mut triplets: Vec<(u64, u64, f64)> = Vec::with_capacity(lm.cells.n_owned * nn * nn);
    let mut x = [[0.0; 3]; MAX_NODES];
    for c in 0..lm.cells.n_owned {
        let vs = lm.cell(c);
        for (xi, &v) in x.iter_mut().zip(vs) {
            *xi = points[v as usize];
        }
        let (vol, k) = el.stiffness(&x[..nn], data.kappa_at(lm.cell_orig[c]));
        if !(vol > 0.0 && vol.is_finite()) {
            return Err(Error::mesh("mesh", format!("degenerate cell {}", lm.cell_orig[c])));
        }
        let m = el.mass(&x[..nn]);
        let s = el.load(&x[..nn], |p| data.shape(p));
        for (i, &a) in vs.iter().enumerate() {
            let ai = a as usize;
            let row_sum: f64 = m[i][..nn].iter().sum(); // ∫ φ_i, as Σ_j φ_j = 1
            unit[ai] += row_sum;
            shape[ai] += s[i];
            if dir.is_dir(a) {
                continue;
            }
            for (j, &b) in vs.iter().enumerate() {
                let mij = match mass_kind {
                    MassKind::Consistent => m[i][j],
                    MassKind::Lumped if i == j => row_sum,
                    MassKind::Lumped => 0.0,
                };
                let v = stiff * k[i][j] + mass * mij;
                if dir.is_dir(b) {
                    lift[ai] -= v * dir.g(b); // column moved to the right-hand side
                } else {
                    triplets.push((lm.points.global(ai), lm.points.global(b as usize), v));
                }
            }
        }
    }
    Ok(CellSums {
        triplets,
        lift,
        shape,
        unit,
    })
}

impl FemSystem {
    /// Collective among neighbours: the solution on all local nodes (owned values of `u`,
    /// ghosts fetched from their owners).
    pub fn local_values(&mut self, comm: &Comm, u: &DistVector) -> Vec<f64> {
        let mut v = vec![0.0; self.points.len()];
        v[..u.n_owned].copy_from_slice(u.owned());
        self.point_halo.forward(comm, &mut v);
        v
    }

    /// Collective: L2 and H1-seminorm errors of `u` against the exact solution `T(t) S` at `t`
    /// (on owned cells, by a rule of degree 2p: 2 for P1, the degree-5 rule for P2), and the
    /// nodal maximum error.
    pub fn errors(&mut self, comm: &Comm, u: &DistVector, data: &HeatData, t: f64) -> (ErrorNorms, f64) {
        let tf = data.time_factor(t);
        let v = self.local_values(comm, u);
        let el = self.element;
        let nn = el.num_nodes();
        let (mut phi, mut grad) = ([0.0; MAX_NODES], [[0.0; 3]; MAX_NODES]);
        let (mut e2, mut n2, mut h1) = (0.0, 0.0, 0.0);
        let mut x = [[0.0; 3]; MAX_NODES];
        for cell in self.owned_conn.chunks(nn) {
            for (xi, &p) in x.iter_mut().zip(cell) {
                *xi = self.points[p as usize];
            }
            el.quadrature(&x[..nn], 2 * el.degree(), |q| {
                el.values(&q.l, &mut phi);
                el.gradients(&q.l, &q.gl, &mut grad);
                let (mut uh, mut gh) = (0.0, [0.0; 3]);
                for (k, &p) in cell.iter().enumerate() {
                    uh += v[p as usize] * phi[k];
                    for d in 0..3 {
                        gh[d] += v[p as usize] * grad[k][d];
                    }
                }
                let (w, vol) = (q.w, q.jac);
                let ex = tf * data.shape(&q.point);
                e2 += w * vol * (uh - ex) * (uh - ex);
                n2 += w * vol * ex * ex;
                let ge = data.shape_gradient(&q.point).map(|g| tf * g);
                h1 += w * vol * (0..3).map(|d| (gh[d] - ge[d]).powi(2)).sum::<f64>();
            });
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

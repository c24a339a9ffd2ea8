//! The Taylor–Hood spaces of one rank (P2 velocity on the quadratic mesh's nodes, P1 pressure on
//! its corners, both distributed with the same partition) and the matrices of the scheme that do
//! not change in time: velocity mass and stiffness, the divergence blocks, the pressure
//! Laplacian; plus the momentum matrix, whose values the scheme resets every step through a
//! [`Scatter`] (no communication, no allocation).

use super::bc::{Boundaries, Boundary};
use crate::comm::{Comm, Halo};
use crate::error::{Error, Result};
use crate::fem::boundary::boundary_facets;
use crate::fem::element::{ElementMatrix, Lagrange, MAX_NODES};
use crate::fem::taylor_hood::{cell_matrices, convection, Scatter};
use crate::linalg::DistMatrix;
use crate::mesh::{Adjacency, Mesh};
use crate::partition::{distribute, LocalMesh, Partition};
use std::collections::HashMap;

/// One rank's share of the Taylor–Hood spaces.
pub struct Spaces {
    /// The global quadratic mesh.
    pub mesh: Mesh,
    /// The partition of its cells.
    pub part: Partition,
    /// Velocity nodes: owned, then ghosts; one vertex-adjacency layer of ghost cells.
    pub lm_u: LocalMesh,
    /// Pressure nodes (the corners), with the same local cells in the same order.
    pub lm_p: LocalMesh,
    /// Coordinates of the local velocity nodes.
    pub points: Vec<[f64; 3]>,
    /// Exchange plan of the velocity nodes.
    pub halo_u: Halo,
    /// Coordinates of the local pressure nodes.
    pub points_p: Vec<[f64; 3]>,
    /// Exchange plan of the pressure nodes.
    pub halo_p: Halo,
    /// The P2 element.
    pub el: Lagrange,
    /// Space dimension.
    pub dim: usize,
}

impl Spaces {
    /// Collective: the pressure's local mesh beside the velocity's (`lm_u`, distributed from
    /// `mesh` with `part` through the vertex graph); errors on all ranks.
    pub fn new(comm: &Comm, mesh: Mesh, part: Partition, lm_u: LocalMesh) -> Result<Spaces> {
        let el = comm.agree(
            Lagrange::for_cell(mesh.cell_type)
                .filter(|e| e.degree() == 2)
                .ok_or_else(|| Error::input("Taylor–Hood elements need a quadratic triangle or tetrahedron mesh")),
        )?;
        let corners = mesh.corners_only();
        let graph = corners.cell_graph(Adjacency::Vertex);
        let lm_p = comm.agree(distribute(comm.rank() as usize, &corners, &part, &graph, 1))?;
        comm.agree(if lm_p.cell_orig == lm_u.cell_orig {
            Ok(())
        } else {
            Err(Error::input(
                "the velocity and pressure meshes hold different local cells",
            ))
        })?;
        let halo_u = Halo::new(comm, &lm_u.points)?;
        let halo_p = Halo::new(comm, &lm_p.points)?;
        let points = lm_u.point_orig.iter().map(|&p| mesh.points[p as usize]).collect();
        let points_p = lm_p.point_orig.iter().map(|&p| mesh.points[p as usize]).collect();
        Ok(Spaces {
            halo_p,
            points_p,
            dim: mesh.gdim,
            mesh,
            part,
            lm_u,
            lm_p,
            points,
            halo_u,
            el,
        })
    }

    /// Number of owned velocity nodes (rows of each velocity component).
    pub fn n_u(&self) -> usize {
        self.lm_u.points.n_owned
    }

    /// Number of owned pressure nodes.
    pub fn n_p(&self) -> usize {
        self.lm_p.points.n_owned
    }

    /// The coordinates of local cell `c`'s nodes.
    pub fn cell_nodes(&self, c: usize, x: &mut [[f64; 3]; MAX_NODES]) {
        for (xi, &v) in x.iter_mut().zip(self.lm_u.cell(c)) {
            *xi = self.points[v as usize];
        }
    }
}

/// The velocity boundary of one rank: per owned node, the index of its Dirichlet boundary in
/// [`Boundaries`] (`None`: free), a wall winning over a prescribed velocity where they meet (the
/// cavity's lid corners are at rest); and whether each local node (ghosts included) is one.
pub struct VelocityDirichlet {
    /// Per owned node: the boundary whose velocity it takes.
    pub owned: Vec<Option<usize>>,
    /// Per local node: whether it is a Dirichlet node.
    pub local: Vec<bool>,
}

/// Collective: the velocity Dirichlet nodes of `bcs` and the pressure nodes on outflow
/// boundaries (where the pressure increment vanishes), per local node of each space.
pub fn dirichlet_nodes(comm: &Comm, s: &mut Spaces, bcs: &Boundaries) -> Result<(VelocityDirichlet, Vec<bool>)> {
    let facets = boundary_facets(&s.mesh, &s.lm_u, &s.points);
    let n_u = s.n_u();
    let mut owned: Vec<Option<usize>> = vec![None; n_u];
    let mut unknown = None;
    for f in &facets {
        let Some(k) = bcs.index_of(f.tag) else {
            unknown = Some(f.tag);
            continue;
        };
        if matches!(bcs.list[k].1, Boundary::Outflow) {
            continue;
        }
        for &v in f.points.iter().filter(|&&v| (v as usize) < n_u) {
            let slot = &mut owned[v as usize];
            let wall_there = slot.is_some_and(|j| matches!(bcs.list[j].1, Boundary::Wall));
            if !wall_there {
                *slot = Some(k);
            }
        }
    }
    comm.agree(match unknown {
        Some(tag) => Err(Error::input(format!(
            "boundary '{}' has no flow condition (give it one of wall, velocity, outflow)",
            s.mesh.name_of(s.dim - 1, tag)
        ))),
        None => Ok(()),
    })?;
    let mut flag: Vec<f64> = (0..s.points.len())
        .map(|i| if i < n_u && owned[i].is_some() { 1.0 } else { 0.0 })
        .collect();
    s.halo_u.forward(comm, &mut flag);
    let local = flag.iter().map(|&f| f != 0.0).collect();

    let corners = s.mesh.corners_only();
    let mut pflag = vec![0.0; s.points_p.len()];
    for f in boundary_facets(&corners, &s.lm_p, &s.points_p) {
        if bcs
            .index_of(f.tag)
            .is_some_and(|k| matches!(bcs.list[k].1, Boundary::Outflow))
        {
            for &v in f.points.iter().filter(|&&v| (v as usize) < s.n_p()) {
                pflag[v as usize] = 1.0;
            }
        }
    }
    s.halo_p.forward(comm, &mut pflag);
    Ok((
        VelocityDirichlet { owned, local },
        pflag.iter().map(|&f| f != 0.0).collect(),
    ))
}

/// The matrices of the scheme on one rank.
pub struct Operators {
    /// Velocity mass `M` (one component; no boundary rows changed).
    pub mass: DistMatrix,
    /// Velocity stiffness `K`, same pattern as `mass`.
    pub stiffness: DistMatrix,
    /// Momentum matrix `αM + νK + C(w)` with Dirichlet rows set to the identity; its values are
    /// reset every step ([`Operators::set_momentum`]).
    pub momentum: DistMatrix,
    /// The mass with Dirichlet rows and columns replaced by the identity: the velocity
    /// correction's matrix (the correction vanishes where the velocity is prescribed).
    pub correction_mass: DistMatrix,
    /// `B_d` (velocity rows × pressure columns), `B_d[j][i] = ∫ q_i ∂_d φ_j`.
    pub grad: Vec<DistMatrix>,
    /// `B_dᵀ` (pressure rows × velocity columns): the divergence tested with `q_i`.
    pub div: Vec<DistMatrix>,
    /// The pressure Laplacian, outflow rows and columns replaced by the identity.
    pub laplacian: DistMatrix,
    /// The pressure mass (the rotational update's L2 projection of the divergence).
    pub pressure_mass: DistMatrix,
    /// Where element matrices go in the velocity matrices.
    scatter: Scatter,
    /// Owned Dirichlet rows of the velocity matrices: (row, position of its diagonal entry).
    dirichlet_rows: Vec<(usize, usize)>,
    /// Row pointers of the velocity pattern's diagonal and off-diagonal blocks.
    rows: (Vec<usize>, Vec<usize>),
}

impl Operators {
    /// Collective: assembles every constant matrix (errors on all ranks: a degenerate cell).
    pub fn new(comm: &Comm, s: &Spaces, vd: &VelocityDirichlet, pdir: &[bool]) -> Result<Operators> {
        let (nn, dim) = (s.el.num_nodes(), s.dim);
        let g_u = |v: u32| s.lm_u.points.global(v as usize);
        let g_p = |v: u32| s.lm_p.points.global(v as usize);
        let (mut pattern, mut grad, mut div, mut lap) =
            (Vec::new(), vec![Vec::new(); dim], vec![Vec::new(); dim], Vec::new());
        let mut pmass = Vec::new();
        let mut x = [[0.0; 3]; MAX_NODES];
        let mut bad = None;
        for c in 0..s.lm_u.cells.n_owned {
            let (vu, vp) = (s.lm_u.cell(c), s.lm_p.cell(c));
            s.cell_nodes(c, &mut x);
            let cm = cell_matrices(&s.el, &x[..nn]);
            if !(cm.volume > 0.0 && cm.volume.is_finite()) {
                bad = Some(s.lm_u.cell_orig[c]);
            }
            for &a in vu {
                for &b in vu {
                    pattern.push((g_u(a), g_u(b), 0.0));
                }
            }
            for (j, &a) in vu.iter().enumerate() {
                for (i, &q) in vp.iter().enumerate() {
                    for d in 0..dim {
                        grad[d].push((g_u(a), g_p(q), cm.div[d][j][i]));
                        div[d].push((g_p(q), g_u(a), cm.div[d][j][i]));
                    }
                }
            }
            for (i, &a) in vp.iter().enumerate() {
                for (j, &b) in vp.iter().enumerate() {
                    pmass.push((g_p(a), g_p(b), cm.pressure_mass[i][j]));
                }
                if pdir[a as usize] {
                    continue;
                }
                for (j, &b) in vp.iter().enumerate() {
                    if !pdir[b as usize] {
                        lap.push((g_p(a), g_p(b), cm.pressure_stiffness[i][j]));
                    }
                }
            }
        }
        comm.agree(bad.map_or(Ok(()), |c| Err(Error::mesh("mesh", format!("degenerate cell {c}")))))?;
        for (i, &d) in pdir[..s.n_p()].iter().enumerate() {
            if d {
                lap.push((g_p(i as u32), g_p(i as u32), 1.0));
            }
        }
        let (n_u, n_p) = (s.n_u(), s.n_p());
        let mut mass = DistMatrix::assemble(comm, n_u, &pattern)?;
        let scatter = comm.agree(Scatter::new(&mass, &s.lm_u))?;
        let mut stiffness = mass.duplicate();
        for c in 0..s.lm_u.num_local_cells() {
            s.cell_nodes(c, &mut x);
            let cm = cell_matrices(&s.el, &x[..nn]);
            let (d, o) = mass.values_mut();
            scatter.add(d, o, c, &cm.mass, 1.0);
            let (d, o) = stiffness.values_mut();
            scatter.add(d, o, c, &cm.stiffness, 1.0);
        }
        let dirichlet_rows = diagonal_slots(&mass, &vd.owned)?;
        let mut correction_mass = mass.duplicate();
        eliminate(&mut correction_mass, &vd.local, &s.lm_u, &dirichlet_rows);
        let rect =
            |t: &[(u64, u64, f64)], rows: usize, cols: usize| DistMatrix::assemble_rectangular(comm, rows, cols, t);
        Ok(Operators {
            rows: (mass.diag().rowptr.clone(), mass.offd().rowptr.clone()),
            momentum: mass.duplicate(),
            grad: grad.iter().map(|t| rect(t, n_u, n_p)).collect::<Result<_>>()?,
            div: div.iter().map(|t| rect(t, n_p, n_u)).collect::<Result<_>>()?,
            laplacian: DistMatrix::assemble(comm, n_p, &lap)?,
            pressure_mass: DistMatrix::assemble(comm, n_p, &pmass)?,
            mass,
            stiffness,
            correction_mass,
            scatter,
            dirichlet_rows,
        })
    }

    /// Local: sets the momentum matrix to `αM + νK + C(w)` with identity Dirichlet rows, `w`
    /// the advecting velocity at the local nodes (`w[d]` per component, ghosts current).
    pub fn set_momentum(&mut self, s: &Spaces, alpha: f64, nu: f64, w: &[Vec<f64>]) {
        let nn = s.el.num_nodes();
        let (md, mo) = (&self.mass.diag().vals, &self.mass.offd().vals);
        let (kd, ko) = (&self.stiffness.diag().vals, &self.stiffness.offd().vals);
        let (ad, ao) = self.momentum.values_mut();
        for (a, (m, k)) in ad.iter_mut().zip(md.iter().zip(kd)) {
            *a = alpha * m + nu * k;
        }
        for (a, (m, k)) in ao.iter_mut().zip(mo.iter().zip(ko)) {
            *a = alpha * m + nu * k;
        }
        let (mut x, mut wc) = ([[0.0; 3]; MAX_NODES], [[0.0; 3]; MAX_NODES]);
        let mut ce: ElementMatrix = [[0.0; MAX_NODES]; MAX_NODES];
        for c in 0..s.lm_u.num_local_cells() {
            s.cell_nodes(c, &mut x);
            for (k, &v) in s.lm_u.cell(c).iter().enumerate() {
                wc[k] = std::array::from_fn(|d| w.get(d).map_or(0.0, |wd| wd[v as usize]));
            }
            convection(&s.el, &x[..nn], &wc[..nn], &mut ce);
            self.scatter.add(ad, ao, c, &ce, 1.0);
        }
        identity_rows(ad, ao, &self.rows, &self.dirichlet_rows);
    }

    /// The owned Dirichlet rows of the velocity matrices.
    pub fn owned_dirichlet_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.dirichlet_rows.iter().map(|&(r, _)| r)
    }
}

/// The diagonal entry's position of every owned Dirichlet row of `a`.
fn diagonal_slots(a: &DistMatrix, owned: &[Option<usize>]) -> Result<Vec<(usize, usize)>> {
    let d = a.diag();
    owned
        .iter()
        .enumerate()
        .filter(|(_, k)| k.is_some())
        .map(|(r, _)| {
            let (s, e) = (d.rowptr[r], d.rowptr[r + 1]);
            d.cols[s..e]
                .binary_search(&(r as u32))
                .map(|k| (r, s + k))
                .map_err(|_| Error::input(format!("row {r} has no diagonal entry")))
        })
        .collect()
}

/// Sets the listed rows of a matrix (blocks' values `ad`, `ao`, row pointers `ptr`) to the
/// identity.
fn identity_rows(ad: &mut [f64], ao: &mut [f64], ptr: &(Vec<usize>, Vec<usize>), rows: &[(usize, usize)]) {
    for &(r, at) in rows {
        ad[ptr.0[r]..ptr.0[r + 1]].fill(0.0);
        ao[ptr.1[r]..ptr.1[r + 1]].fill(0.0);
        ad[at] = 1.0;
    }
}

/// Replaces the Dirichlet rows and columns of `a` (square, on `lm`'s points) by the identity.
fn eliminate(a: &mut DistMatrix, local: &[bool], lm: &LocalMesh, rows: &[(usize, usize)]) {
    let ghost_index: HashMap<u64, usize> = (lm.points.n_owned..lm.points.n_local())
        .map(|l| (lm.points.global(l), l))
        .collect();
    let col_dir: Vec<bool> = a
        .layout()
        .ghosts
        .iter()
        .map(|g| ghost_index.get(g).is_some_and(|&l| local[l]))
        .collect();
    let ptr = (a.diag().rowptr.clone(), a.offd().rowptr.clone());
    let (dcols, ocols) = (a.diag().cols.clone(), a.offd().cols.clone());
    let (ad, ao) = a.values_mut();
    for (v, &c) in ad.iter_mut().zip(&dcols) {
        if local[c as usize] {
            *v = 0.0;
        }
    }
    for (v, &c) in ao.iter_mut().zip(&ocols) {
        if col_dir[c as usize] {
            *v = 0.0;
        }
    }
    identity_rows(ad, ao, &ptr, rows);
}

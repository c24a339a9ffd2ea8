//! Explicit P1 heat with lumped mass on triangles and tetrahedra. Rows of owned points are
//! assembled completely on the owning rank from the cells around them (the distribution keeps
//! one vertex-adjacency ghost layer for this), so a step is one overlapped forward exchange and
//! a sparse matrix–vector product split into rows that need no ghost value and rows that do. The
//! lumped mass is assembled from owned cells only and completed by a reverse-add exchange.

use crate::comm::{Comm, Halo, HaloMode, HaloStats};
use crate::error::{Error, Result};
use crate::fem::boundary::{boundary_facets, dirichlet_points, natural_load, robin_entries};
use crate::fem::element::Lagrange;
use crate::fem::quadrature::simplex_rule;
use crate::fem::simplex::{map_point, p1_gradients, p1_stiffness};
use crate::io::FieldSpec;
use crate::mesh::Mesh;
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData, HEAT_FIELD};
use crate::time::{check_stable, restore_field, Stepper};
use std::time::Instant;

/// The explicit P1 heat operator on one rank.
pub struct P1Heat {
    dim: usize,
    n_owned: usize,
    u: Vec<f64>,
    un: Vec<f64>,
    /// Stiffness rows of owned points in CSR over local point indices.
    rowptr: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f64>,
    /// Free (non-Dirichlet) owned rows that reference no ghost point, and those that do.
    interior: Vec<u32>,
    boundary: Vec<u32>,
    dirichlet: Vec<u32>,
    inv_mass: Vec<f64>,
    src: Option<Vec<f64>>,
    /// Natural-boundary (Neumann, Robin) load of each owned row at unit time factor.
    nload: Vec<f64>,
    /// Spatial factor of the Dirichlet data at each Dirichlet row.
    dirichlet_shape: Vec<f64>,
    points: Vec<[f64; 3]>,
    owned_cells: Vec<u32>,
    lambda_max: f64,
    data: HeatData,
    /// The exchange plan over the point layout.
    pub halo: Halo,
    /// How a step treats the halo exchange.
    halo_mode: HaloMode,
    compute_time: f64,
}

impl P1Heat {
    /// Collective: assembles the operator on `lm` (one vertex-adjacency ghost layer of `mesh`).
    pub fn new(comm: &Comm, mesh: &Mesh, lm: &LocalMesh, data: &HeatData) -> Result<P1Heat> {
        let dim = mesh.cell_type.dim();
        let el = p1_element(mesh)?;
        let mut halo = Halo::new(comm, &lm.points)?;
        let n_owned = lm.points.n_owned;
        let nl = lm.points.n_local();
        let points: Vec<[f64; 3]> = lm.point_orig.iter().map(|&p| mesh.points[p as usize]).collect();
        let nv = dim + 1;
        let (rowptr, cols) = owned_pattern(lm);
        let (mut vals, mut mass) = stiffness_and_lumped_mass(comm, lm, &points, dim, data, (&rowptr, &cols))?;
        halo.reverse_add(comm, &mut mass);
        halo.stats = Default::default();

        let facets = boundary_facets(mesh, lm, &points);
        let dirichlet_pts = dirichlet_points(&facets, n_owned, data);
        let nload = natural_load(&facets, &points, n_owned, &el, data);
        // Robin terms join the stiffness rows (their columns are points of the row's cells).
        for (a, b, v) in robin_entries(&facets, n_owned, &el, data) {
            let row = &cols[rowptr[a as usize]..rowptr[a as usize + 1]];
            if let Some(k) = row.iter().position(|&x| x == b) {
                vals[rowptr[a as usize] + k] += v;
            }
        }
        let rows = RowClasses::new(n_owned, &dirichlet_pts, (&rowptr, &cols, &vals), &mass);
        let lambda_max = comm.max_f64(rows.lambda_max);
        let mut u = vec![0.0; nl];
        for (ul, x) in u.iter_mut().zip(&points) {
            *ul = data.exact_value(x, 0.0);
        }
        let src = data
            .has_source()
            .then(|| points[..n_owned].iter().map(|x| data.source_space(x)).collect());
        Ok(P1Heat {
            dim,
            n_owned,
            un: u.clone(),
            u,
            rowptr,
            cols,
            vals,
            interior: rows.interior,
            boundary: rows.boundary,
            dirichlet_shape: rows
                .dirichlet
                .iter()
                .map(|&i| data.shape(&points[i as usize]))
                .collect(),
            dirichlet: rows.dirichlet,
            inv_mass: mass[..n_owned].iter().map(|m| 1.0 / m).collect(),
            src,
            nload,
            owned_cells: lm.conn[..lm.cells.n_owned * nv].to_vec(),
            points,
            lambda_max,
            data: data.clone(),
            halo,
            halo_mode: HaloMode::Overlap,
            compute_time: 0.0,
        })
    }

    /// Sets how the following steps treat the halo exchange (overlapped by default).
    pub fn set_halo_mode(&mut self, mode: HaloMode) {
        self.halo_mode = mode;
    }

    /// Owned values of the solution, in owned order of the layout.
    pub fn solution(&self) -> &[f64] {
        &self.u[..self.n_owned]
    }

    /// Number of free owned rows updated while the exchange is in flight.
    pub fn interior_rows(&self) -> usize {
        self.interior.len()
    }
}

impl Stepper for P1Heat {
    fn stable_dt(&self) -> f64 {
        2.0 / self.lambda_max
    }

    fn set_dt(&mut self, _comm: &Comm, dt: f64) -> Result<()> {
        check_stable(dt, self.stable_dt())
    }

    fn step(&mut self, comm: &Comm, t: f64, dt: f64) -> Result<()> {
        let mode = self.halo_mode;
        let bt = self.data.time_factor(t);
        let sg = self.data.source_time(t);
        let sc = self.data.constant_source;
        let (rowptr, cols, vals, inv_mass, nload, src) = (
            &self.rowptr,
            &self.cols,
            &self.vals,
            &self.inv_mass,
            &self.nload,
            self.src.as_deref(),
        );
        let rows = |list: &[u32], u: &[f64], un: &mut [f64]| {
            for &i in list {
                let i = i as usize;
                let mut ku = 0.0;
                for k in rowptr[i]..rowptr[i + 1] {
                    ku += vals[k] * u[cols[k] as usize];
                }
                let f = src.map_or(0.0, |s| sg * s[i] + sc);
                un[i] = u[i] + dt * (inv_mass[i] * (bt * nload[i] - ku) + f);
            }
        };
        let (interior, un) = (&self.interior, &mut self.un);
        match mode {
            HaloMode::Overlap => {
                self.halo
                    .forward_overlapped(comm, &mut self.u, |u| rows(interior, u, un));
            }
            HaloMode::Blocking | HaloMode::Skip => {
                if mode == HaloMode::Blocking {
                    self.halo.forward(comm, &mut self.u);
                }
                let t0 = Instant::now();
                rows(interior, &self.u, un);
                self.compute_time += t0.elapsed().as_secs_f64();
            }
        }
        let t0 = Instant::now();
        rows(&self.boundary, &self.u, un);
        let bt_next = self.data.time_factor(t + dt);
        for (&i, s) in self.dirichlet.iter().zip(&self.dirichlet_shape) {
            un[i as usize] = bt_next * s;
        }
        self.compute_time += t0.elapsed().as_secs_f64();
        std::mem::swap(&mut self.u, &mut self.un);
        Ok(())
    }

    fn fields(&self) -> Vec<(FieldSpec, &[f64])> {
        vec![(FieldSpec::p1(HEAT_FIELD, 1), self.solution())]
    }

    fn restore(&mut self, fields: &[(FieldSpec, Vec<f64>)]) -> Result<()> {
        restore_field(fields, &FieldSpec::p1(HEAT_FIELD, 1), &mut self.u[..self.n_owned])
    }

    fn errors(&mut self, comm: &Comm, t: f64) -> Option<ErrorNorms> {
        // True L2 norm of u_h - u over owned cells with a degree-2 rule; max error at nodes.
        let nv = self.dim + 1;
        let rule = simplex_rule(self.dim, 2);
        let (mut e2, mut n2) = (0.0, 0.0);
        for cell in self.owned_cells.chunks(nv) {
            let x: Vec<[f64; 3]> = cell.iter().map(|&v| self.points[v as usize]).collect();
            let vol = p1_gradients(&x, self.dim).0;
            for (l, w) in rule {
                let uh: f64 = cell.iter().zip(l).map(|(&v, li)| li * self.u[v as usize]).sum();
                let ex = self.data.exact_value(&map_point(&x, l), t);
                e2 += w * vol * (uh - ex) * (uh - ex);
                n2 += w * vol * ex * ex;
            }
        }
        let emax = self
            .solution()
            .iter()
            .zip(&self.points)
            .map(|(u, x)| (u - self.data.exact_value(x, t)).abs())
            .fold(0.0, f64::max);
        Some(ErrorNorms::reduce(comm, e2, n2, emax))
    }

    fn halo_stats(&self) -> HaloStats {
        self.halo.stats
    }

    fn compute_time(&self) -> f64 {
        self.compute_time
    }
}

/// The P1 element of `mesh`'s cells; anything else is refused.
fn p1_element(mesh: &Mesh) -> Result<Lagrange> {
    match Lagrange::for_cell(mesh.cell_type) {
        Some(el) if el.degree() == 1 => Ok(el),
        // A row-summed P2 mass is singular (2D) or indefinite (3D): no explicit P2 steps.
        _ => Err(Error::input(
            "explicit P1 heat needs a linear triangle or tetrahedron mesh",
        )),
    }
}

/// Sparsity of owned rows from every local cell touching an owned point: CSR `(rowptr, cols)`
/// over local point indices, each row's columns in ascending global order.
fn owned_pattern(lm: &LocalMesh) -> (Vec<usize>, Vec<u32>) {
    let n_owned = lm.points.n_owned;
    let mut row_cols: Vec<Vec<u32>> = vec![Vec::new(); n_owned];
    for c in 0..lm.num_local_cells() {
        for &a in lm.cell(c) {
            if (a as usize) < n_owned {
                row_cols[a as usize].extend_from_slice(lm.cell(c));
            }
        }
    }
    let mut rowptr = vec![0];
    let mut cols = Vec::new();
    for rc in &mut row_cols {
        rc.sort_unstable_by_key(|&v| lm.points.global(v as usize));
        rc.dedup();
        cols.extend_from_slice(rc);
        rowptr.push(cols.len());
    }
    (rowptr, cols)
}

/// Collective (agrees on degenerate cells): the stiffness values of the owned rows on `pattern`,
/// summed over every local cell, and the lumped mass of every local point from the owned cells
/// only (shared points still need the other ranks' shares: a reverse halo sum).
fn stiffness_and_lumped_mass(
    comm: &Comm,
    lm: &LocalMesh,
    points: &[[f64; 3]],
    dim: usize,
    data: &HeatData,
    (rowptr, cols): (&[usize], &[u32]),
) -> Result<(Vec<f64>, Vec<f64>)> {
    let n_owned = lm.points.n_owned;
    let nv = dim + 1;
    let coords = |c: usize| -> Vec<[f64; 3]> { lm.cell(c).iter().map(|&v| points[v as usize]).collect() };
    let mut vals = vec![0.0; cols.len()];
    let mut mass = vec![0.0; lm.points.n_local()];
    for c in 0..lm.num_local_cells() {
        let (vol, k_e) = p1_stiffness(&coords(c), dim, data.kappa_at(lm.cell_orig[c]));
        if vol <= 0.0 || !vol.is_finite() {
            return comm.agree(Err(Error::mesh(
                "mesh",
                format!("degenerate cell {} (volume {vol})", lm.cell_orig[c]),
            )));
        }
        let vs = lm.cell(c);
        for (i, &a) in vs.iter().enumerate() {
            if (a as usize) >= n_owned {
                continue;
            }
            let row = &cols[rowptr[a as usize]..rowptr[a as usize + 1]];
            for (j, &b) in vs.iter().enumerate() {
                let k = rowptr[a as usize] + row.iter().position(|&x| x == b).unwrap_or(0);
                vals[k] += k_e[i][j];
            }
        }
        if c < lm.cells.n_owned {
            // Lumped mass from owned cells only; shared points are completed by the caller.
            for &a in vs {
                mass[a as usize] += vol / nv as f64;
            }
        }
    }
    comm.agree(Ok(()))?;
    Ok((vals, mass))
}

/// The owned rows sorted by how a step treats them, and this rank's bound on the largest
/// eigenvalue of `M⁻¹K` (for the stable step).
struct RowClasses {
    /// Free rows that reference no ghost point (updated while the halo exchange is in flight).
    interior: Vec<u32>,
    /// Free rows that reference a ghost point.
    boundary: Vec<u32>,
    /// Dirichlet rows.
    dirichlet: Vec<u32>,
    /// Largest Gershgorin bound `Σ_j |k_ij| / m_i` over the free rows of this rank.
    lambda_max: f64,
}

impl RowClasses {
    fn new(
        n_owned: usize,
        dirichlet_pts: &[bool],
        (rowptr, cols, vals): (&[usize], &[u32], &[f64]),
        mass: &[f64],
    ) -> RowClasses {
        let mut interior = Vec::new();
        let mut boundary = Vec::new();
        let mut dirichlet = Vec::new();
        let mut lambda_max = 0.0f64;
        for i in 0..n_owned {
            if dirichlet_pts[i] {
                dirichlet.push(i as u32);
                continue;
            }
            let (r0, r1) = (rowptr[i], rowptr[i + 1]);
            lambda_max = lambda_max.max(vals[r0..r1].iter().map(|v| v.abs()).sum::<f64>() / mass[i]);
            if cols[r0..r1].iter().any(|&j| j as usize >= n_owned) {
                boundary.push(i as u32);
            } else {
                interior.push(i as u32);
            }
        }
        RowClasses {
            interior,
            boundary,
            dirichlet,
            lambda_max,
        }
    }
}

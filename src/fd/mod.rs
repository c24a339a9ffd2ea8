//! Cell-centred second-order finite differences (5-point in 2D, 7-point in 3D) for explicit heat
//! steps on a structured grid distributed with one facet ghost layer. Owned cells split once, at
//! set-up, into the strict interior of the owned box (a branch-free structured sweep), the other
//! cells that need no ghost value, and the cells next to ghosts; the first two sets are updated
//! while the halo exchange is in flight. Boundary faces use a ghost value `u_g = α u_c + β`
//! (Dirichlet: `2g - u_c`; Neumann: `u_c + h ∂u/∂n`), the update written as
//! `c0 u_c + Σ_d a_d (u_- + u_+)` with `c0 = 1 - 2 Σ a_d` (fewest operations per cell).
//!
//! A κ that varies per cell ([`HeatData::varies`]) gives every owned cell its own face
//! coefficients (harmonic mean of the two cells' κ between cells, the cell's κ on boundary faces,
//! as in the assembled matrix), so all cells go through the neighbour table and the uniform
//! interior sweep is not used; the stable step comes from the largest κ.

mod assemble;
mod implicit;
mod stencil;

pub use assemble::{assemble_fd, assemble_poisson_fd, FdSystem};
pub use implicit::FdImplicitHeat;
use stencil::{cell_ijk, centre, face_kappa, ghost_rule, local_index, neighbour, Neighbour};

use crate::comm::{Comm, Halo, HaloMode, HaloStats};
use crate::error::Result;
use crate::io::FieldSpec;
use crate::mesh::GridInfo;
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData, HEAT_FIELD};
use crate::time::{check_stable, restore_field, Stepper};
use std::time::Instant;

/// Marks a stencil neighbour slot that refers to a boundary face instead of a cell.
const BND: u32 = 1 << 31;

/// One cell updated through its neighbour table: `nb[2*axis]` is the minus side, `nb[2*axis+1]`
/// the plus side; a local cell index, or `BND | face` for a boundary face.
#[derive(Clone, Copy, Debug)]
struct Entry {
    c: u32,
    nb: [u32; 6],
}

/// The explicit-Euler FD heat operator on one rank, with its solution vectors and halo plan.
pub struct FdHeat {
    dim: usize,
    n_owned: usize,
    /// `κ / h_d²` per axis (uniform κ).
    kh: [f64; 3],
    stable_dt: f64,
    u: Vec<f64>,
    un: Vec<f64>,
    /// Owned-box extents when the owned cells are a row-major box (block partitions).
    fast: Option<[usize; 3]>,
    inner: Vec<Entry>,
    outer: Vec<Entry>,
    /// Per entry of `inner` / `outer` when κ varies: `κ_face / h_d²` of each neighbour slot
    /// (empty for a uniform κ, which uses `kh`).
    inner_k: Vec<[f64; 6]>,
    outer_k: Vec<[f64; 6]>,
    /// Per boundary face: the ghost value is `alpha · u_c + T(t) · beta`.
    alpha: Vec<f64>,
    beta: Vec<f64>,
    /// Spatial factor of the source per owned cell, when there is a source.
    src: Option<Vec<f64>>,
    centres: Vec<[f64; 3]>,
    cell_volume: f64,
    data: HeatData,
    /// The exchange plan over the cell layout (its stats hold the communication timings).
    pub halo: Halo,
    /// How a step treats the halo exchange.
    halo_mode: HaloMode,
    compute_time: f64,
}

/// The stable explicit-Euler step for the FD Laplacian: `dt ≤ 1 / (2κ Σ 1/h_d²)`.
pub fn stable_dt(grid: &GridInfo, kappa: f64) -> f64 {
    let s: f64 = grid.h[..grid.dim].iter().map(|h| 1.0 / (h * h)).sum();
    1.0 / (2.0 * kappa * s)
}

impl FdHeat {
    /// Collective: sets up the operator on `lm` (one facet ghost layer) and the initial condition.
    pub fn new(comm: &Comm, lm: &LocalMesh, grid: &GridInfo, data: &HeatData) -> Result<FdHeat> {
        let halo = Halo::new(comm, &lm.cells)?;
        let dim = grid.dim;
        let n_owned = lm.cells.n_owned;
        let ijk: Vec<[usize; 3]> = lm.cell_orig[..n_owned]
            .iter()
            .map(|&c| cell_ijk(grid, c as usize))
            .collect();
        let varies = data.varies();
        // A varying κ has no uniform coefficients for the branch-free sweep.
        let fast = if varies { None } else { owned_box(&ijk, dim) };
        let tables = Tables::build(grid, lm, data, &ijk, fast)?;
        let centres: Vec<[f64; 3]> = ijk.iter().map(|p| centre(grid, p)).collect();
        let mut u = vec![0.0; lm.cells.n_local()];
        for (ul, x) in u.iter_mut().zip(&centres) {
            *ul = data.exact_value(x, 0.0);
        }
        let mut kh = [0.0; 3];
        for (k, h) in kh.iter_mut().zip(&grid.h).take(dim) {
            *k = data.kappa / (h * h);
        }
        let src = data
            .has_source()
            .then(|| centres.iter().map(|x| data.source_space(x)).collect());
        Ok(FdHeat {
            dim,
            n_owned,
            kh,
            stable_dt: stable_dt(grid, data.kappa_max()),
            un: u.clone(),
            u,
            fast,
            inner: tables.inner,
            outer: tables.outer,
            inner_k: tables.inner_k,
            outer_k: tables.outer_k,
            alpha: tables.alpha,
            beta: tables.beta,
            src,
            centres,
            cell_volume: grid.h[..dim].iter().product(),
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

    /// Owned cell centres.
    pub fn centres(&self) -> &[[f64; 3]] {
        &self.centres
    }

    /// Owned values of the solution, in owned order of the layout.
    pub fn solution(&self) -> &[f64] {
        &self.u[..self.n_owned]
    }

    /// Number of owned cells updated by the branch-free interior sweep.
    pub fn interior_cells(&self) -> usize {
        self.n_owned - self.inner.len() - self.outer.len()
    }
}

/// The neighbour tables of the owned cells the branch-free sweep does not cover (all of them
/// without a `fast` box), split by whether a cell reads a ghost, with the boundary-face rules.
#[derive(Default)]
struct Tables {
    /// Cells whose neighbours are all owned (updated while the halo exchange is in flight).
    inner: Vec<Entry>,
    /// Cells with a ghost neighbour.
    outer: Vec<Entry>,
    /// `κ_face / h_d²` per entry when κ varies (see [`FdHeat`]).
    inner_k: Vec<[f64; 6]>,
    outer_k: Vec<[f64; 6]>,
    /// Per boundary face: the ghost value is `alpha · u_c + T(t) · beta`.
    alpha: Vec<f64>,
    beta: Vec<f64>,
}

impl Tables {
    /// Builds the tables of the owned cells at grid positions `ijk`, skipping the interior of
    /// the owned box `fast`.
    fn build(
        grid: &GridInfo,
        lm: &LocalMesh,
        data: &HeatData,
        ijk: &[[usize; 3]],
        fast: Option<[usize; 3]>,
    ) -> Result<Tables> {
        let local_of = local_index(grid, lm);
        let n_owned = lm.cells.n_owned;
        let (dim, varies) = (grid.dim, data.varies());
        let mut t = Tables::default();
        for (l, p) in ijk.iter().enumerate() {
            if let Some(b) = fast {
                let lo = ijk[0];
                if (0..dim).all(|d| p[d] > lo[d] && p[d] + 1 < lo[d] + b[d]) {
                    continue;
                }
            }
            let mut e = Entry {
                c: l as u32,
                nb: [0; 6],
            };
            let mut needs_ghost = false;
            let kc = data.kappa_at(lm.cell_orig[l]);
            let mut faces = [0.0; 6];
            for d in 0..dim {
                let h2 = grid.h[d] * grid.h[d];
                for s in 0..2 {
                    e.nb[2 * d + s] = match neighbour(grid, &local_of, p, d, s)? {
                        Neighbour::Cell(loc) => {
                            needs_ghost |= loc as usize >= n_owned;
                            faces[2 * d + s] = face_kappa(kc, data.kappa_at(lm.cell_orig[loc as usize])) / h2;
                            loc
                        }
                        Neighbour::Face { x, normal, tag } => {
                            faces[2 * d + s] = kc / h2;
                            // With the data T(t) S(x), the spatial part is fixed at set-up.
                            let (al, be) = ghost_rule(data, kc, tag, &x, &normal, grid.h[d]);
                            t.alpha.push(al);
                            t.beta.push(be);
                            BND | (t.alpha.len() - 1) as u32
                        }
                    };
                }
            }
            let (list, list_k) = if needs_ghost {
                (&mut t.outer, &mut t.outer_k)
            } else {
                (&mut t.inner, &mut t.inner_k)
            };
            list.push(e);
            if varies {
                list_k.push(faces);
            }
        }
        Ok(t)
    }
}

impl Stepper for FdHeat {
    fn stable_dt(&self) -> f64 {
        self.stable_dt
    }

    fn set_dt(&mut self, _comm: &Comm, dt: f64) -> Result<()> {
        check_stable(dt, self.stable_dt)
    }

    fn step(&mut self, comm: &Comm, t: f64, dt: f64) -> Result<()> {
        let a = self.kh.map(|k| dt * k);
        let k = Kernel {
            dim: self.dim,
            dt,
            c0: 1.0 - 2.0 * (a[0] + a[1] + a[2]),
            a,
            bt: self.data.time_factor(t),
            alpha: &self.alpha,
            beta: &self.beta,
            src: self.src.as_deref(),
            sg: dt * self.data.source_time(t),
            sc: dt * self.data.constant_source,
        };
        let (fast, inner, outer, un) = (self.fast, &self.inner, &self.outer, &mut self.un);
        let (inner_k, outer_k) = (&self.inner_k, &self.outer_k);
        let interior = |u: &[f64], un: &mut [f64]| {
            if let Some(b) = fast {
                k.sweep(u, un, b);
            }
            k.table(inner, inner_k, u, un);
        };
        match self.halo_mode {
            HaloMode::Overlap => {
                self.halo.forward_overlapped(comm, &mut self.u, |u| interior(u, un));
            }
            HaloMode::Blocking => {
                self.halo.forward(comm, &mut self.u);
                let t = Instant::now();
                interior(&self.u, un);
                self.compute_time += t.elapsed().as_secs_f64();
            }
            HaloMode::Skip => {
                let t = Instant::now();
                interior(&self.u, un);
                self.compute_time += t.elapsed().as_secs_f64();
            }
        }
        let t = Instant::now();
        k.table(outer, outer_k, &self.u, un);
        self.compute_time += t.elapsed().as_secs_f64();
        std::mem::swap(&mut self.u, &mut self.un);
        Ok(())
    }

    fn errors(&mut self, comm: &Comm, t: f64) -> Option<ErrorNorms> {
        Some(cell_errors(
            comm,
            &self.u[..self.n_owned],
            &self.centres,
            &self.data,
            t,
            self.cell_volume,
        ))
    }

    fn fields(&self) -> Vec<(FieldSpec, &[f64])> {
        vec![(FieldSpec::cells(HEAT_FIELD, 1), self.solution())]
    }

    fn restore(&mut self, fields: &[(FieldSpec, Vec<f64>)]) -> Result<()> {
        restore_field(fields, &FieldSpec::cells(HEAT_FIELD, 1), &mut self.u[..self.n_owned])
    }

    fn halo_stats(&self) -> HaloStats {
        self.halo.stats
    }

    fn compute_time(&self) -> f64 {
        self.compute_time
    }
}

/// Finds whether owned cells (in owned order) form a row-major box; returns its extents when
/// every extent is at least 3 (so there is a strict interior worth sweeping).
fn owned_box(ijk: &[[usize; 3]], dim: usize) -> Option<[usize; 3]> {
    let first = ijk.first()?;
    let last = ijk.last()?;
    let mut b = [1; 3];
    for d in 0..dim {
        b[d] = last[d].checked_sub(first[d])? + 1;
    }
    if b[0] * b[1] * b[2] != ijk.len() || b[..dim].iter().any(|&e| e < 3) {
        return None;
    }
    let row_major = ijk.iter().enumerate().all(|(l, p)| {
        let q = [p[0] - first[0], p[1] - first[1], p[2] - first[2]];
        q[0] + b[0] * (q[1] + b[1] * q[2]) == l
    });
    row_major.then_some(b)
}

/// The per-step constants of the update, shared by the sweep and the table so both compute the
/// same expression in the same order (results are bitwise independent of which path a cell
/// takes, hence of the partition).
struct Kernel<'a> {
    dim: usize,
    dt: f64,
    /// `1 - 2 Σ a_d`: the centre weight, so an update is `c0 u + Σ a_d (u_- + u_+)`.
    c0: f64,
    a: [f64; 3],
    /// Time factor of the boundary data at this step.
    bt: f64,
    alpha: &'a [f64],
    beta: &'a [f64],
    src: Option<&'a [f64]>,
    sg: f64,
    sc: f64,
}

/// The neighbour rows of one interior row of the owned box (empty when unused).
struct Rows<'a> {
    west: &'a [f64],
    centre: &'a [f64],
    east: &'a [f64],
    south: &'a [f64],
    north: &'a [f64],
    down: &'a [f64],
    up: &'a [f64],
    src: &'a [f64],
}

impl Kernel<'_> {
    #[inline(always)]
    fn finish(&self, c: usize, acc: f64) -> f64 {
        match self.src {
            Some(s) => acc + (self.sg * s[c] + self.sc),
            None => acc,
        }
    }

    /// Updates `entries`; `faces` holds their per-slot `κ_face / h²` when κ varies (else empty).
    fn table(&self, entries: &[Entry], faces: &[[f64; 6]], u: &[f64], un: &mut [f64]) {
        if !faces.is_empty() {
            return self.table_varying(entries, faces, u, un);
        }
        for e in entries {
            let c = e.c as usize;
            let uc = u[c];
            let v = |k: usize| {
                let n = e.nb[k];
                if n & BND != 0 {
                    let f = (n & !BND) as usize;
                    self.alpha[f] * uc + self.bt * self.beta[f]
                } else {
                    u[n as usize]
                }
            };
            let mut acc = self.c0 * uc + self.a[0] * (v(0) + v(1));
            acc += self.a[1] * (v(2) + v(3));
            if self.dim == 3 {
                acc += self.a[2] * (v(4) + v(5));
            }
            un[c] = self.finish(c, acc);
        }
    }

    /// The update with per-face coefficients in flux form, `u_c + dt Σ_f k_f (u_f − u_c)`: each
    /// term is one face's flux, equal and opposite to the neighbour's (what the assembled matrix
    /// applies), summed in slot order so the result does not depend on the partition.
    fn table_varying(&self, entries: &[Entry], faces: &[[f64; 6]], u: &[f64], un: &mut [f64]) {
        for (e, k) in entries.iter().zip(faces) {
            let c = e.c as usize;
            let uc = u[c];
            let mut flux = 0.0;
            for (slot, kf) in k.iter().enumerate().take(2 * self.dim) {
                let n = e.nb[slot];
                let v = if n & BND != 0 {
                    let f = (n & !BND) as usize;
                    self.alpha[f] * uc + self.bt * self.beta[f]
                } else {
                    u[n as usize]
                };
                flux += kf * (v - uc);
            }
            un[c] = self.finish(c, uc + self.dt * flux);
        }
    }

    /// Strict interior of the owned box `b`, row by row.
    fn sweep(&self, u: &[f64], un: &mut [f64], b: [usize; 3]) {
        let (bx, by) = (b[0], b[1]);
        let plane = bx * by;
        let zs = if self.dim == 3 { 1..b[2] - 1 } else { 0..1 };
        for z in zs {
            for y in 1..by - 1 {
                let r = z * plane + y * bx;
                // Neighbour rows, each shifted so that index i is the neighbour of cell r + 1 + i.
                let rows = Rows {
                    west: &u[r..r + bx - 2],
                    centre: &u[r + 1..r + bx - 1],
                    east: &u[r + 2..r + bx],
                    south: &u[r + 1 - bx..r - 1],
                    north: &u[r + 1 + bx..r + 2 * bx - 1],
                    down: if self.dim == 3 {
                        &u[r + 1 - plane..r + bx - 1 - plane]
                    } else {
                        &[]
                    },
                    up: if self.dim == 3 {
                        &u[r + 1 + plane..r + bx - 1 + plane]
                    } else {
                        &[]
                    },
                    src: self.src.map_or(&[][..], |s| &s[r + 1..r + bx - 1]),
                };
                let out = &mut un[r + 1..r + bx - 1];
                match (self.dim == 3, self.src.is_some()) {
                    (false, false) => self.row::<false, false>(out, &rows),
                    (false, true) => self.row::<false, true>(out, &rows),
                    (true, false) => self.row::<true, false>(out, &rows),
                    (true, true) => self.row::<true, true>(out, &rows),
                }
            }
        }
    }

    /// One interior row. Every slice is re-cut to the output length first, so the loop carries no
    /// bounds checks and vectorizes; dimension and source are compile-time switches.
    #[inline(always)]
    fn row<const D3: bool, const SRC: bool>(&self, out: &mut [f64], r: &Rows) {
        let n = out.len();
        let (w, c, e, s, no) = (&r.west[..n], &r.centre[..n], &r.east[..n], &r.south[..n], &r.north[..n]);
        let (d, u) = if D3 {
            (&r.down[..n], &r.up[..n])
        } else {
            (&[][..], &[][..])
        };
        let f = if SRC { &r.src[..n] } else { &[][..] };
        let (c0, a0, a1, a2) = (self.c0, self.a[0], self.a[1], self.a[2]);
        for i in 0..n {
            let mut acc = c0 * c[i] + a0 * (w[i] + e[i]);
            acc += a1 * (s[i] + no[i]);
            if D3 {
                acc += a2 * (d[i] + u[i]);
            }
            if SRC {
                acc += self.sg * f[i] + self.sc;
            }
            out[i] = acc;
        }
    }
}

/// Collective: the errors of the cell values `u` (owned cells, centres `centres`, each of
/// volume `cell_volume`) against the exact solution of `data` at time `t`.
pub(crate) fn cell_errors(
    comm: &Comm,
    u: &[f64],
    centres: &[[f64; 3]],
    data: &HeatData,
    t: f64,
    cell_volume: f64,
) -> ErrorNorms {
    let (mut e2, mut n2, mut emax) = (0.0, 0.0, 0.0f64);
    for (u, x) in u.iter().zip(centres) {
        let ex = data.exact_value(x, t);
        e2 += (u - ex) * (u - ex);
        n2 += ex * ex;
        emax = emax.max((u - ex).abs());
    }
    ErrorNorms::reduce(comm, e2 * cell_volume, n2 * cell_volume, emax)
}

//! Restarted GMRES with right preconditioning, and its flexible variant (FGMRES) that keeps the
//! preconditioned directions so that the preconditioner may change from one iteration to the
//! next (an inner Krylov solve, a variable multilevel cycle).

use super::{begin, multi_dot, residual, SolveStats, SolverOptions, StopReason};
use crate::comm::Comm;
use crate::error::Result;
use crate::linalg::{DistVector, LinearOperator, Preconditioner};
use std::ops::ControlFlow;

/// Collective: GMRES(`opts.restart`) with right preconditioning, `A M⁻¹ u = b`, `x = M⁻¹ u`,
/// from the initial guess in `x`.
///
/// Right preconditioning makes the least-squares residual `|g_{k}|` of the Hessenberg system the
/// unpreconditioned residual `‖b − A x‖₂`, which is what it monitors; at each restart (and
/// before declaring convergence) the true residual is recomputed and replaces the estimate.
/// Orthogonalization is classical Gram–Schmidt applied twice, so every iteration costs one
/// operator and one preconditioner application and **three allreduces** whatever the basis size
/// (projection, reprojection, norm); each restart adds one operator application, one
/// preconditioner application and one allreduce.
pub fn gmres(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
) -> Result<SolveStats> {
    Gmres::new(false).solve(comm, a, m, b, x, opts)
}

/// Collective: flexible GMRES(`opts.restart`) (Saad), right-preconditioned by an `M⁻¹` that
/// may differ at every iteration, from the initial guess in `x`.
///
/// Same monitored norm and the same **three allreduces** per iteration as [`gmres`]; it stores
/// the `restart` preconditioned directions `z_j = M_j⁻¹ v_j` besides the basis, and needs no
/// extra preconditioner application at a restart.
pub fn fgmres(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
) -> Result<SolveStats> {
    Gmres::new(true).solve(comm, a, m, b, x, opts)
}

/// GMRES or FGMRES, keeping its basis and small dense problem between solves (a time loop
/// holds one instead of calling [`gmres`] / [`fgmres`], which allocate them per solve).
#[derive(Debug)]
pub struct Gmres {
    flexible: bool,
    /// The workspace and the `(layout shape, basis size)` it was made for.
    work: Option<(Workspace, (u64, usize, usize, usize))>,
}

impl Gmres {
    /// Restarted GMRES (`flexible = false`) or FGMRES (`true`).
    pub fn new(flexible: bool) -> Gmres {
        Gmres { flexible, work: None }
    }

    /// Collective: solves `A x = b` from the initial guess in `x` (see [`gmres`] and
    /// [`fgmres`] for the method and its costs).
    pub fn solve(
        &mut self,
        comm: &Comm,
        a: &dyn LinearOperator,
        m: &mut dyn Preconditioner,
        b: &DistVector,
        x: &mut DistVector,
        opts: &SolverOptions,
    ) -> Result<SolveStats> {
        let layout = a.layout();
        let k_max = basis_size(layout, opts);
        let shape = (layout.offset, layout.n_owned, layout.n_local(), k_max);
        // Agreed, so that every rank takes the (collective) memory check together.
        let stale = self.work.as_ref().is_none_or(|w| w.1 != shape);
        if comm.max_f64(f64::from(u8::from(stale))) > 0.0 {
            check_basis_memory(comm, layout, opts, k_max, self.flexible)?;
            self.work = None;
        }
        let flexible = self.flexible;
        let ws = &mut self
            .work
            .get_or_insert_with(|| (Workspace::new(layout, k_max, flexible), shape))
            .0;
        restarted(comm, a, m, b, x, opts, ws, flexible)
    }
}

/// The work space of a solve: basis, preconditioned directions and the small dense problem.
#[derive(Debug)]
struct Workspace {
    /// Orthonormal basis `v_0 .. v_restart`.
    v: Vec<DistVector>,
    /// `z_j = M⁻¹ v_j` (all of them when flexible, else one scratch vector).
    z: Vec<DistVector>,
    /// `w = A z_j`, orthogonalized into `h_{j+1,j} v_{j+1}`.
    w: DistVector,
    /// Hessenberg columns (`restart + 1` entries each), reduced to `R` by the rotations.
    h: Vec<f64>,
    /// Givens rotations `(c_j, s_j)`.
    rot: Vec<(f64, f64)>,
    /// Rotated right-hand side `g = Qᵀ β e₁`; `|g_{k}|` is the residual norm.
    g: Vec<f64>,
    /// Reprojection coefficients, then the least-squares solution `y`.
    y: Vec<f64>,
    /// Local partial sums of the fused dot products.
    local: Vec<f64>,
    /// The residual `b − A x` at restarts.
    r: DistVector,
}

impl Workspace {
    fn new(layout: &crate::comm::Layout, k_max: usize, flexible: bool) -> Workspace {
        Workspace {
            v: (0..=k_max).map(|_| DistVector::zeros(layout)).collect(),
            z: (0..if flexible { k_max } else { 1 })
                .map(|_| DistVector::zeros(layout))
                .collect(),
            w: DistVector::zeros(layout),
            h: vec![0.0; (k_max + 1) * k_max],
            rot: vec![(1.0, 0.0); k_max],
            g: vec![0.0; k_max + 1],
            y: vec![0.0; k_max + 1],
            local: vec![0.0; k_max + 1],
            r: DistVector::zeros(layout),
        }
    }
}

/// The basis size: `restart` capped at the iteration cap and the problem size (a basis longer
/// than either is never filled or never needed, and capping keeps an absurd `restart` from
/// allocating memory that cannot be used).
fn basis_size(layout: &crate::comm::Layout, opts: &SolverOptions) -> usize {
    opts.restart
        .min(opts.max_iter)
        .min(usize::try_from(layout.n_global).unwrap_or(usize::MAX).max(1))
}

/// Collective: refuses a workspace of basis size `k_max` that cannot fit in the node's memory.
fn check_basis_memory(
    comm: &Comm,
    layout: &crate::comm::Layout,
    opts: &SolverOptions,
    k_max: usize,
    flexible: bool,
) -> Result<()> {
    let vectors = (k_max + 3 + if flexible { k_max } else { 1 }) as f64;
    let bytes = 8.0 * (vectors * layout.n_local() as f64 + (k_max as f64 + 4.0) * (k_max as f64 + 1.0));
    let what = if k_max < opts.restart {
        format!(
            "the GMRES basis of {k_max} vectors (restart = {} capped at max-iter and the problem size)",
            opts.restart
        )
    } else {
        format!("the GMRES basis of restart = {k_max}")
    };
    crate::limits::check_memory(comm, &what, bytes)
}

/// Collective: the restart loop shared by GMRES and FGMRES, in the workspace `ws`.
#[allow(clippy::too_many_arguments)]
fn restarted(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
    ws: &mut Workspace,
    flexible: bool,
) -> Result<SolveStats> {
    let mut r = std::mem::take(&mut ws.r);
    let stats = restarted_in(comm, a, m, b, x, opts, ws, &mut r, flexible);
    ws.r = r;
    stats
}

/// [`restarted`] with the residual vector taken out of the workspace (the cycle borrows the rest).
#[allow(clippy::too_many_arguments)]
fn restarted_in(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
    ws: &mut Workspace,
    r: &mut DistVector,
    flexible: bool,
) -> Result<SolveStats> {
    let mut mon = match begin(comm, a, b, x, r, opts)? {
        ControlFlow::Break(stats) => return Ok(stats),
        ControlFlow::Continue(mon) => mon,
    };
    loop {
        let beta = mon.residual();
        ws.v[0].copy_from(r);
        ws.v[0].scale(1.0 / beta); // v₀ = r / β
        ws.g.fill(0.0);
        ws.g[0] = beta; // g = β e₁
        let (k, stop) = cycle(comm, a, m, ws, &mut mon, flexible);
        update(comm, m, ws, x, k, flexible);
        residual(comm, a, b, x, r);
        // The true residual replaces the estimate: convergence is declared on it.
        if let Some(reason) = mon.refine(r.norm2(comm)) {
            return Ok(mon.finish(reason));
        }
        // A breakdown or a NaN in the cycle ends the solve; a converged estimate that the true
        // residual does not confirm starts another cycle.
        if let Some(reason) = stop.filter(|s| *s != StopReason::Converged) {
            return Ok(mon.finish(reason));
        }
    }
}

/// Collective: one Arnoldi cycle of at most `restart` iterations; returns the number of basis
/// vectors built and why it ended early (an estimate's stop reason or a breakdown).
fn cycle(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    ws: &mut Workspace,
    mon: &mut super::Monitor,
    flexible: bool,
) -> (usize, Option<StopReason>) {
    let ld = ws.g.len(); // restart + 1: the column length of h
    for j in 0..ld - 1 {
        let zj = &mut ws.z[if flexible { j } else { 0 }];
        m.apply(comm, &ws.v[j], zj); // z_j = M⁻¹ v_j
        a.apply(comm, zj, &mut ws.w); // w = A z_j
        let col = &mut ws.h[j * ld..(j + 1) * ld];
        // Classical Gram–Schmidt twice: h = Vᵀw, w −= V h; c = Vᵀw, w −= V c, h += c.
        multi_dot(comm, &ws.v[..=j], &ws.w, &mut ws.local[..=j], &mut col[..=j]);
        for (hi, vi) in col[..=j].iter().zip(&ws.v) {
            ws.w.axpy(-hi, vi);
        }
        multi_dot(comm, &ws.v[..=j], &ws.w, &mut ws.local[..=j], &mut ws.y[..=j]);
        for ((hi, ci), vi) in col[..=j].iter_mut().zip(&ws.y).zip(&ws.v) {
            ws.w.axpy(-ci, vi);
            *hi += ci;
        }
        let h_next = ws.w.norm2(comm); // h_{j+1,j} = ‖w‖
        col[j + 1] = h_next;
        if h_next > 0.0 {
            ws.v[j + 1].copy_from(&ws.w);
            ws.v[j + 1].scale(1.0 / h_next); // v_{j+1} = w / h_{j+1,j}
        }
        // Apply the previous rotations to the new column, then the one that zeroes h_{j+1,j}.
        for (i, &(c, s)) in ws.rot[..j].iter().enumerate() {
            (col[i], col[i + 1]) = (c * col[i] + s * col[i + 1], -s * col[i] + c * col[i + 1]);
        }
        let d = col[j].hypot(col[j + 1]);
        if d == 0.0 {
            // A M⁻¹ v_j is in the span of v_0..v_{j-1}: the Hessenberg matrix is singular.
            return (
                j,
                Some(StopReason::Breakdown(
                    "GMRES: singular Hessenberg matrix (A M⁻¹ singular?)".into(),
                )),
            );
        }
        let (c, s) = (col[j] / d, col[j + 1] / d);
        ws.rot[j] = (c, s);
        (col[j], col[j + 1]) = (d, 0.0);
        (ws.g[j], ws.g[j + 1]) = (c * ws.g[j], -s * ws.g[j]); // |g_{j+1}| = ‖b − A x_{j+1}‖
        let stop = mon.step(ws.g[j + 1].abs());
        // h_{j+1,j} = 0 is the lucky breakdown: the residual estimate is then exactly zero.
        if stop.is_some() || h_next == 0.0 {
            return (j + 1, stop);
        }
    }
    (ld - 1, None)
}

/// Collective: `x += M⁻¹ V_k y` (GMRES) or `x += Z_k y` (FGMRES), with `y = R_k⁻¹ g_k` from the
/// rotated Hessenberg system.
fn update(comm: &Comm, m: &mut dyn Preconditioner, ws: &mut Workspace, x: &mut DistVector, k: usize, flexible: bool) {
    let ld = ws.g.len();
    // Back substitution: y_i = (g_i − Σ_{l>i} R_{il} y_l) / R_ii, R_{il} = h[l·ld + i].
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|l| ws.h[l * ld + i] * ws.y[l]).sum();
        ws.y[i] = (ws.g[i] - s) / ws.h[i * ld + i];
    }
    if flexible {
        for (yi, zi) in ws.y[..k].iter().zip(&ws.z) {
            x.axpy(*yi, zi); // x += Σ y_i z_i
        }
    } else {
        ws.w.fill(0.0);
        for (yi, vi) in ws.y[..k].iter().zip(&ws.v) {
            ws.w.axpy(*yi, vi); // w = V y
        }
        m.apply(comm, &ws.w, &mut ws.z[0]); // z = M⁻¹ V y
        x.axpy(1.0, &ws.z[0]);
    }
}

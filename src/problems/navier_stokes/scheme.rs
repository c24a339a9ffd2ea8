//! The incremental pressure-correction scheme, second order in time (BDF2; the first step BDF1):
//! with `α = 3/(2Δt)` (first step `1/Δt`) and `w = 2uⁿ − uⁿ⁻¹` (first step `uⁿ`),
//!
//! 1. momentum, one solve per component with the same matrix:
//!    `(αM + νK + C(w)) u* = M (2uⁿ − ½uⁿ⁻¹)/Δt + B_d pⁿ` (first step `M uⁿ/Δt + B_d pⁿ`),
//!    velocity prescribed at Dirichlet nodes; `C(w)` changes every step, so the solver takes
//!    numeric updates only;
//! 2. pressure increment: `K_p φ = −α Σ_d B_dᵀ u*_d`, φ = 0 on outflow boundaries, else the
//!    constants are its null space;
//! 3. velocity correction: `M δ_d = B_d φ / α` with δ = 0 at Dirichlet nodes,
//!    `uⁿ⁺¹ = u* + δ` (the discrete `uⁿ⁺¹ = u* − ∇φ/α`: integration by parts turns `(∂_d φ, v)`
//!    into `−(φ, ∂_d v)` for v vanishing on walls and φ on outflows);
//! 4. `pⁿ⁺¹ = pⁿ + φ − ν ∇·u*` (the rotational form of Timmermans, Minev & van de Vosse, analysed
//!    by Guermond, Minev & Shen 2006: it removes the standard form's artificial pressure
//!    boundary condition `∂p/∂n = 0`, so pressures and body forces converge; the divergence is
//!    the L2 projection `M_p d = Σ_d B_dᵀ u*_d` onto P1), or `pⁿ + φ` in the standard form.

use super::bc::Boundaries;
use super::spaces::{Operators, Spaces, VelocityDirichlet};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::krylov::SolveStats;
use crate::linalg::{DistVector, NullSpace};
use crate::solver::{LinearSolver, SolverConfig, SolverInputs};
use std::time::Instant;

/// The solver configurations of the solves (the correction's also serves the rotational
/// update's pressure-mass solve).
pub struct Solvers {
    /// Momentum (non-symmetric when convection is on).
    pub momentum: SolverConfig,
    /// Pressure Poisson problem (symmetric positive (semi-)definite).
    pub pressure: SolverConfig,
    /// Velocity correction (a mass matrix).
    pub correction: SolverConfig,
}

/// The fields of the scheme at one time: velocity now and one step back, pressure, time and
/// step count.
pub struct FlowState {
    /// `uⁿ`, per component.
    pub u: Vec<DistVector>,
    /// `uⁿ⁻¹`, per component (unused before the first step).
    pub u_prev: Vec<DistVector>,
    /// `pⁿ` on the pressure nodes.
    pub p: DistVector,
    /// Time.
    pub t: f64,
    /// Steps done.
    pub step: usize,
}

/// Iterations and seconds of one step.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct StepStats {
    /// Momentum iterations, summed over the components.
    pub momentum_iterations: usize,
    /// Pressure iterations.
    pub pressure_iterations: usize,
    /// Correction iterations, summed over the components.
    pub correction_iterations: usize,
    /// Seconds of the momentum step (matrix values, solver update or set-up, solves).
    pub momentum_seconds: f64,
    /// Seconds of the pressure step.
    pub pressure_seconds: f64,
    /// Seconds of the correction.
    pub correction_seconds: f64,
    /// Seconds of the momentum solver's set-up (first step) or numeric update (later steps).
    pub momentum_setup_seconds: f64,
}

/// The coefficients of one step: `∂u/∂t ≈ α uⁿ⁺¹ − c1 uⁿ − c2 uⁿ⁻¹`, whether it is BDF2
/// (else BDF1), and the step.
struct Bdf {
    alpha: f64,
    c1: f64,
    c2: f64,
    second: bool,
    dt: f64,
}

/// The scheme with its matrices, solvers and work vectors (allocated once).
pub struct Scheme {
    ops: Operators,
    vd: VelocityDirichlet,
    outflow: Vec<bool>,
    bcs: Boundaries,
    nu: f64,
    configs: Solvers,
    momentum: Option<Box<dyn LinearSolver>>,
    pressure: Box<dyn LinearSolver>,
    correction: Box<dyn LinearSolver>,
    /// The constants, when no outflow fixes the pressure (the increment's null space).
    null: Option<NullSpace>,
    /// The pressure-mass solve of the rotational update (`None`: the standard form).
    rotational: Option<Box<dyn LinearSolver>>,
    div_rhs: DistVector,
    div_u: DistVector,
    w: Vec<Vec<f64>>,
    ustar: Vec<DistVector>,
    rhs: DistVector,
    tmp: DistVector,
    force: DistVector,
    at_grad: Vec<DistVector>,
    at_div: Vec<DistVector>,
    prhs: DistVector,
    ptmp: DistVector,
    phi: DistVector,
    delta: DistVector,
    /// The BDF time derivative of the velocity at the last step's end, per component.
    pub dudt: Vec<DistVector>,
}

impl Scheme {
    /// Collective: assembles the operators and sets up the pressure and correction solvers
    /// (their matrices never change); the momentum solver is set up at the first step.
    pub fn new(
        comm: &Comm,
        s: &mut Spaces,
        (bcs, nu, rotational): (Boundaries, f64, bool),
        configs: Solvers,
    ) -> Result<Scheme> {
        let (vd, pdir) = super::spaces::dirichlet_nodes(comm, s, &bcs)?;
        let ops = Operators::new(comm, s, &vd, &pdir)?;
        let null = (!bcs.has_outflow()).then(|| NullSpace::constants(comm, ops.laplacian.layout()));
        let pressure = configs.pressure.build(
            comm,
            &ops.laplacian,
            &SolverInputs {
                null_space: null.as_ref(),
                ..SolverInputs::default()
            },
        )?;
        let correction = configs
            .correction
            .build(comm, &ops.correction_mass, &SolverInputs::default())?;
        let rotational = match rotational {
            true => Some(
                configs
                    .correction
                    .build(comm, &ops.pressure_mass, &SolverInputs::default())?,
            ),
            false => None,
        };
        let ul = ops.mass.layout().clone();
        let pl = ops.laplacian.layout().clone();
        let dim = s.dim;
        Ok(Scheme {
            w: vec![vec![0.0; s.points.len()]; dim],
            ustar: (0..dim).map(|_| DistVector::zeros(&ul)).collect(),
            dudt: (0..dim).map(|_| DistVector::zeros(&ul)).collect(),
            rhs: DistVector::zeros(&ul),
            tmp: DistVector::zeros(&ul),
            force: DistVector::zeros(&ul),
            delta: DistVector::zeros(&ul),
            at_grad: ops.grad.iter().map(|g| DistVector::zeros(g.layout())).collect(),
            at_div: ops.div.iter().map(|g| DistVector::zeros(g.layout())).collect(),
            prhs: DistVector::zeros(&pl),
            ptmp: DistVector::zeros(&pl),
            phi: DistVector::zeros(&pl),
            div_rhs: DistVector::zeros(ops.pressure_mass.layout()),
            div_u: DistVector::zeros(ops.pressure_mass.layout()),
            rotational,
            null,
            outflow: pdir[..s.n_p()].to_vec(),
            vd,
            bcs,
            nu,
            configs,
            momentum: None,
            pressure,
            correction,
            ops,
        })
    }

    /// The state at rest at time `t0`, with the boundary velocity of `t0` at Dirichlet nodes.
    pub fn rest(&self, s: &Spaces, t0: f64) -> FlowState {
        self.start_from(s, t0, |_| ([0.0; 3], 0.0))
    }

    /// The state at time `t0` with velocity and pressure interpolated from `init` (a function
    /// of the point returning both), the boundary velocity of `t0` at Dirichlet nodes.
    pub fn start_from(&self, s: &Spaces, t0: f64, init: impl Fn(&[f64; 3]) -> ([f64; 3], f64)) -> FlowState {
        let mut u: Vec<DistVector> = (0..s.dim).map(|_| DistVector::zeros(self.ops.mass.layout())).collect();
        for (d, ud) in u.iter_mut().enumerate() {
            for (v, x) in ud.owned_mut().iter_mut().zip(&s.points) {
                *v = init(x).0[d];
            }
            set_boundary((&self.ops, &self.vd, &self.bcs), s, ud, d, t0);
        }
        let mut p = DistVector::zeros(self.ops.laplacian.layout());
        for (v, x) in p.owned_mut().iter_mut().zip(&s.points_p) {
            *v = init(x).1;
        }
        FlowState {
            u_prev: u.clone(),
            u,
            p,
            t: t0,
            step: 0,
        }
    }

    /// The momentum solver's accumulated timings (set-up, updates, solves), once built.
    pub fn momentum_timings(&self) -> Option<crate::solver::SolverTimings> {
        self.momentum.as_ref().map(|m| m.timings())
    }

    /// The names of the momentum (once built), pressure and correction solvers.
    pub fn solver_names(&self) -> [String; 3] {
        [
            self.momentum
                .as_ref()
                .map_or_else(|| "not built".to_string(), |m| m.name()),
            self.pressure.name(),
            self.correction.name(),
        ]
    }

    /// Collective: advances `st` by `dt`. Errors: a solve that does not converge, a set-up
    /// failure.
    pub fn step(&mut self, comm: &Comm, s: &mut Spaces, st: &mut FlowState, dt: f64) -> Result<StepStats> {
        let mut stats = StepStats::default();
        // BDF2 (BDF1 at the first step): ∂u/∂t ≈ α uⁿ⁺¹ − c1 uⁿ − c2 uⁿ⁻¹.
        let bdf = if st.step > 0 {
            Bdf {
                alpha: 1.5 / dt,
                c1: 2.0 / dt,
                c2: -0.5 / dt,
                second: true,
                dt,
            }
        } else {
            Bdf {
                alpha: 1.0 / dt,
                c1: 1.0 / dt,
                c2: 0.0,
                second: false,
                dt,
            }
        };
        let start = Instant::now();
        self.momentum_step(comm, s, st, &bdf, &mut stats)?;
        stats.momentum_seconds = comm.max_f64(start.elapsed().as_secs_f64());
        let start = Instant::now();
        self.pressure_step(comm, s, st, bdf.alpha, &mut stats)?;
        stats.pressure_seconds = comm.max_f64(start.elapsed().as_secs_f64());
        let start = Instant::now();
        self.correction_step(comm, s, st, &bdf, &mut stats)?;
        stats.correction_seconds = comm.max_f64(start.elapsed().as_secs_f64());
        st.t += dt;
        st.step += 1;
        Ok(stats)
    }

    /// Collective: the momentum matrix of `w = 2uⁿ − uⁿ⁻¹` (`uⁿ` at the first step), the
    /// solver's update (set-up at the first step), and `u*` per component.
    fn momentum_step(
        &mut self,
        comm: &Comm,
        s: &mut Spaces,
        st: &FlowState,
        bdf: &Bdf,
        stats: &mut StepStats,
    ) -> Result<()> {
        let t_new = st.t + bdf.dt;
        for d in 0..s.dim {
            let (u, up) = (st.u[d].owned(), st.u_prev[d].owned());
            let w = &mut self.w[d];
            for i in 0..s.n_u() {
                w[i] = if bdf.second { 2.0 * u[i] - up[i] } else { u[i] };
            }
            s.halo_u.forward(comm, w);
        }
        self.ops.set_momentum(s, bdf.alpha, self.nu, &self.w);
        let setup = Instant::now();
        match self.momentum.as_mut() {
            Some(m) => m.update(comm, &self.ops.momentum, &SolverInputs::default())?,
            None => {
                let m = self
                    .configs
                    .momentum
                    .build(comm, &self.ops.momentum, &SolverInputs::default())?;
                self.momentum = Some(m);
            }
        }
        stats.momentum_setup_seconds = comm.max_f64(setup.elapsed().as_secs_f64());
        for d in 0..s.dim {
            // tmp = c1 uⁿ + c2 uⁿ⁻¹; rhs = M tmp + B_d pⁿ.
            let (u, up) = (st.u[d].owned(), st.u_prev[d].owned());
            for ((t, a), b) in self.tmp.owned_mut().iter_mut().zip(u).zip(up) {
                *t = bdf.c1 * a + bdf.c2 * b;
            }
            self.ops.mass.spmv(comm, &mut self.tmp, &mut self.rhs);
            self.at_grad[d].owned_mut().copy_from_slice(st.p.owned());
            self.ops.grad[d].spmv(comm, &mut self.at_grad[d], &mut self.force);
            self.rhs.axpy(1.0, &self.force);
            let bc = (&self.ops, &self.vd, &self.bcs);
            set_boundary(bc, s, &mut self.rhs, d, t_new);
            self.ustar[d].copy_from(&st.u[d]);
            set_boundary(bc, s, &mut self.ustar[d], d, t_new);
            let m = self
                .momentum
                .as_mut()
                .ok_or_else(|| Error::input("momentum solver missing"))?;
            let r = m.solve(comm, &self.ops.momentum, &self.rhs, &mut self.ustar[d]);
            stats.momentum_iterations += converged(r?, "momentum", d, st)?.iterations;
        }
        Ok(())
    }

    /// Collective: the pressure increment `K_p φ = −α Σ_d B_dᵀ u*_d` (φ = 0 on outflows), and
    /// `Σ_d B_dᵀ u*_d` kept for the rotational update.
    fn pressure_step(
        &mut self,
        comm: &Comm,
        s: &Spaces,
        st: &FlowState,
        alpha: f64,
        stats: &mut StepStats,
    ) -> Result<()> {
        self.prhs.fill(0.0);
        self.div_rhs.fill(0.0);
        for d in 0..s.dim {
            self.at_div[d].owned_mut().copy_from_slice(self.ustar[d].owned());
            self.ops.div[d].spmv(comm, &mut self.at_div[d], &mut self.ptmp);
            self.prhs.axpy(-alpha, &self.ptmp);
            self.div_rhs.axpy(1.0, &self.ptmp); // Σ_d B_dᵀ u*_d
        }
        for (b, &o) in self.prhs.owned_mut().iter_mut().zip(&self.outflow) {
            if o {
                *b = 0.0;
            }
        }
        // Without an outflow, −α∫∇·u* = −α∮u*·n vanishes only up to the interpolation error of
        // the boundary velocity (and the solves' tolerance): the constants' component of the
        // right-hand side is that defect, not flow, and is removed (as PETSc's KSP does for an
        // operator with a null space) so the singular system is consistent.
        if let Some(null) = self.null.as_mut() {
            null.project(comm, &mut self.prhs);
        }
        self.phi.fill(0.0);
        let r = self
            .pressure
            .solve(comm, &self.ops.laplacian, &self.prhs, &mut self.phi);
        stats.pressure_iterations = converged(r?, "pressure", 0, st)?.iterations;
        Ok(())
    }

    /// Collective: `uⁿ⁺¹ = u* + δ` with `M δ = B_d φ / α` (δ = 0 at Dirichlet nodes), the time
    /// derivative for the forces, and the pressure update.
    fn correction_step(
        &mut self,
        comm: &Comm,
        s: &Spaces,
        st: &mut FlowState,
        bdf: &Bdf,
        stats: &mut StepStats,
    ) -> Result<()> {
        for d in 0..s.dim {
            self.at_grad[d].owned_mut().copy_from_slice(self.phi.owned());
            self.ops.grad[d].spmv(comm, &mut self.at_grad[d], &mut self.force);
            self.force.scale(1.0 / bdf.alpha);
            for r in self.ops.owned_dirichlet_rows() {
                self.force.owned_mut()[r] = 0.0;
            }
            self.delta.fill(0.0);
            let r = self
                .correction
                .solve(comm, &self.ops.correction_mass, &self.force, &mut self.delta);
            stats.correction_iterations += converged(r?, "correction", d, st)?.iterations;
            // uⁿ⁺¹ = u* + δ; ∂u/∂t ≈ α uⁿ⁺¹ − c1 uⁿ − c2 uⁿ⁻¹, the scheme's own difference.
            self.ustar[d].axpy(1.0, &self.delta);
            let (new, u, up) = (self.ustar[d].owned(), st.u[d].owned(), st.u_prev[d].owned());
            for (((t, n), a), b) in self.dudt[d].owned_mut().iter_mut().zip(new).zip(u).zip(up) {
                *t = bdf.alpha * n - bdf.c1 * a - bdf.c2 * b;
            }
            std::mem::swap(&mut st.u_prev[d], &mut st.u[d]);
            st.u[d].copy_from(&self.ustar[d]);
        }
        st.p.axpy(1.0, &self.phi);
        if let Some(solver) = self.rotational.as_mut() {
            self.div_u.fill(0.0);
            let r = solver.solve(comm, &self.ops.pressure_mass, &self.div_rhs, &mut self.div_u);
            stats.correction_iterations += converged(r?, "divergence projection", 0, st)?.iterations;
            st.p.axpy(-self.nu, &self.div_u);
        }
        Ok(())
    }
}

/// Sets the owned Dirichlet entries of component `d` of `v` to the boundary velocity at `t`.
fn set_boundary(bc: (&Operators, &VelocityDirichlet, &Boundaries), s: &Spaces, v: &mut DistVector, d: usize, t: f64) {
    let (ops, vd, bcs) = bc;
    let o = v.owned_mut();
    for r in ops.owned_dirichlet_rows() {
        if let Some(k) = vd.owned[r] {
            o[r] = bcs.velocity(k, &s.points[r], t, s.dim)[d];
        }
    }
}

/// A solve's statistics when it converged, else the error naming the solve, step and time.
fn converged(stats: SolveStats, what: &str, component: usize, st: &FlowState) -> Result<SolveStats> {
    match stats.failure() {
        None => Ok(stats),
        Some(why) => Err(Error::Solve(format!(
            "{what} solve (component {component}) of step {} (t = {:.6e}): {why}",
            st.step + 1,
            st.t
        ))),
    }
}

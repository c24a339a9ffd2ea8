//! The flow as a [`Stepper`] of the shared [`crate::time::TimeLoop`]: one step of the scheme,
//! then the step's bookkeeping (iterations, the steady-state residual, the CFL number, values
//! that are no longer finite, the case's monitor), and the fields that snapshots and checkpoints
//! hold: velocity (a P2 vector) and pressure (P1), plus the previous velocity that BDF2 needs,
//! for checkpoints only.

use super::cases::CylinderMonitor;
use super::scheme::{FlowState, Scheme, StepStats};
use super::spaces::Spaces;
use super::NsIterations;
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::{FieldSpec, Series};
use crate::solver::SolverTimings;
use crate::time::{restore_field, Stepper};

/// Names of the fields.
pub const VELOCITY: &str = "velocity";
/// See [`VELOCITY`].
pub const PRESSURE: &str = "pressure";
/// The velocity one step back (checkpoints only).
pub const VELOCITY_PREVIOUS: &str = "velocity_previous";

/// What the steps so far have cost and shown.
#[derive(Clone, Debug, Default)]
pub struct StepRecord {
    /// Iterations per step.
    pub iterations: NsIterations,
    /// Seconds summed over the steps (the momentum set-up only over the steps after the first).
    pub sums: StepStats,
    /// The momentum solver's set-up at this run's first step.
    pub first_setup: f64,
    /// `max|uⁿ⁺¹ − uⁿ| / Δt` of the last step.
    pub steady_residual: f64,
    /// The largest CFL number seen.
    pub cfl_max: f64,
}

/// The flow's stepper.
pub struct NsStepper {
    /// The spaces.
    pub s: Spaces,
    /// The scheme with its matrices and solvers.
    pub scheme: Scheme,
    /// The fields.
    pub st: FlowState,
    /// The cylinder case's coefficients, recorded every step.
    pub monitor: Option<CylinderMonitor>,
    /// The bookkeeping of the steps.
    pub record: StepRecord,
    steady_tol: Option<f64>,
    h_min: f64,
    specs: [FieldSpec; 3],
    velocity: Vec<f64>,
    previous: Vec<f64>,
}

impl NsStepper {
    /// The stepper of state `st`; `h_min` is the smallest node distance (for the CFL number).
    pub fn new(s: Spaces, scheme: Scheme, st: FlowState, (steady_tol, h_min): (Option<f64>, f64)) -> NsStepper {
        let dim = s.dim;
        let n = s.n_u() * dim;
        let mut me = NsStepper {
            specs: [
                FieldSpec::p2(VELOCITY, dim),
                FieldSpec::p1(PRESSURE, 1),
                FieldSpec::p2(VELOCITY_PREVIOUS, dim),
            ],
            s,
            scheme,
            st,
            monitor: None,
            record: StepRecord {
                steady_residual: f64::INFINITY,
                ..StepRecord::default()
            },
            steady_tol,
            h_min,
            velocity: vec![0.0; n],
            previous: vec![0.0; n],
        };
        me.interleave();
        me
    }

    /// Copies the velocity components into the interleaved field buffers.
    fn interleave(&mut self) {
        let dim = self.s.dim;
        for (d, (u, up)) in self.st.u.iter().zip(&self.st.u_prev).enumerate() {
            for (i, (a, b)) in u.owned().iter().zip(up.owned()).enumerate() {
                self.velocity[i * dim + d] = *a;
                self.previous[i * dim + d] = *b;
            }
        }
    }

    /// Collective: the step's bookkeeping; values that are not finite are an [`Error::Solve`]
    /// naming the step and time.
    fn after_step(&mut self, comm: &Comm, stats: StepStats, dt: f64) -> Result<()> {
        let r = &mut self.record;
        r.iterations.momentum.push(stats.momentum_iterations);
        r.iterations.pressure.push(stats.pressure_iterations);
        r.iterations.correction.push(stats.correction_iterations);
        if r.iterations.momentum.len() == 1 {
            r.first_setup = stats.momentum_setup_seconds;
        } else {
            r.sums.momentum_setup_seconds += stats.momentum_setup_seconds;
        }
        r.sums.momentum_seconds += stats.momentum_seconds;
        r.sums.pressure_seconds += stats.pressure_seconds;
        r.sums.correction_seconds += stats.correction_seconds;
        let (change, speed, finite) = change_and_speed(&self.st);
        if comm.max_f64(if finite { 0.0 } else { 1.0 }) > 0.0 {
            return Err(Error::Solve(format!(
                "the flow is not finite (NaN or Inf) after step {} (t = {:.6e}): the time step is too \
                 large for this flow, or the data are wrong",
                self.st.step, self.st.t
            )));
        }
        let (change, speed) = (comm.max_f64(change), comm.max_f64(speed));
        r.steady_residual = change / dt;
        let cfl = speed * dt / self.h_min;
        if cfl > 1.0 && r.cfl_max <= 1.0 && comm.is_root() {
            tracing::warn!(
                "CFL number {cfl:.2} > 1 at step {} (t = {:.4e}): the extrapolated convection of the \
                 scheme may turn unstable; lower --dt or --cfl",
                self.st.step,
                self.st.t
            );
        }
        r.cfl_max = r.cfl_max.max(cfl);
        if let Some(m) = self.monitor.as_mut() {
            m.record(comm, &mut self.s, &self.st, &self.scheme.dudt)?;
        }
        self.interleave();
        Ok(())
    }
}

/// Local: the largest change of the velocity over the last step, the largest speed, and
/// whether every value is finite.
fn change_and_speed(st: &FlowState) -> (f64, f64, bool) {
    let (mut change, mut speed2, mut finite) = (0.0f64, 0.0f64, true);
    for i in 0..st.u[0].owned().len() {
        let mut s2 = 0.0;
        for (u, up) in st.u.iter().zip(&st.u_prev) {
            let (a, b) = (u.owned()[i], up.owned()[i]);
            finite &= a.is_finite();
            change = change.max((a - b).abs());
            s2 += a * a;
        }
        speed2 = speed2.max(s2);
    }
    finite &= st.p.owned().iter().all(|v| v.is_finite());
    (change, speed2.sqrt(), finite)
}

impl Stepper for NsStepper {
    fn stable_dt(&self) -> f64 {
        f64::INFINITY
    }

    fn set_dt(&mut self, _comm: &Comm, dt: f64) -> Result<()> {
        Err(Error::input(format!(
            "navier-stokes takes steps of one size (BDF2's coefficients assume it); asked to change to {dt:e}"
        )))
    }

    fn step(&mut self, comm: &Comm, t: f64, dt: f64) -> Result<()> {
        // The plan's time, not a running sum: a restarted run sees bitwise the same times.
        self.st.t = t;
        let stats = self.scheme.step(comm, &mut self.s, &mut self.st, dt)?;
        self.after_step(comm, stats, dt)
    }

    fn fields(&self) -> Vec<(FieldSpec, &[f64])> {
        vec![
            (self.specs[0].clone(), &self.velocity[..]),
            (self.specs[1].clone(), self.st.p.owned()),
        ]
    }

    fn history(&self) -> Vec<(FieldSpec, &[f64])> {
        vec![(self.specs[2].clone(), &self.previous[..])]
    }

    fn restore(&mut self, fields: &[(FieldSpec, Vec<f64>)]) -> Result<()> {
        restore_field(fields, &self.specs[0], &mut self.velocity)?;
        restore_field(fields, &self.specs[2], &mut self.previous)?;
        restore_field(fields, &self.specs[1], self.st.p.owned_mut())?;
        let dim = self.s.dim;
        for (d, (u, up)) in self.st.u.iter_mut().zip(self.st.u_prev.iter_mut()).enumerate() {
            for (i, (a, b)) in u.owned_mut().iter_mut().zip(up.owned_mut()).enumerate() {
                *a = self.velocity[i * dim + d];
                *b = self.previous[i * dim + d];
            }
        }
        Ok(())
    }

    fn series(&self) -> Option<Series> {
        self.monitor.as_ref().map(CylinderMonitor::series)
    }

    fn restore_series(&mut self, series: Option<&Series>) -> Result<()> {
        match (self.monitor.as_mut(), series) {
            (Some(m), Some(series)) => m.restore(series, self.st.t),
            _ => Ok(()),
        }
    }

    fn solver_timings(&self) -> Option<SolverTimings> {
        self.scheme.momentum_timings()
    }

    fn finished(&self) -> bool {
        self.steady_tol.is_some_and(|tol| self.record.steady_residual < tol)
    }
}

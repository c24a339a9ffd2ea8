//! Krylov solvers on distributed vectors: preconditioned CG, right-preconditioned GMRES(m),
//! flexible GMRES and right-preconditioned BiCGStab, written against the [`LinearOperator`] and
//! [`Preconditioner`](crate::linalg::Preconditioner) traits of [`crate::linalg`]. They sit
//! between the discretizations (which assemble the operator) and the domain-decomposition
//! preconditioners and problem drivers (which call them). Each method is a short loop of pure
//! algebra; the shared bookkeeping (convergence test, NaN check, history, iteration cap) lives
//! in [`Monitor`].
//!
//! Every method monitors the unpreconditioned residual 2-norm `‖b − A x‖` and stops when
//! `‖r‖ ≤ max(rtol·‖b‖, atol)`, so the tolerance means the same for all of them and does not
//! depend on the preconditioner. A zero right-hand side gives `x = 0` after zero iterations.

mod bicgstab;
mod cg;
mod gmres;
mod lanczos;
mod monitor;

pub use bicgstab::{bicgstab, Bicgstab};
pub use cg::{cg, require_symmetric, Cg};
pub use gmres::{fgmres, gmres, Gmres};
pub use lanczos::Lanczos;
pub use monitor::Monitor;

use crate::comm::Comm;
use crate::comm::Layout;
use crate::error::{Error, Result};
use crate::linalg::{DistVector, LinearOperator};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::ops::ControlFlow;
use std::time::Instant;

/// Stopping criteria and method parameters shared by all Krylov solvers (TOML keys in kebab-case).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SolverOptions {
    /// Relative tolerance: converged when `‖r‖ ≤ rtol·‖b‖` (or `‖r‖ ≤ atol`).
    pub rtol: f64,
    /// Absolute tolerance on `‖r‖`.
    pub atol: f64,
    /// Largest number of iterations (operator applications in the Krylov loop).
    pub max_iter: usize,
    /// Krylov basis size of GMRES and FGMRES before a restart.
    pub restart: usize,
    /// Whether to keep the residual norm of every iteration in [`SolveStats::history`].
    pub record_history: bool,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            rtol: 1e-8,
            atol: 1e-50,
            max_iter: 10_000,
            restart: 30,
            record_history: false,
        }
    }
}

impl SolverOptions {
    /// Checks the options are usable; every solver calls this before its first collective.
    pub fn validate(&self) -> Result<()> {
        if !(self.rtol.is_finite() && self.rtol > 0.0) {
            return Err(Error::Config(format!(
                "solver rtol must be positive and finite, got {}",
                self.rtol
            )));
        }
        if !(self.atol.is_finite() && self.atol >= 0.0) {
            return Err(Error::Config(format!(
                "solver atol must be non-negative and finite, got {}",
                self.atol
            )));
        }
        if self.max_iter == 0 {
            return Err(Error::Config(
                "solver max-iter is 0: zero iterations cannot solve anything".into(),
            ));
        }
        if self.restart == 0 {
            return Err(Error::Config("solver restart must be at least 1".into()));
        }
        Ok(())
    }
}

/// Why a solve stopped.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// `‖r‖ ≤ max(rtol·‖b‖, atol)`.
    Converged,
    /// The iteration cap was reached first.
    MaxIterations,
    /// The method cannot continue (a division by a quantity that vanished); says which.
    Breakdown(String),
    /// A residual norm was NaN or infinite.
    NotANumber,
}

/// The outcome of a solve, identical on every rank.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SolveStats {
    /// Why the solve stopped.
    pub reason: StopReason,
    /// Iterations done (operator applications inside the Krylov loop).
    pub iterations: usize,
    /// `‖b − A x₀‖`.
    pub initial_residual: f64,
    /// The last monitored residual norm (see each method for which one).
    pub final_residual: f64,
    /// `final_residual / ‖b‖` (0 for a zero right-hand side).
    pub relative_residual: f64,
    /// Residual norm after each iteration, starting with the initial one (when requested).
    pub history: Vec<f64>,
    /// Wall time of the solve in seconds.
    pub solve_seconds: f64,
    /// CG's estimate of the condition number of the preconditioned operator, `λ_max / λ_min` of
    /// its Lanczos matrix (CG and FETI's dual CG; `None` for the other methods or before two
    /// iterations).
    pub condition_estimate: Option<f64>,
}

impl SolveStats {
    /// Whether the solve met its tolerance.
    pub fn converged(&self) -> bool {
        self.reason == StopReason::Converged
    }

    /// Why the solve is not a solution, in one line for a person (`None` when it converged):
    /// the iteration cap with the residual reached, a breakdown with its cause, or a norm that
    /// is not finite. Drivers turn it into [`Error::Solve`] after writing their report.
    pub fn failure(&self) -> Option<String> {
        match &self.reason {
            StopReason::Converged => None,
            StopReason::MaxIterations => Some(format!(
                "not converged: max-iter = {} reached at relative residual {:.3e} (raise --max-iter \
                 or choose a stronger --solver)",
                self.iterations, self.relative_residual
            )),
            StopReason::Breakdown(why) => Some(format!("breakdown after {} iterations: {why}", self.iterations)),
            StopReason::NotANumber => Some(format!(
                "the residual norm is not finite (NaN or Inf) after {} iterations: the data or the \
                 operator hold values that overflow",
                self.iterations
            )),
        }
    }

    /// [`SolveStats::failure`] as a `Result`: `Ok(self)` when the solve converged.
    pub fn ensure_converged(self) -> Result<SolveStats> {
        match self.failure() {
            None => Ok(self),
            Some(why) => Err(Error::Solve(why)),
        }
    }
}

/// Collective: the checks every solver makes before iterating (options, vector sizes), agreed
/// by all ranks so that a mismatch on one rank cannot leave the others waiting in a reduction.
/// A rank that fails a check itself returns its own error (so invalid options, the same on
/// every rank, give [`Error::Config`] everywhere); the others return [`Error::Remote`].
fn check_setup(
    comm: &Comm,
    a: &dyn LinearOperator,
    b: &DistVector,
    x: &DistVector,
    opts: &SolverOptions,
) -> Result<()> {
    let check = || -> Result<()> {
        opts.validate()?;
        let layout = a.layout();
        if b.n_owned != layout.n_owned || b.data.len() < layout.n_owned {
            return Err(Error::input(format!(
                "right-hand side has {} owned entries, the operator {}",
                b.n_owned, layout.n_owned
            )));
        }
        if x.n_owned != layout.n_owned || x.data.len() != layout.n_local() {
            return Err(Error::input(format!(
                "solution vector has {} owned + {} ghost entries, the operator needs {} + {}",
                x.n_owned,
                x.data.len().saturating_sub(x.n_owned),
                layout.n_owned,
                layout.n_local() - layout.n_owned
            )));
        }
        Ok(())
    };
    match comm.agree(check()) {
        Err(Error::Remote { .. }) if check().is_err() => check(),
        agreed => agreed,
    }
}

/// Collective: the start every method shares: set-up checks, `r = b − A x₀`, `‖b‖` and `‖r‖`
/// (one fused allreduce), then either a [`Monitor`] to iterate with or, when no iteration is
/// needed (zero right-hand side: `x = 0`; `x₀` already converged; NaN), the finished statistics.
fn begin(
    comm: &Comm,
    a: &dyn LinearOperator,
    b: &DistVector,
    x: &mut DistVector,
    r: &mut DistVector,
    opts: &SolverOptions,
) -> Result<ControlFlow<SolveStats, Monitor>> {
    let start = Instant::now();
    check_setup(comm, a, b, x, opts)?;
    residual(comm, a, b, x, r);
    let (bb, rr) = DistVector::dots2(comm, b, b, r, r); // ‖b‖², ‖r₀‖²
    if bb == 0.0 {
        // A x = 0 has the solution 0 whatever the initial guess.
        x.fill(0.0);
        r.fill(0.0);
        return Ok(ControlFlow::Break(
            Monitor::new(opts, 0.0, 0.0, start).finish(StopReason::Converged),
        ));
    }
    let mon = Monitor::new(opts, bb.sqrt(), rr.sqrt(), start);
    Ok(match mon.check(rr.sqrt()) {
        Some(reason) => ControlFlow::Break(mon.finish(reason)),
        None => ControlFlow::Continue(mon),
    })
}

/// `N` vectors a Krylov method keeps between solves: allocated for a layout at the first solve
/// and reused by every later solve on the same layout, so a time loop's solves allocate nothing.
#[derive(Debug)]
pub struct Vectors<const N: usize> {
    /// The vectors and the `(offset, owned, local)` shape of the layout they were made for.
    vecs: Option<([DistVector; N], (u64, usize, usize))>,
}

impl<const N: usize> Default for Vectors<N> {
    fn default() -> Self {
        Vectors { vecs: None }
    }
}

impl<const N: usize> Vectors<N> {
    /// The vectors over `layout`, zeroed only when (re)allocated: the methods overwrite them.
    fn get(&mut self, layout: &Layout) -> &mut [DistVector; N] {
        let shape = (layout.offset, layout.n_owned, layout.n_local());
        if self.vecs.as_ref().is_some_and(|v| v.1 != shape) {
            self.vecs = None;
        }
        &mut self
            .vecs
            .get_or_insert_with(|| (std::array::from_fn(|_| DistVector::zeros(layout)), shape))
            .0
    }
}

/// Collective: `r = b − A x` (refreshes `x`'s ghosts).
fn residual(comm: &Comm, a: &dyn LinearOperator, b: &DistVector, x: &mut DistVector, r: &mut DistVector) {
    a.apply(comm, x, r); // r = A x
    r.aypx(-1.0, b); // r = b − A x
}

/// Collective: `out[i] = vs[i] · w` for every `i`, with a single allreduce (`local` is scratch
/// of the same length as `out`).
fn multi_dot(comm: &Comm, vs: &[DistVector], w: &DistVector, local: &mut [f64], out: &mut [f64]) {
    for (l, v) in local.iter_mut().zip(vs) {
        *l = v.owned().iter().zip(w.owned()).map(|(a, b)| a * b).sum();
    }
    comm.world().all_reduce_into(local, out, SystemOperation::sum());
}

/// Collective: three dot products `(a·b, c·d, e·f)` with a single allreduce.
fn dots3(comm: &Comm, pairs: [(&DistVector, &DistVector); 3]) -> [f64; 3] {
    let local = pairs.map(|(u, v)| u.owned().iter().zip(v.owned()).map(|(a, b)| a * b).sum::<f64>());
    let mut global = [0.0; 3];
    comm.world()
        .all_reduce_into(&local[..], &mut global[..], SystemOperation::sum());
    global
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let d = SolverOptions::default();
        assert_eq!((d.rtol, d.atol, d.max_iter, d.restart), (1e-8, 1e-50, 10_000, 30));
        assert!(d.validate().is_ok());
        for bad in [
            SolverOptions { rtol: 0.0, ..d.clone() },
            SolverOptions {
                rtol: -1e-3,
                ..d.clone()
            },
            SolverOptions {
                rtol: f64::NAN,
                ..d.clone()
            },
            SolverOptions {
                rtol: f64::INFINITY,
                ..d.clone()
            },
            SolverOptions {
                atol: -1.0,
                ..d.clone()
            },
            SolverOptions {
                max_iter: 0,
                ..d.clone()
            },
            SolverOptions {
                restart: 0,
                ..d.clone()
            },
        ] {
            assert!(matches!(bad.validate(), Err(Error::Config(_))), "{bad:?} accepted");
        }
        let e = SolverOptions { max_iter: 0, ..d }.validate().unwrap_err().to_string();
        assert!(e.contains("zero iterations"), "{e}");
    }

    #[test]
    fn every_reason_but_convergence_is_a_failure_with_its_cause() {
        let stats = |reason| SolveStats {
            reason,
            iterations: 11,
            initial_residual: 1.0,
            final_residual: 1e4,
            relative_residual: 1.374e4,
            history: Vec::new(),
            solve_seconds: 0.0,
            condition_estimate: None,
        };
        assert!(stats(StopReason::Converged).ensure_converged().is_ok());
        let why = |r| stats(r).ensure_converged().unwrap_err().to_string();
        let e = why(StopReason::MaxIterations);
        assert!(
            e.starts_with("solve failed: not converged: max-iter = 11") && e.contains("1.374e4"),
            "{e}"
        );
        let e = why(StopReason::Breakdown("p·Ap = -2.57e7 is not positive".into()));
        assert!(e.contains("breakdown after 11 iterations: p·Ap = -2.57e7"), "{e}");
        assert!(why(StopReason::NotANumber).contains("not finite (NaN or Inf) after 11 iterations"));
    }

    #[test]
    fn options_from_toml() {
        let o: SolverOptions = toml::from_str("rtol = 1e-6\nmax-iter = 50\nrecord-history = true").unwrap();
        assert_eq!(o.rtol, 1e-6);
        assert_eq!(o.max_iter, 50);
        assert!(o.record_history);
        assert_eq!(o.restart, 30);
        assert!(toml::from_str::<SolverOptions>("max_iter = 5").is_err());
        assert!(toml::from_str::<SolverOptions>("tolerance = 1e-6").is_err());
    }
}

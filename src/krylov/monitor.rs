//! The bookkeeping every Krylov loop shares (DUNE-ISTL's `Iteration` lesson): the stopping test
//! `‖r‖ ≤ max(rtol·‖b‖, atol)`, the NaN check, the iteration cap and the residual history, so
//! that the methods themselves hold only their algebra.

use super::{SolveStats, SolverOptions, StopReason};
use std::time::Instant;

/// Tracks one solve: counts iterations, records residual norms and decides when to stop.
#[derive(Clone, Debug)]
pub struct Monitor {
    target: f64,
    b_norm: f64,
    max_iter: usize,
    record: bool,
    iterations: usize,
    initial: f64,
    last: f64,
    history: Vec<f64>,
    start: Instant,
}

impl Monitor {
    /// Starts monitoring a solve begun at `start` with `‖b‖ = b_norm` and initial residual norm
    /// `r0`; the stopping threshold is `max(rtol·b_norm, atol)`.
    pub fn new(opts: &SolverOptions, b_norm: f64, r0: f64, start: Instant) -> Monitor {
        let mut history = Vec::new();
        if opts.record_history {
            // Room for a typical solve without reallocation in the loop; only long solves grow it
            // (reserving max-iter entries would allocate 80 KB per solve of a time loop).
            history.reserve(opts.max_iter.min(4096) + 1);
            history.push(r0);
        }
        Monitor {
            target: (opts.rtol * b_norm).max(opts.atol),
            b_norm,
            max_iter: opts.max_iter,
            record: opts.record_history,
            iterations: 0,
            initial: r0,
            last: r0,
            history,
            start,
        }
    }

    /// The residual norm at or below which the solve has converged.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// Iterations counted so far.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The latest residual norm.
    pub fn residual(&self) -> f64 {
        self.last
    }

    /// Whether residual norm `rnorm` meets the tolerance.
    pub fn converged(&self, rnorm: f64) -> bool {
        rnorm <= self.target
    }

    /// Why to stop with residual norm `rnorm` after the iterations counted so far, if at all:
    /// NaN first, then convergence, then the iteration cap.
    pub fn check(&self, rnorm: f64) -> Option<StopReason> {
        if !rnorm.is_finite() {
            Some(StopReason::NotANumber)
        } else if self.converged(rnorm) {
            Some(StopReason::Converged)
        } else if self.iterations >= self.max_iter {
            Some(StopReason::MaxIterations)
        } else {
            None
        }
    }

    /// Counts one iteration ending with residual norm `rnorm`; returns why to stop, if at all.
    pub fn step(&mut self, rnorm: f64) -> Option<StopReason> {
        self.iterations += 1;
        self.last = rnorm;
        if self.record {
            self.history.push(rnorm);
        }
        self.check(rnorm)
    }

    /// Replaces the current iteration's residual norm by a better one (GMRES's recomputed true
    /// residual at a restart) without counting an iteration; returns why to stop, if at all.
    pub fn refine(&mut self, rnorm: f64) -> Option<StopReason> {
        self.last = rnorm;
        if let Some(h) = self.history.last_mut() {
            *h = rnorm;
        }
        self.check(rnorm)
    }

    /// The statistics of the finished solve.
    pub fn finish(self, reason: StopReason) -> SolveStats {
        SolveStats {
            reason,
            iterations: self.iterations,
            initial_residual: self.initial,
            final_residual: self.last,
            relative_residual: if self.b_norm > 0.0 {
                self.last / self.b_norm
            } else {
                0.0
            },
            history: self.history,
            solve_seconds: self.start.elapsed().as_secs_f64(),
            condition_estimate: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_for_the_right_reason() {
        let opts = SolverOptions {
            rtol: 1e-3,
            atol: 1e-12,
            max_iter: 3,
            record_history: true,
            ..SolverOptions::default()
        };
        let mut m = Monitor::new(&opts, 10.0, 5.0, Instant::now());
        assert_eq!(m.target(), 1e-2);
        assert_eq!(m.check(5.0), None);
        assert_eq!(m.step(1.0), None);
        assert_eq!(m.step(f64::NAN), Some(StopReason::NotANumber));
        assert_eq!(m.refine(0.5), None);
        assert_eq!(m.step(0.2), Some(StopReason::MaxIterations));
        assert_eq!(m.refine(0.01), Some(StopReason::Converged));
        let s = m.finish(StopReason::Converged);
        assert_eq!(s.iterations, 3);
        assert_eq!(s.history, vec![5.0, 1.0, 0.5, 0.01]);
        assert_eq!((s.initial_residual, s.final_residual), (5.0, 0.01));
        assert!((s.relative_residual - 1e-3).abs() < 1e-15);
        // atol wins over rtol·‖b‖ for a tiny right-hand side.
        let m = Monitor::new(&opts, 1e-12, 1.0, Instant::now());
        assert_eq!(m.target(), 1e-12);
    }
}

//! Preconditioned conjugate gradients for symmetric positive definite operators and
//! preconditioners.

use super::{begin, Lanczos, SolveStats, SolverOptions, StopReason, Vectors};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::linalg::{DistVector, LinearOperator, Preconditioner};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::ops::ControlFlow;

/// Collective: preconditioned CG on `A x = b` from the initial guess in `x`, with a workspace
/// of its own (a time loop keeps a [`Cg`] instead).
pub fn cg(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
) -> Result<SolveStats> {
    Cg::default().solve(comm, a, m, b, x, opts)
}

/// Preconditioned conjugate gradients, keeping its four work vectors between solves.
#[derive(Debug, Default)]
pub struct Cg {
    work: Vectors<4>,
    /// The Lanczos coefficients of the current solve (capacity kept between solves).
    lanczos: Lanczos,
}

impl Cg {
    /// Collective: preconditioned CG on `A x = b` from the initial guess in `x`.
    ///
    /// Monitors the recursively updated unpreconditioned residual `‖r‖₂` (`r = b − A x` in exact
    /// arithmetic), not the preconditioned `√(r·M⁻¹r)`. Per iteration: one operator and one
    /// preconditioner application and **two allreduces** (`p·Ap`, then `r·z` fused with `r·r`).
    /// Refuses with [`Error::Config`] an operator or a preconditioner that declares itself
    /// non-symmetric (CG would stagnate silently); a non-positive `p·Ap` or `r·z` stops with
    /// [`StopReason::Breakdown`].
    pub fn solve(
        &mut self,
        comm: &Comm,
        a: &dyn LinearOperator,
        m: &mut dyn Preconditioner,
        b: &DistVector,
        x: &mut DistVector,
        opts: &SolverOptions,
    ) -> Result<SolveStats> {
        require_symmetric(comm, a, m)?;
        let [r, z, p, q] = self.work.get(a.layout());
        let mut mon = match begin(comm, a, b, x, r, opts)? {
            ControlFlow::Break(stats) => return Ok(stats),
            ControlFlow::Continue(mon) => mon,
        };
        m.apply(comm, r, z); // z = M⁻¹ r
        p.copy_from(z); // p = z
        let mut rz = r.dot(comm, z); // ρ = r·z
        self.lanczos.clear();
        let lanczos = &mut self.lanczos;
        let finish = |mon: super::Monitor, reason, l: &Lanczos| {
            let mut stats = mon.finish(reason);
            stats.condition_estimate = l.condition();
            stats
        };
        loop {
            if rz.is_nan() || rz <= 0.0 {
                return Ok(finish(mon, breakdown("r·M⁻¹r", rz), lanczos));
            }
            a.apply(comm, p, q); // q = A p
            let pq = p.dot(comm, q);
            if pq.is_nan() || pq <= 0.0 {
                return Ok(finish(mon, breakdown("p·Ap", pq), lanczos));
            }
            let alpha = rz / pq; // α = ρ / (p·Ap)
            x.axpy(alpha, p); // x += α p
            r.axpy(-alpha, q); // r −= α A p
            m.apply(comm, r, z); // z = M⁻¹ r
            let (rz_new, rr) = DistVector::dots2(comm, r, z, r, r);
            lanczos.push(alpha, rz_new / rz);
            if let Some(reason) = mon.step(rr.sqrt()) {
                return Ok(finish(mon, reason, lanczos));
            }
            p.aypx(rz_new / rz, z); // p = z + β p, β = ρ_new / ρ
            rz = rz_new;
        }
    }
}

/// The stop reason for a quantity CG needs positive; NaN is reported as such.
fn breakdown(what: &str, value: f64) -> StopReason {
    if value.is_nan() {
        StopReason::NotANumber
    } else {
        StopReason::Breakdown(format!(
            "{what} = {value:e} is not positive: the operator or preconditioner is not positive definite"
        ))
    }
}

/// Collective: [`Error::Config`] on every rank unless the operator and the preconditioner are
/// symmetric on every rank (the operator's check may be local to a rank's block).
pub fn require_symmetric(comm: &Comm, a: &dyn LinearOperator, m: &dyn Preconditioner) -> Result<()> {
    let local = [i32::from(a.is_symmetric()), i32::from(m.is_symmetric())];
    let mut all = [0i32; 2];
    comm.world()
        .all_reduce_into(&local[..], &mut all[..], SystemOperation::min());
    if all[0] == 0 {
        return Err(Error::Config(
            "CG needs a symmetric operator, but the operator declares itself non-symmetric; use gmres, \
             fgmres or bicgstab"
                .into(),
        ));
    }
    if all[1] == 0 {
        return Err(Error::Config(format!(
            "CG needs a symmetric preconditioner, but preconditioner '{}' is not symmetric; use fgmres, \
             gmres or bicgstab, or a symmetric variant of the preconditioner",
            m.name()
        )));
    }
    Ok(())
}

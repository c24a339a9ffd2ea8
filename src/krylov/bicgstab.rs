//! BiCGStab (van der Vorst) with right preconditioning, for nonsymmetric operators when the
//! memory of GMRES's basis is not wanted.

use super::{begin, dots3, SolveStats, SolverOptions, StopReason, Vectors};
use crate::comm::Comm;
use crate::error::Result;
use crate::linalg::{DistVector, LinearOperator, Preconditioner};
use std::ops::ControlFlow;

/// Relative size below which a BiCGStab denominator counts as zero: `|u·v| ≤ TINY ‖u‖ ‖v‖`.
const TINY: f64 = f64::EPSILON * f64::EPSILON;

/// Collective: right-preconditioned BiCGStab on `A M⁻¹ u = b`, `x = M⁻¹ u`, from the initial
/// guess in `x`, with a workspace of its own (a time loop keeps a [`Bicgstab`] instead).
pub fn bicgstab(
    comm: &Comm,
    a: &dyn LinearOperator,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
) -> Result<SolveStats> {
    Bicgstab::default().solve(comm, a, m, b, x, opts)
}

/// BiCGStab, keeping its seven work vectors between solves.
#[derive(Debug, Default)]
pub struct Bicgstab {
    work: Vectors<7>,
}

impl Bicgstab {
    /// Collective: right-preconditioned BiCGStab on `A M⁻¹ u = b`, `x = M⁻¹ u`, from the initial
    /// guess in `x`.
    ///
    /// Right preconditioning leaves the residual unpreconditioned: it monitors the recursively
    /// updated `‖r‖₂` (and `‖s‖₂` at the half step, where it may stop early). Per iteration: two
    /// operator and two preconditioner applications and **three allreduces** (`r̂·v` with `v·v`;
    /// `s·s`, `t·s`, `t·t`; `r̂·r` with `r·r`). Stops with [`StopReason::Breakdown`] when `ρ = r̂·r`,
    /// `r̂·v` or `ω = t·s / t·t` vanishes relative to the norms involved.
    pub fn solve(
        &mut self,
        comm: &Comm,
        a: &dyn LinearOperator,
        m: &mut dyn Preconditioner,
        b: &DistVector,
        x: &mut DistVector,
        opts: &SolverOptions,
    ) -> Result<SolveStats> {
        let [r, r_hat, p, v, p_hat, s_hat, t] = self.work.get(a.layout());
        let mut mon = match begin(comm, a, b, x, r, opts)? {
            ControlFlow::Break(stats) => return Ok(stats),
            ControlFlow::Continue(mon) => mon,
        };
        r_hat.copy_from(r); // shadow residual r̂ = r₀
        let r_hat_norm = mon.residual();
        let mut rho = r_hat_norm * r_hat_norm; // ρ = r̂·r₀
        p.copy_from(r); // p = r₀
        loop {
            m.apply(comm, p, p_hat); // p̂ = M⁻¹ p
            a.apply(comm, p_hat, v); // v = A p̂
            let (rv, vv) = DistVector::dots2(comm, r_hat, v, v, v);
            if let Some(reason) = vanished("r̂·v", rv, r_hat_norm * vv.sqrt()) {
                return Ok(mon.finish(reason));
            }
            let alpha = rho / rv; // α = ρ / r̂·v
            r.axpy(-alpha, v); // s = r − α v (in r)
            m.apply(comm, r, s_hat); // ŝ = M⁻¹ s
            a.apply(comm, s_hat, t); // t = A ŝ
            let [ss, ts, tt] = dots3(comm, [(&*r, &*r), (&*t, &*r), (&*t, &*t)]);
            if mon.converged(ss.sqrt()) {
                x.axpy(alpha, p_hat); // x += α p̂ already meets the tolerance
                mon.step(ss.sqrt());
                return Ok(mon.finish(StopReason::Converged));
            }
            if let Some(reason) = vanished("t·s", ts, (tt * ss).sqrt()) {
                return Ok(mon.finish(reason));
            }
            let omega = ts / tt; // ω = t·s / t·t minimizes ‖s − ω t‖
            x.axpy(alpha, p_hat);
            x.axpy(omega, s_hat); // x += α p̂ + ω ŝ
            r.axpy(-omega, t); // r = s − ω t
            let (rho_new, rr) = DistVector::dots2(comm, r_hat, r, r, r);
            if let Some(reason) = mon.step(rr.sqrt()) {
                return Ok(mon.finish(reason));
            }
            if let Some(reason) = vanished("ρ = r̂·r", rho_new, r_hat_norm * rr.sqrt()) {
                return Ok(mon.finish(reason));
            }
            let beta = (rho_new / rho) * (alpha / omega); // β = (ρ_new / ρ)(α / ω)
            rho = rho_new;
            p.axpy(-omega, v);
            p.aypx(beta, r); // p = r + β (p − ω v)
        }
    }
}

/// The stop reason when `value` (a dot product of vectors whose norms multiply to `scale`) is
/// NaN or negligibly small, else `None`.
fn vanished(what: &str, value: f64, scale: f64) -> Option<StopReason> {
    if !value.is_finite() || !scale.is_finite() {
        Some(StopReason::NotANumber)
    } else if value.abs() <= TINY * scale {
        Some(StopReason::Breakdown(format!(
            "BiCGStab: {what} = {value:e} vanished (relative to {scale:e})"
        )))
    } else {
        None
    }
}

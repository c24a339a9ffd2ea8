//! The dual operators of FETI-1 and FETI-DP, the (projected) PCG on the interface, then the
//! primal recovery; see the parent module for the equations.

use super::{Feti, FetiPreconditioner, FetiStats, Method};
use crate::comm::Comm;
use crate::error::Result;
use crate::krylov::{Lanczos, SolveStats, StopReason};
use crate::linalg::{DistMatrix, DistVector};
use std::time::Instant;

/// Sum over the ranks of the dot product of the owned parts.
fn dot(comm: &Comm, x: &[f64], y: &[f64]) -> f64 {
    comm.sum_f64(x.iter().zip(y).map(|(a, b)| a * b).sum())
}

impl Feti {
    /// Collective: `y = F λ` on the owned multipliers (`lambda`'s ghosts are refreshed).
    fn apply_f(&mut self, comm: &Comm, lambda: &mut [f64], y: &mut [f64]) {
        self.interface.forward(comm, lambda);
        y.iter_mut().for_each(|v| *v = 0.0);
        for (l, jumps) in self.locals.iter_mut().zip(&self.interface.jumps) {
            l.w.iter_mut().for_each(|v| *v = 0.0);
            for &(p, m, s) in jumps {
                l.w[p as usize] += s * lambda[m as usize]; // w = B_sᵀ λ
            }
        }
        self.primal_solve(comm); // Ã⁻¹ Bᵀ λ
        for (l, jumps) in self.locals.iter().zip(&self.interface.jumps) {
            for &(p, m, s) in jumps {
                y[m as usize] += s * l.w[p as usize];
            }
        }
        self.interface.reverse_add(comm, y);
    }

    /// Collective: `w ← Ã⁻¹ w` in the subdomains' work vectors: `K_s⁺` in each (FETI-1), or the
    /// constrained solves plus the primal correction (FETI-DP).
    fn primal_solve(&mut self, comm: &Comm) {
        match &mut self.method {
            Method::One(one) => one.solve(&mut self.locals),
            Method::Dp(dp) => dp.solve(comm, &mut self.locals),
        }
    }

    /// Collective: FETI-1's projection (see [`super::one::One::project`]); nothing for FETI-DP.
    fn project(&mut self, comm: &Comm, v: &mut [f64], transpose: bool) {
        if let Method::One(one) = &mut self.method {
            one.project(comm, v, transpose);
        }
    }

    /// Collective: `z = M⁻¹ w` on the owned multipliers.
    fn apply_precond(&mut self, comm: &Comm, w: &mut [f64], z: &mut [f64]) {
        let owned = self.interface.layout.n_owned;
        if self.options.preconditioner == FetiPreconditioner::None {
            z[..owned].copy_from_slice(&w[..owned]);
            return;
        }
        self.interface.forward(comm, w);
        z.iter_mut().for_each(|v| *v = 0.0);
        for (k, (l, jumps)) in self.locals.iter_mut().zip(&self.interface.jumps).enumerate() {
            l.w.iter_mut().for_each(|v| *v = 0.0);
            if let Some(deluxe) = &mut self.deluxe {
                deluxe.add_transposed(k, jumps, w, &mut l.w);
            } else {
                for (&(p, m, s), d) in jumps.iter().zip(&l.scale) {
                    l.w[p as usize] += d * s * w[m as usize]; // B̃_sᵀ w
                }
            }
            l.neumann.spmv(&l.w, &mut l.v); // K_s B̃_sᵀ w
            if let Some((interior, kii)) = &mut l.interior {
                // S_s = K_bb − K_bi K_ii⁻¹ K_ib: v_b −= K_bi K_ii⁻¹ (K B̃ᵀ w)_i.
                for (t, &i) in l.t.iter_mut().zip(interior.iter()) {
                    *t = l.v[i as usize];
                }
                kii.solve_in_place(&mut l.t);
                l.w.iter_mut().for_each(|v| *v = 0.0);
                for (t, &i) in l.t.iter().zip(interior.iter()) {
                    l.w[i as usize] = -t;
                }
                l.neumann.spmv_add(&l.w, &mut l.v);
            }
            if let Some(deluxe) = &mut self.deluxe {
                deluxe.add_jumps(k, jumps, &l.v, z);
            } else {
                for (&(p, m, s), d) in jumps.iter().zip(&l.scale) {
                    z[m as usize] += d * s * l.v[p as usize];
                }
            }
        }
        self.interface.reverse_add(comm, z);
    }

    /// Collective: solves `A x = b` (`a` the matrix of the set-up).
    pub fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<FetiStats> {
        let start = Instant::now();
        self.split_rhs(comm, b);
        let nl = self.interface.layout.n_local();
        let owned = self.interface.layout.n_owned;
        let d = self.dual_rhs(comm);
        let mut lambda = vec![0.0; nl];
        let (mut w, mut z, mut p, mut q) = (vec![0.0; nl], vec![0.0; nl], vec![0.0; nl], vec![0.0; nl]);
        self.initial_residual(comm, &d, &mut lambda, &mut w);
        let w0 = dot(comm, &w[..owned], &w[..owned]).sqrt();
        let mut history = vec![w0];
        let (mut rho_old, mut it, mut norm) = (0.0, 0, w0);
        // CG's coefficients for the condition estimate: β of step k pairs with α of step k − 1.
        let mut lanczos = Lanczos::default();
        let mut alpha_old = 0.0;
        let reason = loop {
            if norm <= self.options.rtol * w0 || w0 == 0.0 {
                break StopReason::Converged;
            }
            if !norm.is_finite() {
                break StopReason::NotANumber;
            }
            if it == self.options.max_iter {
                break StopReason::MaxIterations;
            }
            self.apply_precond(comm, &mut w, &mut z);
            self.project(comm, &mut z[..owned], false);
            let rho = dot(comm, &z[..owned], &w[..owned]);
            let beta = if it == 0 { 0.0 } else { rho / rho_old };
            for i in 0..owned {
                p[i] = z[i] + beta * p[i];
            }
            self.apply_f(comm, &mut p, &mut q);
            let pq = dot(comm, &p[..owned], &q[..owned]);
            if pq.is_nan() || pq <= 0.0 {
                break StopReason::Breakdown(format!("pᵀ F p = {pq:e} in FETI's dual CG"));
            }
            let alpha = rho / pq;
            if it > 0 {
                lanczos.push(alpha_old, beta);
            }
            alpha_old = alpha;
            self.project(comm, &mut q[..owned], true);
            for i in 0..owned {
                lambda[i] += alpha * p[i];
                w[i] -= alpha * q[i];
            }
            rho_old = rho;
            it += 1;
            norm = dot(comm, &w[..owned], &w[..owned]).sqrt();
            history.push(norm);
        };
        self.recover(comm, &d, &mut lambda, b, x);
        let primal_residual = primal_residual(comm, a, b, x);
        Ok(FetiStats {
            dual: SolveStats {
                reason,
                iterations: it,
                initial_residual: w0,
                final_residual: norm,
                relative_residual: if w0 > 0.0 { norm / w0 } else { 0.0 },
                history,
                solve_seconds: start.elapsed().as_secs_f64(),
                condition_estimate: lanczos.condition(),
            },
            primal_residual,
        })
    }

    /// Collective: the initial multipliers `λ₀` (FETI-1's `Q G (GᵀQG)⁻¹ e`, else zero) and the
    /// (projected) residual `w = Pᵀ (d − F λ₀)` on the owned multipliers.
    fn initial_residual(&mut self, comm: &Comm, d: &[f64], lambda: &mut [f64], w: &mut [f64]) {
        let owned = self.interface.layout.n_owned;
        if let Method::One(one) = &mut self.method {
            one.initial_lambda(comm, &self.locals, lambda);
        }
        let mut fl = vec![0.0; lambda.len()];
        self.apply_f(comm, lambda, &mut fl);
        for i in 0..owned {
            w[i] = d[i] - fl[i];
        }
        self.project(comm, &mut w[..owned], true);
    }

    /// Collective: `d = Σ_s B_s K_s⁺ f_s` on the owned multipliers.
    fn dual_rhs(&mut self, comm: &Comm) -> Vec<f64> {
        let mut d = vec![0.0; self.interface.layout.n_local()];
        for l in &mut self.locals {
            l.w.copy_from_slice(&l.f);
        }
        self.primal_solve(comm);
        for (l, jumps) in self.locals.iter().zip(&self.interface.jumps) {
            for &(p, m, s) in jumps {
                d[m as usize] += s * l.w[p as usize];
            }
        }
        self.interface.reverse_add(comm, &mut d);
        d
    }

    /// Collective: every subdomain's `f_s = R_s b / multiplicity`.
    fn split_rhs(&mut self, comm: &Comm, b: &DistVector) {
        let d = &mut self.decomposition;
        let mut ext = vec![0.0; d.ext_layout.n_local()];
        ext[..d.ext_layout.n_owned].copy_from_slice(b.owned());
        d.halo_mut().forward(comm, &mut ext);
        for (l, s) in self.locals.iter_mut().zip(&d.subdomains) {
            for ((f, &e), w) in l.f.iter_mut().zip(&s.ext).zip(&s.pou) {
                *f = w * ext[e as usize];
            }
        }
    }

    /// Collective: `u = Ã⁻¹ (f − Bᵀ λ)`, for FETI-1 plus the kernel part `R α` with
    /// `α = (GᵀQG)⁻¹ GᵀQ (F λ − d)`; `x` as the multiplicity-weighted average of the
    /// subdomains' values (equal up to the tolerance); rows in no subdomain from their diagonal.
    fn recover(&mut self, comm: &Comm, d: &[f64], lambda: &mut [f64], b: &DistVector, x: &mut DistVector) {
        let owned = self.interface.layout.n_owned;
        let mut residual = vec![0.0; lambda.len()];
        if matches!(self.method, Method::One(_)) {
            self.apply_f(comm, lambda, &mut residual);
            residual.iter_mut().zip(d).for_each(|(r, d)| *r -= d);
        } else {
            self.interface.forward(comm, lambda);
        }
        for (l, jumps) in self.locals.iter_mut().zip(&self.interface.jumps) {
            l.w.copy_from_slice(&l.f);
            for &(p, m, sg) in jumps {
                l.w[p as usize] -= sg * lambda[m as usize];
            }
        }
        self.primal_solve(comm);
        if let Method::One(one) = &mut self.method {
            one.add_kernel_part(comm, &residual[..owned], &mut self.locals);
        }
        let dcmp = &mut self.decomposition;
        let mut ext = vec![0.0; dcmp.ext_layout.n_local()];
        for (l, s) in self.locals.iter().zip(&dcmp.subdomains) {
            for ((&e, u), wgt) in s.ext.iter().zip(&l.w).zip(&s.pou) {
                ext[e as usize] += wgt * u;
            }
        }
        dcmp.halo_mut().reverse_add(comm, &mut ext);
        let xo = x.owned_mut();
        xo.copy_from_slice(&ext[..xo.len()]);
        for &(i, diag) in &self.free_rows {
            xo[i] = b.owned()[i] / diag;
        }
    }
}

/// Collective: `‖b − A x‖ / ‖b‖` (0 for `b = 0`).
fn primal_residual(comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> f64 {
    let mut ax = DistVector::zeros(a.layout());
    a.spmv(comm, x, &mut ax);
    ax.axpy(-1.0, b);
    let nb = b.norm2(comm);
    if nb > 0.0 {
        ax.norm2(comm) / nb
    } else {
        0.0
    }
}

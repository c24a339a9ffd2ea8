//! FETI-1's own pieces: every subdomain's generalized inverse `K_s⁺` and kernel `R_s`, the
//! natural coarse space `G = [… B_s R_s …]` with the redundant factorization of `GᵀQG`, the
//! projector, the initial multipliers and the kernel part of the primal recovery.

use super::interface::Interface;
use super::Local;
use crate::comm::{Comm, SparseRow};
use crate::dd::coarse::redundant::RedundantSolve;
use crate::error::Result;
use crate::linalg::{Csr, SemiDefinite};
use std::collections::HashMap;

/// The coarse space of the floating subdomains: `G` on the owned multipliers and `GᵀQG`.
struct Coarse {
    /// `G`'s rows of the owned multipliers: (coarse index, value).
    g: Vec<SparseRow>,
    /// The projector's weight `Q` on the owned multipliers.
    q: Vec<f64>,
    /// Coarse indices this rank gives partial sums at, and where each index sits among them.
    held: Vec<usize>,
    held_pos: HashMap<usize, usize>,
    /// First coarse index of this rank's kernel vectors.
    first: usize,
    solve: RedundantSolve,
    partial: Vec<f64>,
}

/// FETI-1's factorizations and coarse space.
pub(super) struct One {
    /// `K_s` of each subdomain with its kernel and generalized inverse.
    k: Vec<SemiDefinite>,
    coarse: Option<Coarse>,
    /// Kernel vectors over all ranks (the coarse dimension).
    pub(super) n_coarse: usize,
    /// Subdomains with a kernel, over all ranks.
    pub(super) floating: usize,
}

impl One {
    /// Collective: factorizes every subdomain's Neumann matrix, finding its kernel.
    pub(super) fn new(comm: &Comm, neumann: &[Csr], pivot_tol: f64) -> Result<One> {
        let k = comm.agree(
            neumann
                .iter()
                .map(|m| SemiDefinite::new(m, pivot_tol))
                .collect::<Result<Vec<_>>>(),
        )?;
        let kernels: usize = k.iter().map(|k| k.kernel().len()).sum();
        Ok(One {
            n_coarse: comm.sum_u64(kernels as u64) as usize,
            floating: comm.sum_u64(k.iter().filter(|k| !k.kernel().is_empty()).count() as u64) as usize,
            k,
            coarse: None,
        })
    }

    /// Collective: new values of the Neumann matrices (same patterns): numeric refactorizations,
    /// the kernels found anew (the coarse problem follows in [`One::build_coarse`]).
    pub(super) fn refactor(&mut self, comm: &Comm, neumann: &[Csr]) -> Result<()> {
        let res = self.k.iter_mut().zip(neumann).try_for_each(|(k, m)| k.refactor(m));
        comm.agree(res)?;
        let kernels: usize = self.k.iter().map(|k| k.kernel().len()).sum();
        self.n_coarse = comm.sum_u64(kernels as u64) as usize;
        self.floating = comm.sum_u64(self.k.iter().filter(|k| !k.kernel().is_empty()).count() as u64) as usize;
        Ok(())
    }

    /// Collective: `G` on the owned multipliers (through a reverse append of each subdomain's
    /// `B_s R_s`) and the redundant factorization of `GᵀQG` (`q` the projector's weights of the
    /// owned multipliers): a numeric refactorization when a coarse problem with the same held
    /// columns on every rank exists, else a new one. Nothing without floating subdomains.
    pub(super) fn build_coarse(&mut self, comm: &Comm, interface: &Interface, q: Vec<f64>) -> Result<()> {
        if self.n_coarse == 0 {
            self.coarse = None;
            return Ok(());
        }
        RedundantSolve::check_dimension(comm, self.n_coarse, "FETI's coarse problem GᵀG")?;
        let kernels: usize = self.k.iter().map(|k| k.kernel().len()).sum();
        let first = comm.exclusive_scan_u64(kernels as u64) as usize;
        let mut g: Vec<SparseRow> = vec![Vec::new(); interface.layout.n_local()];
        let mut c = first;
        for (k, jumps) in self.k.iter().zip(&interface.jumps) {
            for r in k.kernel() {
                for &(p, m, sign) in jumps {
                    g[m as usize].push((c as u32, sign * r[p as usize]));
                }
                c += 1;
            }
        }
        // Rows to the multipliers' owners; the owned part is then G's rows.
        interface.reverse_append_rows(comm, &mut g);
        g.truncate(interface.layout.n_owned);
        for row in &mut g {
            row.sort_unstable_by_key(|e| e.0);
        }
        let mut share = Vec::new();
        for (row, &qm) in g.iter().zip(&q) {
            for &(i, vi) in row {
                share.extend(row.iter().map(|&(j, vj)| (i, j, vi * qm * vj)));
            }
        }
        let mut held: Vec<usize> = g
            .iter()
            .flatten()
            .map(|e| e.0 as usize)
            .chain(first..first + kernels)
            .collect();
        held.sort_unstable();
        held.dedup();
        let what = "FETI's coarse problem GᵀG";
        let same = self
            .coarse
            .as_ref()
            .is_some_and(|c| c.held == held && c.solve.dimension() == self.n_coarse);
        // Collective either way: every rank must take the same branch.
        if comm.sum_u64(u64::from(!same)) == 0 {
            if let Some(c) = &mut self.coarse {
                c.solve.refactor(comm, &share, what)?;
                (c.g, c.q, c.first) = (g, q, first);
                return Ok(());
            }
        }
        let solve = RedundantSolve::new(comm, self.n_coarse, &share, &held, what)?;
        self.coarse = Some(Coarse {
            g,
            q,
            held_pos: held.iter().enumerate().map(|(k, &c)| (c, k)).collect(),
            partial: vec![0.0; held.len()],
            held,
            first,
            solve,
        });
        Ok(())
    }

    /// `w_s ← K_s⁺ w_s` in every subdomain's work vector.
    pub(super) fn solve(&mut self, locals: &mut [Local]) {
        for (k, l) in self.k.iter_mut().zip(locals) {
            k.solve_in_place(&mut l.w);
        }
    }

    /// Collective, on the owned multipliers: `v ← P v = v − Q G (GᵀQG)⁻¹ Gᵀ v` (a
    /// preconditioned direction), or with `transpose` `v ← Pᵀ v = v − G (GᵀQG)⁻¹ GᵀQ v` (a
    /// residual). `Q` is the diagonal weight of the multipliers (the identity for multiplicity
    /// scaling).
    pub(super) fn project(&mut self, comm: &Comm, v: &mut [f64], transpose: bool) {
        if let Some(c) = &mut self.coarse {
            c.partial.iter_mut().for_each(|x| *x = 0.0);
            for ((row, &vm), &q) in c.g.iter().zip(v.iter()).zip(&c.q) {
                let vq = if transpose { q * vm } else { vm };
                for &(k, g) in row {
                    c.partial[c.held_pos[&(k as usize)]] += g * vq;
                }
            }
            let alpha = c.solve.solve(comm, &c.partial);
            for ((row, vm), &q) in c.g.iter().zip(v.iter_mut()).zip(&c.q) {
                let ga = row.iter().map(|&(k, g)| g * alpha[k as usize]).sum::<f64>();
                *vm -= if transpose { ga } else { q * ga };
            }
        }
    }

    /// Collective: `λ₀ = Q G (GᵀQG)⁻¹ e` (zero without floating subdomains), `e_c = r_cᵀ f_s`.
    pub(super) fn initial_lambda(&mut self, comm: &Comm, locals: &[Local], lambda: &mut [f64]) {
        let Some(c) = &mut self.coarse else { return };
        let mut e = Vec::new();
        for (k, l) in self.k.iter().zip(locals) {
            e.extend(
                k.kernel()
                    .iter()
                    .map(|r| r.iter().zip(&l.f).map(|(a, b)| a * b).sum::<f64>()),
            );
        }
        for (x, &k) in c.partial.iter_mut().zip(&c.held) {
            *x = if k >= c.first && k < c.first + e.len() {
                e[k - c.first]
            } else {
                0.0
            };
        }
        let alpha = c.solve.solve(comm, &c.partial);
        for ((row, lm), &q) in c.g.iter().zip(lambda.iter_mut()).zip(&c.q) {
            *lm = q * row.iter().map(|&(k, g)| g * alpha[k as usize]).sum::<f64>();
        }
    }

    /// Collective: `w_s += R_s α_s` in every subdomain's work vector with
    /// `α = (GᵀQG)⁻¹ GᵀQ (F λ − d)`, `residual = F λ − d` on the owned multipliers.
    pub(super) fn add_kernel_part(&mut self, comm: &Comm, residual: &[f64], locals: &mut [Local]) {
        let Some(c) = &mut self.coarse else { return };
        c.partial.iter_mut().for_each(|x| *x = 0.0);
        for ((row, r), &q) in c.g.iter().zip(residual).zip(&c.q) {
            for &(k, g) in row {
                c.partial[c.held_pos[&(k as usize)]] += g * q * r;
            }
        }
        let alpha = c.solve.solve(comm, &c.partial);
        let mut index = c.first;
        for (k, l) in self.k.iter().zip(locals) {
            for r in k.kernel() {
                l.w.iter_mut().zip(r).for_each(|(u, ri)| *u += alpha[index] * ri);
                index += 1;
            }
        }
    }
}

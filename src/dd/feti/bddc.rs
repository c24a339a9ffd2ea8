//! BDDC (Dohrmann 2003), FETI-DP's primal counterpart: a preconditioner for CG on the assembled
//! system with FETI-DP's primal set, constrained local solves and primal problem (the same
//! `Ã⁻¹`), in the form for the full system rather than the interface (Li and Widlund 2006):
//!
//! ```text
//! u_I = A_II⁻¹ r_I                              interior solves (static condensation)
//! w_Γ = R̃_Dᵀ Ã⁻¹ R̃_D (r − A u_I)_Γ               weighted restriction, Ã⁻¹, weighted average
//! z   = u_I + [w_Γ; −A_II⁻¹ A_IΓ w_Γ]             discrete harmonic extension
//! ```
//!
//! `R̃_D` weighs each subdomain's share of an interface row by `1 / multiplicity`, or by its
//! diagonal stiffness `K_s[i,i] / A[i,i]` ([`FetiScaling::Stiffness`], ρ-scaling), the same
//! weights on both sides, so `M⁻¹` is symmetric. `A_II` is each subdomain's interior block
//! (rows of multiplicity one, whose couplings all lie in the subdomain), factorized for FETI's
//! Dirichlet preconditioner already. With deluxe scaling the globs are weighed by matrices
//! instead: `D_sᵀ` in, `D_s` out (see `deluxe`).

use super::{Feti, FetiScaling, Method};
use crate::comm::Comm;
use crate::dd::Decomposition;
use crate::error::Result;
use crate::linalg::{Csr, DistMatrix, DistVector, Preconditioner};

/// The BDDC preconditioner over a FETI-DP set-up; see the module documentation.
pub struct Bddc {
    feti: Feti,
    /// Each subdomain's weights of its rows (0 on its interior rows).
    weights: Vec<Vec<f64>>,
    /// Work over the extended layout: the interior correction `u_I`, `A_ΓI u_I`, and two more.
    u: Vec<f64>,
    au: Vec<f64>,
    ext: Vec<f64>,
    ext2: Vec<f64>,
}

impl Bddc {
    /// The preconditioner of the matrix `feti` was set up for (FETI-DP's set-up with the
    /// interior factorizations).
    pub fn new(feti: Feti) -> Result<Bddc> {
        let n_ext = feti.decomposition.ext_layout.n_local();
        Ok(Bddc {
            weights: restriction_weights(&feti),
            u: vec![0.0; n_ext],
            au: vec![0.0; n_ext],
            ext: vec![0.0; n_ext],
            ext2: vec![0.0; n_ext],
            feti,
        })
    }

    /// Collective: new values of `a` and of the Neumann matrices (see [`Feti::update`]); the
    /// weights follow the new diagonal.
    pub fn update(
        &mut self,
        comm: &Comm,
        a: &DistMatrix,
        neumann: impl FnOnce(&Decomposition) -> Result<Vec<Csr>>,
    ) -> Result<()> {
        self.feti.update(comm, a, neumann)?;
        self.weights = restriction_weights(&self.feti);
        Ok(())
    }

    /// The FETI-DP set-up it applies.
    pub fn feti(&self) -> &Feti {
        &self.feti
    }
}

/// Each subdomain's scalar weights of its rows in `R̃_D`: 0 on its interior rows, else `1 /
/// multiplicity` or `K_s[i,i] / A[i,i]` by the scaling. Deluxe scaling weighs the globs by
/// matrices (0 here) and the primal vertices, whose values agree in every subdomain, by `1 /
/// multiplicity`.
fn restriction_weights(feti: &Feti) -> Vec<Vec<f64>> {
    let mut weights: Vec<Vec<f64>> = feti
        .decomposition
        .subdomains
        .iter()
        .zip(&feti.locals)
        .map(|(s, l)| {
            let (kd, ad) = (l.neumann.diagonal(), s.matrix.diagonal());
            s.multiplicity
                .iter()
                .enumerate()
                .map(|(i, &m)| match (m > 1.0, feti.options.scaling) {
                    (false, _) => 0.0,
                    (true, FetiScaling::Multiplicity | FetiScaling::Deluxe) => 1.0 / m,
                    (true, FetiScaling::Stiffness) => kd[i] / ad[i],
                })
                .collect()
        })
        .collect();
    if let Some(deluxe) = &feti.deluxe {
        for (k, w) in weights.iter_mut().enumerate() {
            deluxe.rows(k).for_each(|p| w[p as usize] = 0.0);
        }
    }
    weights
}

/// Collective: `ext` ← `v`'s owned values with the ghosts forwarded (the decomposition's layout).
fn spread(comm: &Comm, f: &mut Feti, v: &[f64], ext: &mut [f64]) {
    ext[..v.len()].copy_from_slice(v);
    f.decomposition.halo_mut().forward(comm, ext);
}

/// Collective: `acc` ← `Σ_s R_sᵀ` of each subdomain's interior solve of `src`'s interior rows
/// (`src` over the extended layout, ghosts current; `acc` reverse-added, so its owned part is the
/// result); with `harmonic`, of `−A_II⁻¹ (K_s src)_I` instead (the interior of the discrete
/// harmonic extension of `src`'s interface values). With `coupling`, also `A_ΓI` times the
/// solves, reverse-added there: an interior row's couplings all lie in its one subdomain, so
/// `K_s` has `A`'s entries in those columns.
fn interior(comm: &Comm, f: &mut Feti, src: &[f64], acc: &mut [f64], harmonic: bool, mut coupling: Option<&mut [f64]>) {
    acc.iter_mut().for_each(|x| *x = 0.0);
    if let Some(c) = coupling.as_deref_mut() {
        c.iter_mut().for_each(|x| *x = 0.0);
    }
    let sign = if harmonic { -1.0 } else { 1.0 };
    for (l, s) in f.locals.iter_mut().zip(&f.decomposition.subdomains) {
        let Some((rows, kii)) = &mut l.interior else { continue };
        for (w, &e) in l.w.iter_mut().zip(&s.ext) {
            *w = src[e as usize];
        }
        if harmonic {
            l.neumann.spmv(&l.w, &mut l.v); // K_s w (w is zero on the interior)
        } else {
            l.v.copy_from_slice(&l.w);
        }
        for (t, &i) in l.t.iter_mut().zip(rows.iter()) {
            *t = l.v[i as usize];
        }
        kii.solve_in_place(&mut l.t);
        for (t, &i) in l.t.iter().zip(rows.iter()) {
            acc[s.ext[i as usize] as usize] += sign * t;
        }
        if let Some(c) = coupling.as_deref_mut() {
            l.w.iter_mut().for_each(|x| *x = 0.0);
            for (t, &i) in l.t.iter().zip(rows.iter()) {
                l.w[i as usize] = *t;
            }
            l.neumann.spmv(&l.w, &mut l.v); // K_s u_I: A_ΓI u_I on the other rows
            for ((v, &e), &m) in l.v.iter().zip(&s.ext).zip(&s.multiplicity) {
                if m > 1.0 {
                    c[e as usize] += v;
                }
            }
        }
    }
    f.decomposition.halo_mut().reverse_add(comm, acc);
    if let Some(c) = coupling {
        f.decomposition.halo_mut().reverse_add(comm, c);
    }
}

impl Preconditioner for Bddc {
    fn apply(&mut self, comm: &Comm, r: &DistVector, z: &mut DistVector) {
        let f = &mut self.feti;
        let n = r.owned().len();
        // u_I = A_II⁻¹ r_I, then the interface residual r_Γ − A_ΓI u_I.
        spread(comm, f, r.owned(), &mut self.ext);
        interior(comm, f, &self.ext, &mut self.u, false, Some(&mut self.au));
        for (x, a) in self.ext2[..n]
            .iter_mut()
            .zip(&self.au[..n])
            .zip(r.owned())
            .map(|((x, a), r)| (x, r - a))
        {
            *x = a;
        }
        let (ext, ext2) = (&mut self.ext, &self.ext2);
        spread(comm, f, &ext2[..n], ext);
        // w_Γ = R̃_Dᵀ Ã⁻¹ R̃_D (r − A u_I)_Γ.
        let ext = &self.ext;
        for (k, ((l, s), d)) in f
            .locals
            .iter_mut()
            .zip(&f.decomposition.subdomains)
            .zip(&self.weights)
            .enumerate()
        {
            for ((w, &e), d) in l.w.iter_mut().zip(&s.ext).zip(d) {
                *w = d * ext[e as usize];
            }
            if let Some(deluxe) = &mut f.deluxe {
                let w = &mut l.w;
                deluxe.weigh(k, true, |p| ext[s.ext[p as usize] as usize], |p, v| w[p as usize] = v);
            }
        }
        if let Method::Dp(dp) = &mut f.method {
            dp.solve(comm, &mut f.locals);
        }
        self.ext2.iter_mut().for_each(|x| *x = 0.0);
        let ext2 = &mut self.ext2;
        for (k, ((l, s), d)) in f
            .locals
            .iter()
            .zip(&f.decomposition.subdomains)
            .zip(&self.weights)
            .enumerate()
        {
            for ((w, &e), d) in l.w.iter().zip(&s.ext).zip(d) {
                ext2[e as usize] += d * w;
            }
            if let Some(deluxe) = &mut f.deluxe {
                let w = &l.w;
                deluxe.weigh(
                    k,
                    false,
                    |p| w[p as usize],
                    |p, v| ext2[s.ext[p as usize] as usize] += v,
                );
            }
        }
        f.decomposition.halo_mut().reverse_add(comm, &mut self.ext2);
        let zo = z.owned_mut();
        zo.copy_from_slice(&self.ext2[..n]);
        // z = u_I + [w_Γ; −A_II⁻¹ A_IΓ w_Γ].
        spread(comm, f, zo, &mut self.ext);
        interior(comm, f, &self.ext, &mut self.ext2, true, None);
        for ((z, h), u) in zo.iter_mut().zip(&self.ext2[..n]).zip(&self.u[..n]) {
            *z += h + u;
        }
        for &(i, diag) in &f.free_rows {
            zo[i] = r.owned()[i] / diag;
        }
    }

    fn is_symmetric(&self) -> bool {
        true
    }

    fn name(&self) -> String {
        self.feti.describe().replacen("feti-dp", "bddc", 1)
    }

    fn coarse_dimension(&self) -> Option<usize> {
        Some(self.feti.coarse_dimension())
    }
}

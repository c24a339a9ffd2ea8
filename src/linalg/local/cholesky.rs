//! The exact sparse Cholesky factorization (`faer`'s LLᵀ) behind [`super::LocalSolver`].

use super::ordering::{is_2d_like, nested_dissection};
use super::{csc_view32, faer_oom, mem_buffer, LOWER_OF_A};
use crate::error::{Error, Result};
use crate::linalg::Csr;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::linalg::solvers::LltError;
use faer::sparse::linalg::cholesky::{
    factorize_symbolic_cholesky, CholeskySymbolicParams, LltRef, SymbolicCholesky, SymbolicCholeskyRaw,
    SymmetricOrdering,
};
use faer::sparse::linalg::SupernodalThreshold;
use faer::{Conj, MatMut, Par};

/// Sparse Cholesky from `faer`: METIS nested-dissection ordering (AMD for small matrices),
/// simplicial or supernodal as `faer` chooses.
///
/// Indices are 32-bit (the CSR's own column array serves as row indices): the triangular solves
/// stream the factor's indices with its values, and 12 bytes per entry instead of 16 made them
/// 7 % faster on a 258² block.
pub(super) struct FaerLlt {
    col_ptr: Vec<u32>,
    symbolic: SymbolicCholesky<u32>,
    values: Vec<f64>,
    par: Par,
    factor_mem: MemBuffer,
    solve_mem: MemBuffer,
}

impl FaerLlt {
    pub(super) fn new(a: &Csr) -> Result<FaerLlt> {
        let mut f = FaerLlt::symbolic(a)?;
        f.factor(a)?;
        Ok(f)
    }

    /// The ordering, symbolic factorization and workspaces of `a`'s pattern, no values yet.
    pub(super) fn symbolic(a: &Csr) -> Result<FaerLlt> {
        Self::symbolic_with(a, is_2d_like(a))
    }

    /// [`FaerLlt::symbolic`] forced simplicial: the only form whose factorization with fixed
    /// pivots ([`FaerLlt::factor_fixing`]) gives a generalized inverse. faer 0.24's supernodal
    /// factorization regularizes the pivot but not consistently with the rest of its block
    /// (measured: a 747-row floating 3D P1 subdomain, one-dimensional kernel, gave
    /// `‖K K⁺ K − K‖` of order `‖K‖`; the simplicial one the kernel to 1e-16).
    pub(super) fn symbolic_simplicial(a: &Csr) -> Result<FaerLlt> {
        Self::symbolic_with(a, true)
    }

    /// Whether the factorization is simplicial.
    pub(super) fn is_simplicial(&self) -> bool {
        matches!(self.symbolic.raw(), SymbolicCholeskyRaw::Simplicial(_))
    }

    fn symbolic_with(a: &Csr, simplicial: bool) -> Result<FaerLlt> {
        let col_ptr: Vec<u32> = a
            .rowptr
            .iter()
            .map(|&p| u32::try_from(p))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::input("local solver: more than 2^32 entries in a subdomain matrix"))?;
        let nd: Option<(Vec<u32>, Vec<u32>)> = nested_dissection(a).map(|(fwd, inv)| {
            let to32 = |v: Vec<usize>| v.into_iter().map(|x| x as u32).collect();
            (to32(fwd), to32(inv))
        });
        let ordering = match &nd {
            Some((fwd, inv)) => SymmetricOrdering::Custom(faer::perm::PermRef::new_checked(fwd, inv, a.nrows)),
            None => SymmetricOrdering::Amd,
        };
        // Measured on a 258² 5-point block (1.9M factor entries): faer's supernodal triangular
        // solves take 5.6 ms against 2.2 ms for the simplicial ones, and a Schwarz solve applies
        // them hundreds of times for one factorization (0.03 s supernodal, 0.1 s simplicial). In
        // 3D the supernodes are wide and the supernodal factorization is 30× faster, so the
        // choice follows the same "2D-like" test as the ordering.
        let params = CholeskySymbolicParams {
            supernodal_flop_ratio_threshold: if simplicial {
                SupernodalThreshold::FORCE_SIMPLICIAL
            } else {
                SupernodalThreshold::AUTO
            },
            ..Default::default()
        };
        let symbolic = factorize_symbolic_cholesky(csc_view32(a, &col_ptr).symbolic(), LOWER_OF_A, ordering, params)
            .map_err(|e| Error::input(format!("local solver: symbolic Cholesky failed: {e:?}")))?;
        let par = faer::get_global_parallelism();
        let factor_mem = mem_buffer(
            symbolic.factorize_numeric_llt_scratch::<f64>(par, Default::default()),
            "Cholesky workspace",
        )?;
        let solve_mem = mem_buffer(symbolic.solve_in_place_scratch::<f64>(1, par), "Cholesky workspace")?;
        let mut values = Vec::new();
        values
            .try_reserve_exact(symbolic.len_val())
            .map_err(|_| faer_oom("Cholesky factor"))?;
        values.resize(symbolic.len_val(), 0.0);
        Ok(FaerLlt {
            col_ptr,
            symbolic,
            values,
            par,
            factor_mem,
            solve_mem,
        })
    }

    pub(super) fn factor(&mut self, a: &Csr) -> Result<()> {
        match self.factor_regularized(a, LltRegularization::default()) {
            Ok(_) => Ok(()),
            // LU is the advice only for an indefinite matrix: a singular one (typically a block
            // of a pure Neumann problem, whose kernel holds the constants) defeats LU as well.
            Err(LltError::NonPositivePivot { index }) if annihilates_constants(a) => Err(Error::input(format!(
                "local solver: the local matrix of {} rows is singular: it maps the constant vector to \
                 zero (every boundary of its problem is Neumann?), so no factorization can solve with it \
                 (Cholesky pivot {index} vanished)",
                a.nrows
            ))),
            Err(LltError::NonPositivePivot { index }) => Err(Error::input(format!(
                "local solver: the local matrix is not positive definite (Cholesky pivot {index} of \
                 the fill-reducing order is not positive); use the 'lu' local solver for indefinite \
                 or nonsymmetric matrices"
            ))),
        }
    }

    /// Numeric factorization in which every pivot at most `eps` becomes `delta`: with a huge
    /// `delta` this fixes the unknowns of the vanishing pivots of a semi-definite matrix (see
    /// [`super::semidefinite`]). Never fails for a semi-definite matrix.
    pub(super) fn factor_fixing(&mut self, a: &Csr, eps: f64, delta: f64) -> Result<()> {
        let reg = LltRegularization {
            dynamic_regularization_delta: delta,
            dynamic_regularization_epsilon: eps,
        };
        self.factor_regularized(a, reg)
            .map_err(|LltError::NonPositivePivot { index }| {
                Error::input(format!("semi-definite factorization: pivot {index} failed"))
            })
    }

    fn factor_regularized(&mut self, a: &Csr, reg: LltRegularization<f64>) -> std::result::Result<(), LltError> {
        self.symbolic
            .factorize_numeric_llt(
                &mut self.values,
                csc_view32(a, &self.col_ptr),
                LOWER_OF_A,
                reg,
                self.par,
                MemStack::new(&mut self.factor_mem),
                Default::default(),
            )
            .map(|_| ())
    }

    pub(super) fn solve(&mut self, x: &mut [f64]) {
        let n = x.len();
        LltRef::new(&self.symbolic, &self.values).solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(x, n, 1),
            self.par,
            MemStack::new(&mut self.solve_mem),
        );
    }

    /// `X ← A⁻¹ X` for `k` right-hand sides stored column after column in `x`: one pass over the
    /// factor for all of them (a set-up that solves for many columns at once).
    pub(super) fn solve_many(&mut self, x: &mut [f64], k: usize) -> Result<()> {
        if k == 0 {
            return Ok(());
        }
        let n = x.len() / k;
        let mut mem = mem_buffer(
            self.symbolic.solve_in_place_scratch::<f64>(k, self.par),
            "Cholesky workspace",
        )?;
        LltRef::new(&self.symbolic, &self.values).solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(x, n, k),
            self.par,
            MemStack::new(&mut mem),
        );
        Ok(())
    }

    pub(super) fn nnz_factor(&self) -> usize {
        cholesky_nnz(&self.symbolic)
    }
}

/// Entries of the Cholesky factor `faer` stores (supernodal blocks counted as dense trapezoids).
fn cholesky_nnz(symbolic: &SymbolicCholesky<u32>) -> usize {
    match symbolic.raw() {
        SymbolicCholeskyRaw::Simplicial(s) => s.len_val(),
        SymbolicCholeskyRaw::Supernodal(s) => {
            // Dense lower trapezoids: w(w+1)/2 in the diagonal block plus w per off-block row.
            let ptr = s.col_ptr_for_row_idx();
            (0..s.n_supernodes())
                .map(|k| {
                    let w = (s.supernode_end()[k] - s.supernode_begin()[k]) as usize;
                    w * (w + 1) / 2 + w * (ptr[k + 1] - ptr[k]) as usize
                })
                .sum()
        }
    }
}

/// Whether `a` maps the constant vector to zero to rounding (`|Σ_j a_ij| ≤ 1e-10 max|a_ij|`
/// for every row): the kernel of a Neumann problem's matrix.
fn annihilates_constants(a: &Csr) -> bool {
    let scale = a.vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    scale > 0.0 && (0..a.nrows).all(|i| a.row(i).1.iter().sum::<f64>().abs() <= 1e-10 * scale)
}

//! Sequential local solvers for subdomain matrices: the `A_i⁻¹` inside Schwarz preconditioners.
//! Each is set up once per sparsity pattern (symbolic phase: ordering, elimination tree,
//! workspaces), refactored once per set of values (numeric phase), and applied many times
//! without allocating. Exact solves come from `faer` (sparse LLᵀ and LU with partial pivoting);
//! the incomplete factorizations IC(0) and ILU(0) are written here.
//!
//! Everything is sequential: under MPI each rank owns its cores, so [`init_sequential`] is
//! called at start-up to keep `faer` from spawning threads of its own.

mod cholesky;
mod incomplete;
mod lu;
mod ordering;
pub mod semidefinite;

pub use incomplete::IC0_SHIFTS;

use super::Csr;
use crate::error::{Error, Result};
use cholesky::FaerLlt;
use faer::dyn_stack::{MemBuffer, StackReq};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Par, Side};
use incomplete::{Ic0, Ilu0};
use lu::FaerLu;
use std::fmt;
use std::str::FromStr;

/// Makes `faer` run sequentially (process-wide); called once at start-up since MPI ranks own
/// the cores.
pub fn init_sequential() {
    faer::set_global_parallelism(Par::Seq);
}

/// Which factorization a [`LocalSolver`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalSolverKind {
    /// Sparse Cholesky LLᵀ (exact; symmetric positive definite matrices).
    Cholesky,
    /// Sparse LU with partial pivoting (exact; any nonsingular matrix).
    Lu,
    /// Incomplete Cholesky with zero fill (symmetric positive definite matrices).
    Ic0,
    /// Incomplete LU with zero fill.
    Ilu0,
}

impl LocalSolverKind {
    /// All kinds, in the order they are listed in help texts.
    pub const ALL: [LocalSolverKind; 4] = [
        LocalSolverKind::Cholesky,
        LocalSolverKind::Lu,
        LocalSolverKind::Ic0,
        LocalSolverKind::Ilu0,
    ];

    /// The lower-case name used in configuration files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LocalSolverKind::Cholesky => "cholesky",
            LocalSolverKind::Lu => "lu",
            LocalSolverKind::Ic0 => "ic0",
            LocalSolverKind::Ilu0 => "ilu0",
        }
    }

    /// Whether the solver applies a symmetric operator (usable inside CG).
    pub fn is_symmetric(self) -> bool {
        matches!(self, LocalSolverKind::Cholesky | LocalSolverKind::Ic0)
    }

    /// Whether the solver is an exact solve (rather than an incomplete factorization).
    pub fn is_exact(self) -> bool {
        matches!(self, LocalSolverKind::Cholesky | LocalSolverKind::Lu)
    }
}

impl fmt::Display for LocalSolverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LocalSolverKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        LocalSolverKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown local solver '{s}' (expected one of: cholesky, lu, ic0, ilu0)"
                ))
            })
    }
}

/// A factorized square local matrix: `solve_in_place` applies `A⁻¹` (exact kinds) or the
/// incomplete-factorization approximation of it (IC(0), ILU(0)).
pub struct LocalSolver {
    kind: LocalSolverKind,
    /// The pattern the symbolic phase was computed for; `refactor` checks against it.
    rowptr: Vec<usize>,
    cols: Vec<u32>,
    /// `false` after a failed `refactor`, until a successful one.
    valid: bool,
    backend: Backend,
}

enum Backend {
    /// A 0×0 matrix: nothing to factor or solve.
    Empty,
    Cholesky(FaerLlt),
    Lu(FaerLu),
    Ic0(Ic0),
    Ilu0(Ilu0),
}

impl fmt::Debug for LocalSolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSolver")
            .field("kind", &self.kind)
            .field("n", &self.n())
            .field("nnz", &self.cols.len())
            .finish_non_exhaustive()
    }
}

/// Symbolic set-ups (orderings and symbolic factorizations) done by this process so far.
static SYMBOLIC_SETUPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many local solvers this process has set up symbolically ([`LocalSolver::new`]); a numeric
/// update ([`LocalSolver::refactor`]) does not count. Tests use it to show that updating a
/// preconditioner's values skips the symbolic work.
pub fn symbolic_setups() -> u64 {
    SYMBOLIC_SETUPS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts one symbolic set-up (see [`symbolic_setups`]).
fn count_symbolic_setup() {
    SYMBOLIC_SETUPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

impl LocalSolver {
    /// Symbolic and numeric factorization of the square matrix `a`. Cholesky and IC(0) read
    /// only its lower triangle (entries with column ≤ row) and take `a` to be symmetric.
    pub fn new(a: &Csr, kind: LocalSolverKind) -> Result<LocalSolver> {
        if a.nrows != a.ncols {
            return Err(Error::input(format!(
                "local solver: the local matrix is {}x{}, not square",
                a.nrows, a.ncols
            )));
        }
        if a.rowptr.len() != a.nrows + 1 || a.cols.len() != a.vals.len() {
            return Err(Error::input("local solver: malformed CSR matrix"));
        }
        count_symbolic_setup();
        let backend = if a.nrows == 0 {
            Backend::Empty
        } else {
            match kind {
                LocalSolverKind::Cholesky => Backend::Cholesky(FaerLlt::new(a)?),
                LocalSolverKind::Lu => Backend::Lu(FaerLu::new(a)?),
                LocalSolverKind::Ic0 => Backend::Ic0(Ic0::new(a)?),
                LocalSolverKind::Ilu0 => Backend::Ilu0(Ilu0::new(a)?),
            }
        };
        Ok(LocalSolver {
            kind,
            rowptr: a.rowptr.clone(),
            cols: a.cols.clone(),
            valid: true,
            backend,
        })
    }

    /// Numeric refactorization for new values on the same pattern, reusing the symbolic phase;
    /// an error if the pattern differs. After an error the solver must be refactored before
    /// the next solve.
    pub fn refactor(&mut self, a: &Csr) -> Result<()> {
        if a.nrows != self.n() || a.ncols != self.n() || a.rowptr != self.rowptr || a.cols != self.cols {
            return Err(Error::input(format!(
                "local solver: refactor with a different sparsity pattern ({}x{} with {} entries, \
                 factorized {}x{} with {}); build a new solver instead",
                a.nrows,
                a.ncols,
                a.nnz(),
                self.n(),
                self.n(),
                self.cols.len()
            )));
        }
        if a.vals.len() != self.cols.len() {
            return Err(Error::input("local solver: malformed CSR matrix"));
        }
        self.valid = false;
        match &mut self.backend {
            Backend::Empty => {}
            Backend::Cholesky(f) => f.factor(a)?,
            Backend::Lu(f) => f.factor(a)?,
            Backend::Ic0(f) => f.factor(a)?,
            Backend::Ilu0(f) => f.factor(a)?,
        }
        self.valid = true;
        Ok(())
    }

    /// Overwrites `x` with the solution `y` of `A y = x` (approximate for IC(0), ILU(0)).
    ///
    /// # Panics
    /// If `x.len()` is not the matrix size, or after a failed [`LocalSolver::refactor`].
    pub fn solve_in_place(&mut self, x: &mut [f64]) {
        assert_eq!(
            x.len(),
            self.n(),
            "local solve: vector length differs from the matrix size"
        );
        assert!(self.valid, "local solve after a failed refactorization");
        match &mut self.backend {
            Backend::Empty => {}
            Backend::Cholesky(f) => f.solve(x),
            Backend::Lu(f) => f.solve(x),
            Backend::Ic0(f) => f.solve(x),
            Backend::Ilu0(f) => f.solve(x, &self.rowptr, &self.cols),
        }
    }

    /// `X ← A⁻¹ X` for `k` right-hand sides stored column after column in `x` (one pass over a
    /// Cholesky factor for all of them; column by column for the other kinds). Set-up use.
    ///
    /// # Panics
    /// If `x.len()` is not `k` times the matrix size, or after a failed [`LocalSolver::refactor`].
    pub fn solve_many(&mut self, x: &mut [f64], k: usize) -> Result<()> {
        assert_eq!(
            x.len(),
            k * self.n(),
            "local solve: block size differs from the matrix size"
        );
        if let Backend::Cholesky(f) = &mut self.backend {
            assert!(self.valid, "local solve after a failed refactorization");
            return f.solve_many(x, k);
        }
        for col in x.chunks_exact_mut(self.n().max(1)).take(k) {
            self.solve_in_place(col);
        }
        Ok(())
    }

    /// The factorization in use.
    pub fn kind(&self) -> LocalSolverKind {
        self.kind
    }

    /// Number of rows (and columns) of the matrix.
    pub fn n(&self) -> usize {
        self.rowptr.len() - 1
    }

    /// Entries in the factors, for reports: nnz(L) for Cholesky (counting the explicit zeros of
    /// supernodal blocks) and IC(0); nnz(A) for ILU(0), whose L and U share A's pattern; and
    /// nnz(L) + nnz(U) − n for LU — see below.
    ///
    /// `faer` 0.24 does not expose the size of a supernodal LU factor, so for LU this is computed
    /// (on each call: a symbolic pass in O(fill) time and O(nnz(A)) memory) as the fill of LU
    /// without row interchanges under `faer`'s column ordering applied symmetrically to the
    /// pattern of `A + Aᵀ`. It is exact when partial pivoting keeps the diagonal (e.g.
    /// diagonally dominant matrices with a symmetric pattern) and an estimate otherwise.
    pub fn nnz_factor(&self) -> usize {
        match &self.backend {
            Backend::Empty => 0,
            Backend::Cholesky(f) => f.nnz_factor(),
            Backend::Lu(f) => f.nnz_factor(&self.rowptr),
            Backend::Ic0(f) => f.vals.len(),
            Backend::Ilu0(f) => f.vals.len(),
        }
    }

    /// Whether the operator applied by [`LocalSolver::solve_in_place`] is symmetric (Cholesky,
    /// IC(0)).
    pub fn is_symmetric(&self) -> bool {
        self.kind.is_symmetric()
    }

    /// The relative diagonal shift IC(0) needed to avoid breakdown (0 for the other kinds and
    /// for matrices where plain IC(0) succeeds); see [`IC0_SHIFTS`].
    pub fn shift(&self) -> f64 {
        match &self.backend {
            Backend::Ic0(f) => f.shift,
            _ => 0.0,
        }
    }
}

/// The CSC view `faer` factors: the CSR arrays of `a` read as compressed columns, i.e. `Aᵀ`
/// (equal to `A` for the symmetric kinds; LU solves with the transpose instead).
fn csc_transpose_view<'a>(a: &'a Csr, row_idx: &'a [usize]) -> SparseColMatRef<'a, usize, f64> {
    let n = a.nrows;
    SparseColMatRef::new(
        SymbolicSparseColMatRef::new_checked(n, n, &a.rowptr, None, row_idx),
        &a.vals,
    )
}

/// [`csc_transpose_view`] with 32-bit indices: `col_ptr` is `a.rowptr` as `u32`, and `a`'s column
/// array is the row-index array.
fn csc_view32<'a>(a: &'a Csr, col_ptr: &'a [u32]) -> SparseColMatRef<'a, u32, f64> {
    let n = a.nrows;
    SparseColMatRef::new(
        SymbolicSparseColMatRef::new_checked(n, n, col_ptr, None, &a.cols),
        &a.vals,
    )
}

fn faer_oom(what: &str) -> Error {
    Error::input(format!("local solver: out of memory for the {what}"))
}

fn mem_buffer(req: StackReq, what: &str) -> Result<MemBuffer> {
    MemBuffer::try_new(req).map_err(|_| faer_oom(what))
}

/// `faer` sees the CSR arrays as the CSC matrix `Aᵀ`, whose upper triangle is the lower
/// triangle of `A`: the triangle IC(0) reads too.
const LOWER_OF_A: Side = Side::Upper;

#[cfg(test)]
mod tests;

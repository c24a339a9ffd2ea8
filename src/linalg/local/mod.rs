//! Sequential local solvers for subdomain matrices: the `A_i⁻¹` inside Schwarz preconditioners.
//! Each is set up once per sparsity pattern (symbolic phase: ordering, elimination tree,
//! workspaces), refactored once per set of values (numeric phase), and applied many times
//! without allocating. Exact solves come from `faer` (sparse LLᵀ and LU with partial pivoting);
//! the incomplete factorizations IC(0) and ILU(0) are written here.
//!
//! Everything is sequential: under MPI each rank owns its cores, so [`init_sequential`] is
//! called at start-up to keep `faer` from spawning threads of its own.

mod incomplete;

pub use incomplete::IC0_SHIFTS;

use super::Csr;
use crate::error::{Error, Result};
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::solvers::LltError;
use faer::sparse::linalg::cholesky::simplicial::{
    prefactorize_symbolic_cholesky, prefactorize_symbolic_cholesky_scratch,
};
use faer::sparse::linalg::cholesky::{
    factorize_symbolic_cholesky, CholeskySymbolicParams, LltRef, SymbolicCholesky, SymbolicCholeskyRaw,
    SymmetricOrdering,
};
use faer::sparse::linalg::lu::{factorize_symbolic_lu, LuRef, NumericLu, SymbolicLu};
use faer::sparse::linalg::{LuError, SupernodalThreshold};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Side};
use incomplete::{Ic0, Ilu0};
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
        SYMBOLIC_SETUPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
            Backend::Lu(f) => lu_fill_estimate(&self.rowptr, &f.row_idx, f.symbolic.col_perm().arrays().1),
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

/// Below this many rows the minimum-degree ordering is cheaper than nested dissection by more
/// than its extra fill costs. Measured on the 3D 100³ benchmark with 256 subdomains (~6000 rows
/// each with the overlap) on 2 ranks: METIS's ordering made the set-up 4.70 s (Nicolaides) and
/// 8.43 s (GDSW); with AMD it is 2.83 s and 5.27 s, while the solves cost 10–16 % more (5.67 →
/// 6.24 s and 4.75 → 5.53 s): 10.37 → 9.09 s and 13.20 → 10.82 s in all. Blocks of 16 000 rows
/// and more (64 subdomains) keep nested dissection, whose smaller factors pay off there.
const ND_MIN_ROWS: usize = 10000;

/// Whether `a` has at most 6 entries per row on average, as 2D stencils and P1 triangle
/// meshes do (3D ones have 7 or more): the factors then have narrow supernodes.
fn is_2d_like(a: &Csr) -> bool {
    a.nnz() <= 6 * a.nrows
}

/// METIS nested-dissection ordering `(new → old, old → new)` of the symmetric pattern of `a`, or
/// `None` for small or 2D-like matrices (at most 6 entries per row; AMD is used then) or when
/// METIS fails. Nested dissection gives
/// markedly less fill than AMD on 2D and 3D grid-like matrices.
fn nested_dissection(a: &Csr) -> Option<(Vec<usize>, Vec<usize>)> {
    let n = a.nrows;
    // Measured on the 1M-unknown Poisson benchmark: nested dissection pays off for 3D stencils
    // (7-point: 3D 100³ with 16 subdomains, 24.3 s → 18.9 s) but not for 2D 5-point matrices,
    // whose solve time it leaves unchanged while the ordering itself costs (10.4 s → 11.4 s).
    if n < ND_MIN_ROWS || is_2d_like(a) {
        return None;
    }
    let mut xadj: Vec<metis_sys::idx_t> = Vec::with_capacity(n + 1);
    let mut adj: Vec<metis_sys::idx_t> = Vec::with_capacity(a.nnz());
    xadj.push(0);
    for i in 0..n {
        adj.extend(
            a.row(i)
                .0
                .iter()
                .filter(|&&j| j as usize != i)
                .map(|&j| j as metis_sys::idx_t),
        );
        xadj.push(metis_sys::idx_t::try_from(adj.len()).ok()?);
    }
    let mut nv = metis_sys::idx_t::try_from(n).ok()?;
    let (mut perm, mut iperm) = (vec![0 as metis_sys::idx_t; n], vec![0 as metis_sys::idx_t; n]);
    // SAFETY: METIS reads `nv + 1` offsets and `xadj[nv]` neighbours and writes `nv` entries to
    // each output array, all allocated above; null weights and options select the defaults.
    let rc = unsafe {
        metis_sys::METIS_NodeND(
            &mut nv,
            xadj.as_mut_ptr(),
            adj.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            perm.as_mut_ptr(),
            iperm.as_mut_ptr(),
        )
    };
    (rc == metis_sys::rstatus_et_METIS_OK).then(|| {
        (
            perm.iter().map(|&p| p as usize).collect(),
            iperm.iter().map(|&p| p as usize).collect(),
        )
    })
}

/// Sparse Cholesky from `faer`: METIS nested-dissection ordering (AMD for small matrices),
/// simplicial or supernodal as `faer` chooses.
///
/// Indices are 32-bit (the CSR's own column array serves as row indices): the triangular solves
/// stream the factor's indices with its values, and 12 bytes per entry instead of 16 made them
/// 7 % faster on a 258² block.
struct FaerLlt {
    col_ptr: Vec<u32>,
    symbolic: SymbolicCholesky<u32>,
    values: Vec<f64>,
    par: Par,
    factor_mem: MemBuffer,
    solve_mem: MemBuffer,
}

impl FaerLlt {
    fn new(a: &Csr) -> Result<FaerLlt> {
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
            supernodal_flop_ratio_threshold: if is_2d_like(a) {
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
        let mut f = FaerLlt {
            col_ptr,
            symbolic,
            values,
            par,
            factor_mem,
            solve_mem,
        };
        f.factor(a)?;
        Ok(f)
    }

    fn factor(&mut self, a: &Csr) -> Result<()> {
        let res = self.symbolic.factorize_numeric_llt(
            &mut self.values,
            csc_view32(a, &self.col_ptr),
            LOWER_OF_A,
            Default::default(),
            self.par,
            MemStack::new(&mut self.factor_mem),
            Default::default(),
        );
        match res {
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

    fn solve(&mut self, x: &mut [f64]) {
        let n = x.len();
        LltRef::new(&self.symbolic, &self.values).solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(x, n, 1),
            self.par,
            MemStack::new(&mut self.solve_mem),
        );
    }

    fn nnz_factor(&self) -> usize {
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

/// Sparse LU with partial pivoting from `faer` (COLAMD column ordering, simplicial or
/// supernodal as `faer` chooses). It factors the CSC view of the CSR arrays, which is `Aᵀ`, and
/// solves `A y = x` with the transposed factors, so no transposed copy of `A` is made.
struct FaerLu {
    row_idx: Vec<usize>,
    symbolic: SymbolicLu<usize>,
    numeric: NumericLu<usize, f64>,
    par: Par,
    factor_mem: MemBuffer,
    solve_mem: MemBuffer,
    /// Right-hand side of the probe solve in [`FaerLu::check_finite`].
    probe: Vec<f64>,
}

impl FaerLu {
    fn new(a: &Csr) -> Result<FaerLu> {
        let row_idx: Vec<usize> = a.cols.iter().map(|&c| c as usize).collect();
        let symbolic = factorize_symbolic_lu(csc_transpose_view(a, &row_idx).symbolic(), Default::default())
            .map_err(|e| Error::input(format!("local solver: symbolic LU failed: {e:?}")))?;
        let par = faer::get_global_parallelism();
        let factor_mem = mem_buffer(
            symbolic.factorize_numeric_lu_scratch::<f64>(par, Default::default()),
            "LU workspace",
        )?;
        let solve_mem = mem_buffer(symbolic.solve_transpose_in_place_scratch::<f64>(1, par), "LU workspace")?;
        let mut f = FaerLu {
            row_idx,
            symbolic,
            numeric: NumericLu::new(),
            par,
            factor_mem,
            solve_mem,
            probe: vec![0.0; a.nrows],
        };
        f.factor(a)?;
        Ok(f)
    }

    fn factor(&mut self, a: &Csr) -> Result<()> {
        let res = self.symbolic.factorize_numeric_lu(
            &mut self.numeric,
            csc_transpose_view(a, &self.row_idx),
            self.par,
            MemStack::new(&mut self.factor_mem),
            Default::default(),
        );
        match res {
            Ok(_) => self.check_finite(),
            Err(LuError::SymbolicSingular { index }) => Err(Error::input(format!(
                "local solver: the local matrix is singular (no nonzero pivot at LU step {index})"
            ))),
            Err(LuError::Generic(e)) => Err(Error::input(format!("local solver: LU failed: {e:?}"))),
        }
    }

    /// `faer` takes an exactly zero pivot without complaint, so one probe solve after each
    /// factorization turns the resulting infinities into an error (a nearly singular matrix
    /// still passes).
    fn check_finite(&mut self) -> Result<()> {
        let mut probe = std::mem::take(&mut self.probe);
        probe.fill(1.0);
        self.solve(&mut probe);
        let ok = probe.iter().all(|v| v.is_finite());
        self.probe = probe;
        if ok {
            Ok(())
        } else {
            Err(Error::input(
                "local solver: the local matrix is singular (LU met a zero pivot)",
            ))
        }
    }

    fn solve(&mut self, x: &mut [f64]) {
        let n = x.len();
        // The factors are of Aᵀ, so A y = x is a transposed solve.
        LuRef::new_unchecked(&self.symbolic, &self.numeric).solve_transpose_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(x, n, 1),
            self.par,
            MemStack::new(&mut self.solve_mem),
        );
    }
}

/// `nnz(L) + nnz(U) − n` of LU without row interchanges under the symmetric permutation
/// `P (A + Aᵀ) Pᵀ`, `P` being `faer`'s column ordering: `2 nnz(chol) − n`, from the elimination
/// tree and column counts only (O(n) memory, O(fill) time).
fn lu_fill_estimate(rowptr: &[usize], row_idx: &[usize], perm_inv: &[usize]) -> usize {
    let n = rowptr.len() - 1;
    // Upper triangle of the permuted symmetrized pattern, by columns; duplicates are harmless.
    let mut colptr = vec![0usize; n + 1];
    for i in 0..n {
        for &j in &row_idx[rowptr[i]..rowptr[i + 1]] {
            colptr[perm_inv[i].max(perm_inv[j]) + 1] += 1;
        }
    }
    for c in 0..n {
        colptr[c + 1] += colptr[c];
    }
    let mut next = colptr.clone();
    let mut rows = vec![0usize; colptr[n]];
    for i in 0..n {
        for &j in &row_idx[rowptr[i]..rowptr[i + 1]] {
            let (p, q) = (perm_inv[i], perm_inv[j]);
            rows[next[p.max(q)]] = p.min(q);
            next[p.max(q)] += 1;
        }
    }
    let pattern = SymbolicSparseColMatRef::new_unsorted_checked(n, n, &colptr, None, &rows);
    let mut etree = vec![0isize; n];
    let mut col_counts = vec![0usize; n];
    let mut mem = MemBuffer::new(prefactorize_symbolic_cholesky_scratch::<usize>(n, rows.len()));
    prefactorize_symbolic_cholesky(&mut etree, &mut col_counts, pattern, MemStack::new(&mut mem));
    (2 * col_counts.iter().sum::<usize>()).saturating_sub(n)
}

/// Whether `a` maps the constant vector to zero to rounding (`|Σ_j a_ij| ≤ 1e-10 max|a_ij|`
/// for every row): the kernel of a Neumann problem's matrix.
fn annihilates_constants(a: &Csr) -> bool {
    let scale = a.vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    scale > 0.0 && (0..a.nrows).all(|i| a.row(i).1.iter().sum::<f64>().abs() <= 1e-10 * scale)
}

#[cfg(test)]
mod tests;

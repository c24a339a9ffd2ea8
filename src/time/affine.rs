//! The matrices of an implicit step, `M + c K` with `c` proportional to dt, kept as two value
//! arrays on one pattern, so a new dt costs one pass over the values (and the solver's numeric
//! update) instead of an assembly and a set-up.

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::linalg::DistMatrix;

/// The values of `base + c · slope` for two matrices of one pattern (the owned and the ghost
/// column block of each). Filling a matrix for a given `c` computes each entry the same way,
/// so a matrix built for one dt and one updated to it are bitwise equal.
pub struct AffineValues {
    base: [Vec<f64>; 2],
    slope: [Vec<f64>; 2],
}

impl AffineValues {
    /// Collective: the values of `base` and `slope`, which must share one pattern (assembled
    /// from the same triplet positions); another pattern is an agreed error.
    pub fn new(comm: &Comm, base: &DistMatrix, slope: &DistMatrix) -> Result<AffineValues> {
        let same = |a: &crate::linalg::Csr, b: &crate::linalg::Csr| a.rowptr == b.rowptr && a.cols == b.cols;
        let ok = same(base.diag(), slope.diag())
            && same(base.offd(), slope.offd())
            && base.layout().ghosts == slope.layout().ghosts;
        comm.agree(if ok {
            Ok(())
        } else {
            Err(Error::input(format!(
                "the two parts of a time-step matrix have different patterns on rank {}",
                comm.rank()
            )))
        })?;
        Ok(AffineValues {
            base: [base.diag().vals.clone(), base.offd().vals.clone()],
            slope: [slope.diag().vals.clone(), slope.offd().vals.clone()],
        })
    }

    /// Local: drops the slope of the owned rows flagged in `rows` (rows that must keep their
    /// base values whatever `c`, such as the identity rows of eliminated Dirichlet nodes);
    /// `pattern` is either matrix.
    pub fn keep_base_rows(mut self, pattern: &DistMatrix, rows: &[bool]) -> AffineValues {
        for (block, csr) in [pattern.diag(), pattern.offd()].into_iter().enumerate() {
            for (i, _) in rows.iter().enumerate().filter(|(_, &r)| r) {
                if let Some(range) = csr.rowptr.get(i).zip(csr.rowptr.get(i + 1)) {
                    self.slope[block][*range.0..*range.1].fill(0.0);
                }
            }
        }
        self
    }

    /// Local: writes `base + c · slope` into the values of `a` (of the same pattern).
    pub fn fill(&self, a: &mut DistMatrix, c: f64) {
        let (diag, offd) = a.values_mut();
        for (k, out) in [diag, offd].into_iter().enumerate() {
            for ((v, b), s) in out.iter_mut().zip(&self.base[k]).zip(&self.slope[k]) {
                *v = b + c * s;
            }
        }
    }
}

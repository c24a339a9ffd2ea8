//! Local compressed-sparse-row matrices: the storage of the owned and ghost blocks of a
//! [`super::DistMatrix`], of subdomain matrices, and the input of the local factorizations.

/// A sequential sparse matrix in CSR form with sorted, unique column indices per row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    /// Number of rows.
    pub nrows: usize,
    /// Number of columns.
    pub ncols: usize,
    /// Row offsets (`nrows + 1` entries).
    pub rowptr: Vec<usize>,
    /// Column index of each entry.
    pub cols: Vec<u32>,
    /// Value of each entry.
    pub vals: Vec<f64>,
}

impl Csr {
    /// Builds a matrix from `(row, col, value)` triplets, summing duplicates (in triplet order,
    /// so the result is reproducible).
    pub fn from_triplets(nrows: usize, ncols: usize, triplets: &[(u32, u32, f64)]) -> Csr {
        let mut count = vec![0usize; nrows + 1];
        for &(r, _, _) in triplets {
            count[r as usize + 1] += 1;
        }
        for i in 0..nrows {
            count[i + 1] += count[i];
        }
        let mut next = count.clone();
        let mut tmp = vec![(0u32, 0.0f64); triplets.len()];
        for &(r, c, v) in triplets {
            tmp[next[r as usize]] = (c, v);
            next[r as usize] += 1;
        }
        let mut rowptr = Vec::with_capacity(nrows + 1);
        rowptr.push(0);
        let mut cols = Vec::with_capacity(triplets.len());
        let mut vals = Vec::with_capacity(triplets.len());
        for i in 0..nrows {
            let row = &mut tmp[count[i]..count[i + 1]];
            // Stable: duplicates keep their triplet order when summed.
            row.sort_by_key(|&(c, _)| c);
            for &(c, v) in row.iter() {
                if cols.len() > *rowptr.last().unwrap_or(&0) && cols.last() == Some(&c) {
                    if let Some(last) = vals.last_mut() {
                        *last += v;
                    }
                } else {
                    cols.push(c);
                    vals.push(v);
                }
            }
            rowptr.push(cols.len());
        }
        Csr {
            nrows,
            ncols,
            rowptr,
            cols,
            vals,
        }
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Column indices and values of row `i`.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.rowptr[i]..self.rowptr[i + 1];
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// Row `i` of `A x` (for products restricted to some rows).
    pub fn row_dot(&self, i: usize, x: &[f64]) -> f64 {
        let (c, v) = self.row(i);
        c.iter().zip(v).map(|(&j, a)| a * x[j as usize]).sum()
    }

    /// `y = A x`.
    pub fn spmv(&self, x: &[f64], y: &mut [f64]) {
        for (i, yi) in y.iter_mut().enumerate().take(self.nrows) {
            *yi = self.row_dot(i, x);
        }
    }

    /// `y += A x`.
    pub fn spmv_add(&self, x: &[f64], y: &mut [f64]) {
        for (i, yi) in y.iter_mut().enumerate().take(self.nrows) {
            *yi += self.row_dot(i, x);
        }
    }

    /// `y += α Aᵀ x` (`x` of `nrows`, `y` of `ncols` entries).
    pub fn spmv_transpose_add(&self, alpha: f64, x: &[f64], y: &mut [f64]) {
        for (i, &xi) in x.iter().enumerate().take(self.nrows) {
            let (c, v) = self.row(i);
            let s = alpha * xi;
            c.iter().zip(v).for_each(|(&j, a)| y[j as usize] += a * s);
        }
    }

    /// The diagonal (0 where no diagonal entry is stored).
    pub fn diagonal(&self) -> Vec<f64> {
        (0..self.nrows.min(self.ncols))
            .map(|i| {
                let (c, v) = self.row(i);
                c.binary_search(&(i as u32)).map_or(0.0, |k| v[k])
            })
            .collect()
    }

    /// The submatrix of rows and columns `keep` (local indices, ascending), renumbered
    /// `0..keep.len()`.
    pub fn principal_submatrix(&self, keep: &[u32]) -> Csr {
        let mut map = vec![u32::MAX; self.ncols.max(self.nrows)];
        for (k, &i) in keep.iter().enumerate() {
            map[i as usize] = k as u32;
        }
        let mut rowptr = vec![0];
        let (mut cols, mut vals) = (Vec::new(), Vec::new());
        for &i in keep {
            let (c, v) = self.row(i as usize);
            for (&j, &a) in c.iter().zip(v) {
                let m = map[j as usize];
                if m != u32::MAX {
                    cols.push(m);
                    vals.push(a);
                }
            }
            rowptr.push(cols.len());
        }
        Csr {
            nrows: keep.len(),
            ncols: keep.len(),
            rowptr,
            cols,
            vals,
        }
    }

    /// Whether the matrix equals its transpose to `tol` relative to the largest entry.
    pub fn is_symmetric(&self, tol: f64) -> bool {
        let scale = self.vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        (0..self.nrows).all(|i| {
            let (c, v) = self.row(i);
            c.iter().zip(v).all(|(&j, &a)| {
                let (cj, vj) = self.row(j as usize);
                let b = cj.binary_search(&(i as u32)).map_or(0.0, |k| vj[k]);
                (a - b).abs() <= tol * scale
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triplets_sum_duplicates_and_sort() {
        let a = Csr::from_triplets(2, 3, &[(1, 2, 1.0), (0, 1, 2.0), (1, 0, 3.0), (1, 2, 4.0), (0, 0, 1.0)]);
        assert_eq!(a.rowptr, vec![0, 2, 4]);
        assert_eq!(a.cols, vec![0, 1, 0, 2]);
        assert_eq!(a.vals, vec![1.0, 2.0, 3.0, 5.0]);
        let mut y = vec![0.0; 2];
        a.spmv(&[1.0, 1.0, 1.0], &mut y);
        assert_eq!(y, vec![3.0, 8.0]);
        assert!(!a.is_symmetric(1e-14));
        let s = Csr::from_triplets(2, 2, &[(0, 0, 2.0), (0, 1, -1.0), (1, 0, -1.0), (1, 1, 2.0)]);
        assert!(s.is_symmetric(0.0));
        assert_eq!(s.diagonal(), vec![2.0, 2.0]);
        assert_eq!(s.principal_submatrix(&[1]).vals, vec![2.0]);
    }
}

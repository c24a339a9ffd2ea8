//! Rows of a distributed matrix in global numbering, fetched from their owners when a
//! subdomain's overlap reaches across a rank boundary.

use crate::comm::Comm;
use crate::linalg::{owner_of, DistMatrix};
use std::collections::HashMap;

/// The rows this rank knows, by global id: its own rows (one CSR in global column ids, so set-up
/// does not allocate per row) plus those fetched for the overlap.
pub(crate) struct KnownRows {
    offset: u64,
    ptr: Vec<usize>,
    cols: Vec<u64>,
    vals: Vec<f64>,
    fetched: HashMap<u64, (Vec<u64>, Vec<f64>)>,
}

impl KnownRows {
    /// This rank's owned rows in global numbering.
    pub fn owned(a: &DistMatrix) -> KnownRows {
        let lay = &a.layout();
        let nnz = a.diag().nnz() + a.offd().nnz();
        let (mut ptr, mut cols, mut vals) = (
            Vec::with_capacity(lay.n_owned + 1),
            Vec::with_capacity(nnz),
            Vec::with_capacity(nnz),
        );
        ptr.push(0);
        let mut row: Vec<(u64, f64)> = Vec::new();
        for i in 0..lay.n_owned {
            let (dc, dv) = a.diag().row(i);
            let (oc, ov) = a.offd().row(i);
            row.clear();
            row.extend(dc.iter().map(|&j| lay.offset + j as u64).zip(dv.iter().copied()));
            row.extend(oc.iter().map(|&k| lay.ghosts[k as usize]).zip(ov.iter().copied()));
            row.sort_unstable_by_key(|e| e.0);
            cols.extend(row.iter().map(|e| e.0));
            vals.extend(row.iter().map(|e| e.1));
            ptr.push(cols.len());
        }
        KnownRows {
            offset: lay.offset,
            ptr,
            cols,
            vals,
            fetched: HashMap::new(),
        }
    }

    /// Row `g` (global column ids ascending, values), if known.
    pub fn get(&self, g: u64) -> Option<(&[u64], &[f64])> {
        let i = g.wrapping_sub(self.offset) as usize;
        if g >= self.offset && i + 1 < self.ptr.len() {
            let r = self.ptr[i]..self.ptr[i + 1];
            return Some((&self.cols[r.clone()], &self.vals[r]));
        }
        self.fetched.get(&g).map(|(c, v)| (&c[..], &v[..]))
    }

    /// Row `g`, which must be known (owned, or fetched before).
    pub fn row(&self, g: u64) -> (&[u64], &[f64]) {
        self.get(g).unwrap_or((&[], &[]))
    }

    /// Collective: fetches the rows `wanted` (not yet known) from their owners. Every rank must
    /// call it (with possibly nothing wanted).
    pub fn fetch(&mut self, comm: &Comm, a: &DistMatrix, wanted: &[u64]) {
        let size = comm.size() as usize;
        let mut ids: Vec<u64> = wanted.iter().copied().filter(|&g| self.get(g).is_none()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut counts = vec![0i32; size];
        for &g in &ids {
            counts[owner_of(a.row_offsets(), g).unwrap_or(0)] += 1;
        }
        // ids are sorted, and owners' ranges ascend with rank, so they are grouped by owner.
        let (asked, asked_counts) = comm.all_to_all_v(&ids, &counts);
        // Reply: per requested row its length, then the concatenated columns and values.
        let (mut lens, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
        let (mut len_counts, mut ent_counts) = (vec![0i32; size], vec![0i32; size]);
        let mut k = 0;
        for (r, &n) in asked_counts.iter().enumerate() {
            for g in &asked[k..k + n as usize] {
                let (c, v) = self.row(*g);
                lens.push(c.len() as u64);
                cols.extend_from_slice(c);
                vals.extend_from_slice(v);
                len_counts[r] += 1;
                ent_counts[r] += c.len() as i32;
            }
            k += n as usize;
        }
        let (got_lens, _) = comm.all_to_all_v(&lens, &len_counts);
        let (got_cols, _) = comm.all_to_all_v(&cols, &ent_counts);
        let (got_vals, _) = comm.all_to_all_v(&vals, &ent_counts);
        let mut at = 0;
        for (g, n) in ids.iter().zip(got_lens) {
            let n = n as usize;
            self.fetched
                .insert(*g, (got_cols[at..at + n].to_vec(), got_vals[at..at + n].to_vec()));
            at += n;
        }
    }
}

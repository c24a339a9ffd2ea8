//! Rows of a distributed matrix in global numbering, fetched from their owners when a
//! subdomain's overlap reaches across a rank boundary.

use crate::comm::Comm;
use crate::linalg::{owner_of, DistMatrix};
use std::collections::BTreeMap;

/// A matrix row: global column ids (ascending) and values.
pub(crate) type Row = (Vec<u64>, Vec<f64>);

/// The rows this rank knows, by global id: its own rows plus those fetched for the overlap.
pub(crate) struct KnownRows {
    pub rows: BTreeMap<u64, Row>,
}

impl KnownRows {
    /// This rank's owned rows in global numbering.
    pub fn owned(a: &DistMatrix) -> KnownRows {
        let lay = &a.layout;
        let mut rows = BTreeMap::new();
        for i in 0..lay.n_owned {
            let (dc, dv) = a.diag.row(i);
            let (oc, ov) = a.offd.row(i);
            let mut r: Vec<(u64, f64)> = dc
                .iter()
                .map(|&j| lay.offset + j as u64)
                .zip(dv.iter().copied())
                .collect();
            r.extend(oc.iter().map(|&k| lay.ghosts[k as usize]).zip(ov.iter().copied()));
            r.sort_by_key(|e| e.0);
            rows.insert(lay.offset + i as u64, r.into_iter().unzip());
        }
        KnownRows { rows }
    }

    /// Collective: fetches the rows `wanted` (not yet known) from their owners. Every rank must
    /// call it (with possibly nothing wanted).
    pub fn fetch(&mut self, comm: &Comm, a: &DistMatrix, wanted: &[u64]) {
        let size = comm.size() as usize;
        let mut ids: Vec<u64> = wanted.iter().copied().filter(|g| !self.rows.contains_key(g)).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut counts = vec![0i32; size];
        for &g in &ids {
            counts[owner_of(&a.offsets, g).unwrap_or(0)] += 1;
        }
        // ids are sorted, and owners' ranges ascend with rank, so they are grouped by owner.
        let (asked, asked_counts) = comm.all_to_all_v(&ids, &counts);
        // Reply: per requested row its length, then the concatenated columns and values.
        let (mut lens, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
        let (mut len_counts, mut ent_counts) = (vec![0i32; size], vec![0i32; size]);
        let mut k = 0;
        for (r, &n) in asked_counts.iter().enumerate() {
            for g in &asked[k..k + n as usize] {
                let (c, v) = self.rows.get(g).map_or((&[][..], &[][..]), |(c, v)| (&c[..], &v[..]));
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
            self.rows
                .insert(*g, (got_cols[at..at + n].to_vec(), got_vals[at..at + n].to_vec()));
            at += n;
        }
    }
}

//! Moving per-entity values between "who owns the entity" and "who holds its row": the one
//! communication pattern of the output and the checkpoints. Rows `0..n` are split into one
//! contiguous block per rank (`starts`); each rank names the ids it holds values for (or wants
//! values of), and an [`IdExchange`] built once moves values either way with one all-to-all.
//!
//! Used for: P1 values fetched at the corners of P2 edges (blocks = the P1 owned ranges),
//! checkpoint fields stored in input-mesh-id order (blocks = an even split of the ids), and
//! fields read back by mesh id.

use crate::comm::{displacements, Comm};
use crate::error::{Error, Result};
use mpi::datatype::{Partition, PartitionMut};
use mpi::traits::*;

/// The even split of `0..n` over `p` ranks: rank `r` holds `starts[r]..starts[r + 1]`.
pub(crate) fn even_starts(n: u64, p: usize) -> Vec<u64> {
    (0..=p as u128).map(|r| (n as u128 * r / p as u128) as u64).collect()
}

/// The block starts of ranks that own the contiguous ranges `offset..offset + count`, which
/// must tile `0..n` in rank order (collective).
pub(crate) fn gathered_starts(comm: &Comm, offset: u64, count: u64, n: u64) -> Result<Vec<u64>> {
    let offsets = comm.all_gather_u64(offset);
    let counts = comm.all_gather_u64(count);
    let mut starts = Vec::with_capacity(offsets.len() + 1);
    let mut next = 0u64;
    for (o, c) in offsets.iter().zip(&counts) {
        // A rank owning nothing may give any offset.
        if *c > 0 && *o != next {
            return Err(Error::Output(format!(
                "owned ranges are not contiguous in rank order: {o} where {next} was expected"
            )));
        }
        starts.push(next);
        next = o.saturating_add(*c);
    }
    starts.push(next);
    if next != n {
        return Err(Error::Output(format!("owned ranges add up to {next}, expected {n}")));
    }
    Ok(starts)
}

/// A plan moving values between this rank's list of ids and the row blocks that hold them.
#[derive(Debug)]
pub(crate) struct IdExchange {
    /// Per rank: how many of this rank's ids lie in its block.
    counts: Vec<i32>,
    /// This rank's ids grouped by block owner, as positions in its list.
    order: Vec<usize>,
    /// Per rank: how many ids it named in this rank's block.
    rcounts: Vec<i32>,
    /// Rows (relative to this rank's block) of the ids received, grouped by source rank.
    rows: Vec<usize>,
    /// Length of this rank's block.
    block_len: usize,
}

impl IdExchange {
    /// Collective: the plan for `ids` (any order, repeats allowed) over the blocks `starts`
    /// (`size + 1` entries, the last one `n`). An id `>= n` on any rank is an error everywhere.
    pub(crate) fn new(comm: &Comm, starts: &[u64], ids: &[u64]) -> Result<IdExchange> {
        let size = comm.size() as usize;
        let n = starts[size];
        let bad = ids.iter().find(|&&i| i >= n);
        comm.agree(match bad {
            Some(i) => Err(Error::Output(format!("id {i} out of range (only {n})"))),
            None => Ok(()),
        })?;
        let owner = |id: u64| starts.partition_point(|&s| s <= id) - 1;
        let mut counts = vec![0i32; size];
        for &i in ids {
            counts[owner(i)] += 1;
        }
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&j| owner(ids[j]));
        let send: Vec<u64> = order.iter().map(|&j| ids[j]).collect();
        let (recv, rcounts) = comm.all_to_all_v(&send, &counts);
        let me = comm.rank() as usize;
        let rows = recv.iter().map(|&i| (i - starts[me]) as usize).collect();
        Ok(IdExchange {
            counts,
            order,
            rcounts,
            rows,
            block_len: (starts[me + 1] - starts[me]) as usize,
        })
    }

    /// Local: the first row of this rank's block named more than once over all ranks, if any
    /// (every rank holding a row's value must be the only one).
    pub(crate) fn repeated_row(&self) -> Option<usize> {
        let mut seen = vec![false; self.block_len];
        self.rows
            .iter()
            .find(|&&r| std::mem::replace(&mut seen[r], true))
            .copied()
    }

    /// Local: which rows of this rank's block some rank named.
    pub(crate) fn named_rows(&self) -> Vec<bool> {
        let mut seen = vec![false; self.block_len];
        for &r in &self.rows {
            seen[r] = true;
        }
        seen
    }

    /// Collective: `values` (`comps` per id, in the order of the ids) placed in this rank's
    /// block (`comps` per row); rows nobody named hold `fill`. Assumes no row is named twice
    /// ([`IdExchange::repeated_row`]), else the last value wins.
    pub(crate) fn to_blocks(&self, comm: &Comm, values: &[f64], comps: usize, fill: f64) -> Vec<f64> {
        let send: Vec<f64> = self
            .order
            .iter()
            .flat_map(|&j| &values[j * comps..(j + 1) * comps])
            .copied()
            .collect();
        let recv = all_to_all(comm, &send, &self.counts, &self.rcounts, comps);
        let mut block = vec![fill; self.block_len * comps];
        for (k, &r) in self.rows.iter().enumerate() {
            block[r * comps..(r + 1) * comps].copy_from_slice(&recv[k * comps..(k + 1) * comps]);
        }
        block
    }

    /// Collective: the values of this rank's ids (`comps` each, in the order of the ids) from
    /// the blocks (`block` holds this rank's rows, `comps` per row).
    pub(crate) fn fetch(&self, comm: &Comm, block: &[f64], comps: usize) -> Vec<f64> {
        let send: Vec<f64> = self
            .rows
            .iter()
            .flat_map(|&r| &block[r * comps..(r + 1) * comps])
            .copied()
            .collect();
        let recv = all_to_all(comm, &send, &self.rcounts, &self.counts, comps);
        let mut out = vec![0.0; self.order.len() * comps];
        for (k, &j) in self.order.iter().enumerate() {
            out[j * comps..(j + 1) * comps].copy_from_slice(&recv[k * comps..(k + 1) * comps]);
        }
        out
    }
}

/// Collective: all-to-all of `comps`-tuples, `scounts[r]` of them for rank `r`, `rcounts[r]`
/// from it (both sides already agree on the counts).
fn all_to_all(comm: &Comm, send: &[f64], scounts: &[i32], rcounts: &[i32], comps: usize) -> Vec<f64> {
    let c = comps as i32;
    let sc: Vec<i32> = scounts.iter().map(|&n| n * c).collect();
    let rc: Vec<i32> = rcounts.iter().map(|&n| n * c).collect();
    let (sd, rd) = (displacements(&sc), displacements(&rc));
    let mut recv = vec![0.0; rc.iter().sum::<i32>() as usize];
    {
        let sp = Partition::new(send, &sc[..], &sd[..]);
        let mut rp = PartitionMut::new(&mut recv[..], &rc[..], &rd[..]);
        comm.world().all_to_all_varcount_into(&sp, &mut rp);
    }
    recv
}

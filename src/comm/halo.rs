//! The halo-exchange plan: built once from a [`Layout`], it knows per neighbour rank which owned
//! entries to send and which ghost slots receive, with buffers allocated once. Both directions
//! (forward: owners → ghosts; reverse-add: ghosts → owners, summed) come in an overlapped form that
//! runs caller code between posting the nonblocking messages and waiting for them, and the time of
//! each phase is accumulated so a run can say how much communication was hidden.

use super::{displacements, Comm, Layout};
use crate::error::{Error, Result};
use mpi::traits::*;
use std::ops::Range;
use std::time::Instant;

/// How a time step treats its halo exchange (benchmarks compare all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HaloMode {
    /// Post the exchange, compute what needs no ghost value, wait, compute the rest.
    Overlap,
    /// Complete the exchange, then compute everything.
    Blocking,
    /// No exchange at all (ghosts stale): only for measuring what the exchange costs.
    Skip,
}

/// The message tag of forward exchanges (owners → ghosts). Public so that tests can show that a
/// host's messages with the same tag never meet ddkit's (a `Comm` works on a duplicate).
pub const TAG_FORWARD: i32 = 7101;
/// The message tag of reverse-add exchanges (ghosts → owners).
pub const TAG_REVERSE: i32 = 7102;

/// One neighbour rank and its slices of the index and buffer arrays.
#[derive(Clone, Debug)]
struct Peer {
    rank: i32,
    /// Range in `send_idx` / `send_buf`: owned entries this peer holds as ghosts.
    send: Range<usize>,
    /// Range in `recv_idx` / `recv_buf`: ghosts this rank holds that the peer owns.
    recv: Range<usize>,
}

/// Accumulated halo timings in seconds, split by phase.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct HaloStats {
    /// Number of exchanges performed.
    pub exchanges: u64,
    /// Packing buffers and posting the nonblocking receives and sends.
    pub post: f64,
    /// Caller work run while the messages were in flight.
    pub shadow: f64,
    /// Waiting for completion and unpacking.
    pub wait: f64,
    /// Bytes sent by this rank.
    pub bytes_sent: u64,
}

impl HaloStats {
    /// Communication time that was not hidden behind computation (post + wait).
    pub fn exposed(&self) -> f64 {
        self.post + self.wait
    }
}

/// A reusable exchange plan over one [`Layout`].
#[derive(Debug)]
pub struct Halo {
    peers: Vec<Peer>,
    send_idx: Vec<u32>,
    recv_idx: Vec<u32>,
    send_buf: Vec<f64>,
    recv_buf: Vec<f64>,
    /// Timings accumulated over all exchanges since construction (or the last reset).
    pub stats: HaloStats,
}

impl Halo {
    /// Collective: builds the plan. Each rank tells the owners which of their ids it holds as
    /// ghosts (one all-to-all of counts, one of ids); the owners turn them into local indices.
    pub fn new(comm: &Comm, layout: &Layout) -> Result<Halo> {
        let size = comm.size() as usize;
        // Ghosts grouped by owner, in ascending global id within a group for a stable order.
        let mut order: Vec<usize> = (0..layout.ghosts.len()).collect();
        order.sort_by_key(|&k| (layout.ghost_owners[k], layout.ghosts[k]));
        let mut want_counts = vec![0i32; size];
        let mut bad_owner = None;
        for &k in &order {
            match usize::try_from(layout.ghost_owners[k]) {
                Ok(r) if r < size && r != comm.rank() as usize => want_counts[r] += 1,
                _ => bad_owner = Some(layout.ghost_owners[k]),
            }
        }
        // A bad layout on one rank must stop every rank before the all-to-alls below, which the
        // others would otherwise enter alone.
        comm.agree(match bad_owner {
            Some(r) => Err(Error::input(format!("ghost owned by invalid rank {r}"))),
            None => Ok(()),
        })?;
        let want_ids: Vec<u64> = order.iter().map(|&k| layout.ghosts[k]).collect();
        let recv_idx: Vec<u32> = order.iter().map(|&k| (layout.n_owned + k) as u32).collect();

        let (give_ids, give_counts) = comm.all_to_all_v(&want_ids, &want_counts);
        let (want_displs, give_displs) = (displacements(&want_counts), displacements(&give_counts));
        let range = layout.offset..layout.offset + layout.n_owned as u64;
        let bad = give_ids.iter().find(|g| !range.contains(g)).copied();
        comm.agree(match bad {
            Some(g) => Err(Error::input(format!(
                "rank {} asked for id {g}, which it does not own",
                comm.rank()
            ))),
            None => Ok(()),
        })?;
        let send_idx: Vec<u32> = give_ids.iter().map(|g| (g - layout.offset) as u32).collect();

        let mut peers = Vec::new();
        for r in 0..size {
            if want_counts[r] > 0 || give_counts[r] > 0 {
                let s0 = give_displs[r] as usize;
                let r0 = want_displs[r] as usize;
                peers.push(Peer {
                    rank: r as i32,
                    send: s0..s0 + give_counts[r] as usize,
                    recv: r0..r0 + want_counts[r] as usize,
                });
            }
        }
        Ok(Halo {
            peers,
            send_buf: vec![0.0; send_idx.len()],
            recv_buf: vec![0.0; recv_idx.len()],
            send_idx,
            recv_idx,
            stats: HaloStats::default(),
        })
    }

    /// Ranks this rank exchanges with.
    pub fn neighbours(&self) -> Vec<i32> {
        self.peers.iter().map(|p| p.rank).collect()
    }

    /// Local indices of owned entries that some neighbour holds as ghosts (possibly repeated).
    pub fn shared_owned(&self) -> &[u32] {
        &self.send_idx
    }

    /// Collective among neighbours: copies owner values into the ghost slots of `data`.
    pub fn forward(&mut self, comm: &Comm, data: &mut [f64]) {
        self.forward_overlapped(comm, data, |_| ());
    }

    /// Forward exchange with `shadow` run while the messages are in flight. `shadow` sees `data`
    /// read-only and must not depend on ghost values (they are stale until it returns).
    pub fn forward_overlapped<R>(&mut self, comm: &Comm, data: &mut [f64], shadow: impl FnOnce(&[f64]) -> R) -> R {
        let t0 = Instant::now();
        for (b, &i) in self.send_buf.iter_mut().zip(&self.send_idx) {
            *b = data[i as usize];
        }
        let r = exchange(
            comm,
            &self.peers,
            &self.send_buf,
            |p| p.send.clone(),
            &mut self.recv_buf,
            |p| p.recv.clone(),
            TAG_FORWARD,
            &mut self.stats,
            t0,
            || shadow(data),
        );
        let t = Instant::now();
        for (&b, &i) in self.recv_buf.iter().zip(&self.recv_idx) {
            data[i as usize] = b;
        }
        self.stats.wait += t.elapsed().as_secs_f64();
        self.stats.bytes_sent += 8 * self.send_buf.len() as u64;
        r
    }

    /// Collective among neighbours: adds ghost-slot contributions of `data` into their owners'
    /// entries (in neighbour-rank order, so sums are reproducible). Ghost slots are left as they
    /// were; call [`Halo::forward`] afterwards when ghosts must see the summed values.
    pub fn reverse_add(&mut self, comm: &Comm, data: &mut [f64]) {
        self.reverse_add_overlapped(comm, data, |_| ());
    }

    /// Reverse-add with `shadow` run while the messages are in flight; `shadow` must not touch
    /// owned entries that neighbours contribute to (it sees `data` read-only).
    pub fn reverse_add_overlapped<R>(&mut self, comm: &Comm, data: &mut [f64], shadow: impl FnOnce(&[f64]) -> R) -> R {
        let t0 = Instant::now();
        for (b, &i) in self.recv_buf.iter_mut().zip(&self.recv_idx) {
            *b = data[i as usize];
        }
        let r = exchange(
            comm,
            &self.peers,
            &self.recv_buf,
            |p| p.recv.clone(),
            &mut self.send_buf,
            |p| p.send.clone(),
            TAG_REVERSE,
            &mut self.stats,
            t0,
            || shadow(data),
        );
        let t = Instant::now();
        for (&b, &i) in self.send_buf.iter().zip(&self.send_idx) {
            data[i as usize] += b;
        }
        self.stats.wait += t.elapsed().as_secs_f64();
        self.stats.bytes_sent += 8 * self.recv_buf.len() as u64;
        r
    }
}

impl Halo {
    /// Collective among neighbours: [`Halo::forward`] through `&self`, with buffers of its own
    /// (allocated per call): for set-up code that shares a plan it does not own, not for loops.
    pub fn forward_once(&self, comm: &Comm, data: &mut [f64]) {
        self.duplicate().forward(comm, data);
    }

    /// The same plan with buffers of its own and zero statistics (no communication).
    pub fn duplicate(&self) -> Halo {
        Halo {
            peers: self.peers.clone(),
            send_idx: self.send_idx.clone(),
            recv_idx: self.recv_idx.clone(),
            send_buf: vec![0.0; self.send_buf.len()],
            recv_buf: vec![0.0; self.recv_buf.len()],
            stats: HaloStats::default(),
        }
    }
}

/// Sparse rows attached to the entries of a [`Layout`]: per local index a list of
/// `(key, value)` pairs (e.g. the nonzero columns of a tall sparse matrix), exchanged at set-up
/// time by [`Halo::forward_rows`] and [`Halo::reverse_append_rows`].
pub type SparseRow = Vec<(u32, f64)>;

impl Halo {
    /// Collective over all ranks: the rows of the ghost slots of `rows` are replaced by their
    /// owners' rows. For set-up, not iteration loops: the variable lengths go through three
    /// all-to-alls (lengths, keys, values) instead of the plan's preallocated neighbour messages.
    pub fn forward_rows(&self, comm: &Comm, rows: &mut [SparseRow]) {
        let got = exchange_rows(
            comm,
            &self.peers,
            rows,
            (&self.send_idx, |p| p.send.clone()),
            (&self.recv_idx, |p| p.recv.clone()),
        );
        for (i, row) in got {
            rows[i] = row;
        }
    }

    /// Collective over all ranks: the rows of the ghost slots of `rows` are appended to their
    /// owners' rows, in neighbour-rank order (so a later sum of equal keys is reproducible);
    /// ghost rows are left as they were. Duplicate keys are kept: the caller merges them. For
    /// set-up, like [`Halo::forward_rows`].
    pub fn reverse_append_rows(&self, comm: &Comm, rows: &mut [SparseRow]) {
        let got = exchange_rows(
            comm,
            &self.peers,
            rows,
            (&self.recv_idx, |p| p.recv.clone()),
            (&self.send_idx, |p| p.send.clone()),
        );
        for (i, row) in got {
            rows[i].extend(row);
        }
    }
}

/// Index array and per-peer range of one direction of a [`Halo`].
type Side<'a> = (&'a [u32], fn(&Peer) -> Range<usize>);

/// Sends `rows[i]` for the indices `out` lists per peer and returns the rows received, each
/// with the local index `inc` gives it. The plan's send list of one rank and the receive list
/// of its peer name the same entries in the same order, so the rows arrive in place.
fn exchange_rows(comm: &Comm, peers: &[Peer], rows: &[SparseRow], out: Side, inc: Side) -> Vec<(usize, SparseRow)> {
    let size = comm.size() as usize;
    let (mut len_counts, mut entry_counts) = (vec![0i32; size], vec![0i32; size]);
    let (mut lens, mut keys, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    for p in peers {
        for &i in &out.0[(out.1)(p)] {
            let row = &rows[i as usize];
            lens.push(row.len() as u32);
            keys.extend(row.iter().map(|e| e.0));
            vals.extend(row.iter().map(|e| e.1));
            len_counts[p.rank as usize] += 1;
            entry_counts[p.rank as usize] += row.len() as i32;
        }
    }
    let (lens, _) = comm.all_to_all_v(&lens, &len_counts);
    let (keys, _) = comm.all_to_all_v(&keys, &entry_counts);
    let (vals, _) = comm.all_to_all_v(&vals, &entry_counts);
    // Received grouped by source rank in ascending order, as `peers` is sorted.
    let mut got = Vec::with_capacity(lens.len());
    let (mut k, mut at) = (0, 0);
    for p in peers {
        for &i in &inc.0[(inc.1)(p)] {
            let l = lens[k] as usize;
            let row = keys[at..at + l].iter().copied().zip(vals[at..at + l].iter().copied());
            got.push((i as usize, row.collect()));
            k += 1;
            at += l;
        }
    }
    got
}

/// Posts one receive and one send per peer, runs `shadow`, waits for all. Timing of the post,
/// shadow and wait phases is added to `stats` (`t0` marks the start of packing).
#[allow(clippy::too_many_arguments)]
fn exchange<R>(
    comm: &Comm,
    peers: &[Peer],
    out: &[f64],
    out_range: impl Fn(&Peer) -> Range<usize>,
    inc: &mut [f64],
    inc_range: impl Fn(&Peer) -> Range<usize>,
    tag: i32,
    stats: &mut HaloStats,
    t0: Instant,
    shadow: impl FnOnce() -> R,
) -> R {
    let world = comm.world();
    let (r, t1, t2) = mpi::request::multiple_scope(2 * peers.len(), |scope, coll| {
        // Peers' incoming ranges are consecutive and ascending, so the buffer splits in order.
        let mut rest = &mut inc[..];
        let mut at = 0;
        for p in peers {
            let rg = inc_range(p);
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(rg.start - at);
            let (mine, tail) = tail.split_at_mut(rg.len());
            rest = tail;
            at = rg.end;
            coll.add(
                world
                    .process_at_rank(p.rank)
                    .immediate_receive_into_with_tag(scope, mine, tag),
            );
        }
        for p in peers {
            coll.add(
                world
                    .process_at_rank(p.rank)
                    .immediate_send_with_tag(scope, &out[out_range(p)], tag),
            );
        }
        let t1 = Instant::now();
        let r = shadow();
        let t2 = Instant::now();
        // wait_any in a loop completes everything without allocating a status vector.
        while coll.incomplete() > 0 {
            coll.wait_any();
        }
        (r, t1, t2)
    });
    stats.exchanges += 1;
    stats.post += (t1 - t0).as_secs_f64();
    stats.shadow += (t2 - t1).as_secs_f64();
    stats.wait += t2.elapsed().as_secs_f64();
    r
}

//! FETI's Lagrange multipliers and the signed Boolean jump operators `B_s`.
//!
//! **Fully redundant multipliers.** Every pair of subdomains `s < t` that shares an interface
//! row gets one multiplier per shared row, enforcing `u_s = u_t` there; a row shared by `m`
//! subdomains has `m (m − 1) / 2` of them. They are redundant at cross points (a row of four
//! subdomains needs only three), and that is on purpose: with the multiplicity-scaled
//! preconditioners the redundant set makes the dual operator's condition number as good as the
//! non-redundant one's (Rixen and Farhat, IJNME 44 (1999)) and needs no choice of which pair to
//! drop, which would depend on the partition. The dual problem stays solvable: `F` is only
//! semi-definite on the redundant directions, and CG never leaves the range it starts in.
//!
//! **Layout.** The pair's lower subdomain's rank owns the pair's multipliers, numbered on each
//! rank by (subdomain, neighbour, row) after the lower ranks'; the higher subdomain's rank learns
//! the block's first number in one all-to-all and keeps ghost copies, so `B λ` reads through a
//! forward exchange and `Σ_s B_s u_s` sums through a reverse-add on one halo.

use crate::comm::{Comm, Halo, Layout, SparseRow};
use crate::dd::{Decomposition, Neighbour};
use crate::error::Result;
use std::collections::BTreeMap;

/// One entry of a subdomain's `B_s`: the position of a row in the subdomain's rows, the local
/// index of the multiplier in the multiplier layout, and the sign (+1 on the lower subdomain).
pub type JumpEntry = (u32, u32, f64);

/// The multipliers of a non-overlapping decomposition and every subdomain's `B_s`.
pub struct Interface {
    /// The multipliers: owned (pairs whose lower subdomain is here) and ghosts.
    pub layout: Layout,
    halo: Halo,
    /// `B_s` of each of this rank's subdomains, in their order.
    pub jumps: Vec<Vec<JumpEntry>>,
    /// The other subdomain's global id of each jump entry (parallel to `jumps`).
    pub partners: Vec<Vec<u64>>,
}

impl Interface {
    /// Collective: numbers the multipliers of every pair of neighbouring subdomains and builds
    /// the jump operators. With `keep`, only the rows (positions in each subdomain's rows) it
    /// marks get multipliers (FETI-DP leaves out its primal vertices); it must mark a row the
    /// same way in every subdomain that holds it.
    pub fn new(comm: &Comm, d: &Decomposition, keep: Option<&[Vec<bool>]>) -> Result<Interface> {
        let shared = kept_shared(d, keep);
        // Owned blocks: (subdomain index here, neighbour index in its list), in order.
        // First local number of each owned block, keyed (lower id, higher id).
        let mut n_owned = 0u64;
        let mut owned_first: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        for (s, shared) in d.subdomains.iter().zip(&shared) {
            for (n, rows) in s.neighbours.iter().zip(shared).filter(|(n, _)| n.id > s.id) {
                owned_first.insert((s.id, n.id), n_owned);
                n_owned += rows.len() as u64;
            }
        }
        let offset = comm.exclusive_scan_u64(n_owned);
        let n_global = comm.sum_u64(n_owned);
        // Tell each higher subdomain's rank where its blocks start: (higher id, lower id, first).
        let mut outgoing: Vec<Vec<u64>> = vec![Vec::new(); comm.size() as usize];
        for s in &d.subdomains {
            for n in s.neighbours.iter().filter(|n| n.id > s.id) {
                outgoing[n.rank as usize].extend([n.id, s.id, offset + owned_first[&(s.id, n.id)]]);
            }
        }
        let counts: Vec<i32> = outgoing.iter().map(|v| v.len() as i32).collect();
        let send: Vec<u64> = outgoing.concat();
        let (recv, _) = comm.all_to_all_v(&send, &counts);
        let ghost_first: BTreeMap<(u64, u64), u64> = recv.chunks_exact(3).map(|t| ((t[0], t[1]), t[2])).collect();
        // Ghost multipliers: every block of a pair whose lower subdomain is on another rank.
        let mut ghosts: Vec<(u64, i32)> = Vec::new();
        for (s, shared) in d.subdomains.iter().zip(&shared) {
            let remote = |(n, _): &(&Neighbour, &Vec<u32>)| n.id < s.id && n.rank != comm.rank();
            for (n, rows) in s.neighbours.iter().zip(shared).filter(remote) {
                let first = ghost_first[&(s.id, n.id)];
                ghosts.extend((0..rows.len() as u64).map(|q| (first + q, n.rank)));
            }
        }
        ghosts.sort_unstable();
        let layout = Layout {
            offset,
            n_owned: n_owned as usize,
            n_global,
            ghosts: ghosts.iter().map(|g| g.0).collect(),
            ghost_owners: ghosts.iter().map(|g| g.1).collect(),
        };
        let local = |g: u64| -> u32 {
            if g >= layout.offset && g < layout.offset + n_owned {
                (g - layout.offset) as u32
            } else {
                (layout.n_owned + layout.ghosts.partition_point(|&x| x < g)) as u32
            }
        };
        let jumps = d
            .subdomains
            .iter()
            .zip(&shared)
            .map(|(s, shared)| {
                let mut b = Vec::new();
                for (n, rows) in s.neighbours.iter().zip(shared) {
                    let (first, sign) = if n.id > s.id {
                        (offset + owned_first[&(s.id, n.id)], 1.0)
                    } else {
                        (ghost_first[&(s.id, n.id)], -1.0)
                    };
                    b.extend(
                        rows.iter()
                            .enumerate()
                            .map(|(q, &p)| (p, local(first + q as u64), sign)),
                    );
                }
                b
            })
            .collect();
        let partners = d
            .subdomains
            .iter()
            .zip(&shared)
            .map(|(s, shared)| {
                s.neighbours
                    .iter()
                    .zip(shared)
                    .flat_map(|(n, rows)| std::iter::repeat_n(n.id, rows.len()))
                    .collect()
            })
            .collect();
        let halo = Halo::new(comm, &layout)?;
        Ok(Interface {
            layout,
            halo,
            jumps,
            partners,
        })
    }

    /// Collective: copies the owners' multiplier values to the ghost slots of `lambda` (local
    /// array over [`Interface::layout`]).
    pub fn forward(&mut self, comm: &Comm, lambda: &mut [f64]) {
        self.halo.forward(comm, lambda);
    }

    /// Collective: adds the ghost slots of `y` to their owners (the owned part is then
    /// `Σ_s B_s u_s`).
    pub fn reverse_add(&mut self, comm: &Comm, y: &mut [f64]) {
        self.halo.reverse_add(comm, y);
    }

    /// Collective: appends the ghost slots' rows to their owners' (set-up of `G`).
    pub fn reverse_append_rows(&self, comm: &Comm, rows: &mut [SparseRow]) {
        self.halo.reverse_append_rows(comm, rows);
    }
}

/// The shared rows that get multipliers, per subdomain and neighbour: all, or those `keep` marks.
fn kept_shared(d: &Decomposition, keep: Option<&[Vec<bool>]>) -> Vec<Vec<Vec<u32>>> {
    d.subdomains
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let kept = |p: &&u32| keep.is_none_or(|keep| keep[k][**p as usize]);
            s.neighbours
                .iter()
                .map(|n| n.shared.iter().filter(kept).copied().collect())
                .collect()
        })
        .collect()
}

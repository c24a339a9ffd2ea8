//! Colouring of the overlapping Schwarz subdomains of all ranks, for the multiplicative variants.
//! Two subdomains are adjacent when they share a row or a matrix entry couples them (a row of one
//! has a nonzero in a column of the other), so the corrections of one colour's subdomains neither
//! overlap nor see each other through `A`: applying them at once, each rank its own, gives exactly
//! the sequential multiplicative method. The graph is assembled at the row owners (one
//! all-to-all), gathered whole on every rank (one node per subdomain, so it is small) and coloured
//! greedily in the same deterministic order everywhere.

use crate::comm::Comm;
use crate::dd::overlap::KnownRows;
use crate::dd::Subdomain;
use crate::linalg::{owner_of, DistMatrix};
use std::collections::BTreeSet;

/// The subdomain colours as one rank needs them.
pub(crate) struct Colouring {
    /// Number of colours over all ranks.
    pub n_colours: usize,
    /// Colour of each of this rank's subdomains.
    pub local: Vec<u32>,
    /// Per colour: this rank's owned rows (local indices, ascending) lying in a subdomain of that
    /// colour on any rank — the rows whose residual that colour's local solves read.
    pub owned_rows: Vec<Vec<u32>>,
}

/// Collective: colours the subdomains of every rank, known by their global ids; `known` holds
/// every row of this rank's `subdomains` (rows with their overlap).
pub(crate) fn colour_subdomains(comm: &Comm, a: &DistMatrix, subdomains: &[Subdomain], known: &KnownRows) -> Colouring {
    let n_sub = comm.sum_u64(subdomains.len() as u64) as usize;
    // Tell each row's owner which subdomains hold it and which reach it through a matrix entry of
    // one of their rows: pairs (row, 2·subdomain + 1 if it holds the row).
    let mut pairs: Vec<(usize, u64, u64)> = Vec::new();
    for s in subdomains {
        let (id, set) = (s.id, &s.rows);
        let reach: BTreeSet<u64> = set
            .iter()
            .flat_map(|&g| known.row(g).0)
            .copied()
            .filter(|c| set.binary_search(c).is_err())
            .collect();
        let tagged = set
            .iter()
            .map(|&g| (g, 2 * id + 1))
            .chain(reach.iter().map(|&g| (g, 2 * id)));
        pairs.extend(tagged.map(|(g, t)| (owner_of(a.row_offsets(), g).unwrap_or(0), g, t)));
    }
    pairs.sort_unstable();
    let mut counts = vec![0i32; comm.size() as usize];
    for p in &pairs {
        counts[p.0] += 2;
    }
    let send: Vec<u64> = pairs.iter().flat_map(|p| [p.1, p.2]).collect();
    let (recv, _) = comm.all_to_all_v(&send, &counts);
    // Sorted by row, each owned row's pairs form one run: an edge joins every subdomain holding
    // the row to every other subdomain touching it (holding or reaching it).
    let mut got: Vec<(u64, u64)> = recv.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    got.sort_unstable();
    let holds = |p: &&(u64, u64)| p.1 & 1 == 1;
    let mut edges = BTreeSet::new();
    for run in got.chunk_by(|x, y| x.0 == y.0) {
        for x in run.iter().filter(holds).map(|p| p.1 / 2) {
            let others = run.iter().map(|p| p.1 / 2).filter(|&y| y != x);
            edges.extend(others.map(|y| (x.min(y), x.max(y))));
        }
    }
    let flat: Vec<u64> = edges.iter().flat_map(|&(x, y)| [x, y]).collect();
    let all: Vec<(u64, u64)> = comm.all_gather_v(&flat).chunks_exact(2).map(|e| (e[0], e[1])).collect();
    let colour = greedy_colouring(n_sub, &all);
    let n_colours = colour.iter().max().map_or(0, |&c| c as usize + 1);
    let mut owned_rows: Vec<Vec<u32>> = vec![Vec::new(); n_colours];
    for run in got.chunk_by(|x, y| x.0 == y.0) {
        let i = (run[0].0 - a.layout().offset) as u32;
        for c in run.iter().filter(holds).map(|p| colour[(p.1 / 2) as usize] as usize) {
            if owned_rows[c].last() != Some(&i) {
                owned_rows[c].push(i); // rows come in ascending order
            }
        }
    }
    Colouring {
        n_colours,
        local: subdomains.iter().map(|s| colour[s.id as usize]).collect(),
        owned_rows,
    }
}

/// Greedy colouring of the graph on nodes `0..n` with undirected `edges` (any order, repeats and
/// self loops ignored): nodes by decreasing degree, ties by id, each taking the smallest colour
/// none of its coloured neighbours has. It depends on the graph only, so every rank computes the
/// same colours.
pub(crate) fn greedy_colouring(n: usize, edges: &[(u64, u64)]) -> Vec<u32> {
    let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for &(x, y) in edges {
        if x != y {
            adj[x as usize].insert(y as usize);
            adj[y as usize].insert(x as usize);
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&v| (std::cmp::Reverse(adj[v].len()), v));
    let mut colour = vec![u32::MAX; n];
    for v in order {
        let used: BTreeSet<u32> = adj[v].iter().map(|&w| colour[w]).collect();
        colour[v] = (0..).find(|c| !used.contains(c)).unwrap_or(0);
    }
    colour
}

#[cfg(test)]
mod tests {
    use super::greedy_colouring;

    fn check(n: usize, edges: &[(u64, u64)]) -> Vec<u32> {
        let c = greedy_colouring(n, edges);
        for &(x, y) in edges {
            if x != y {
                assert_ne!(
                    c[x as usize], c[y as usize],
                    "adjacent {x} and {y} share a colour: {c:?}"
                );
            }
        }
        c
    }

    #[test]
    fn adjacent_subdomains_get_different_colours() {
        // A chain of strips takes two colours, alternating.
        let c = check(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        assert_eq!(c, vec![1, 0, 1, 0, 1]);
        // A 4×4 grid of boxes touching across edges and corners (king's graph) needs four.
        let id = |i: u64, j: u64| i + 4 * j;
        let mut e = Vec::new();
        for j in 0..4 {
            for i in 0..4 {
                for (di, dj) in [(1, 0), (0, 1), (1, 1)] {
                    if i + di < 4 && j + dj < 4 {
                        e.push((id(i, j), id(i + di, j + dj)));
                    }
                }
                if i > 0 && j < 3 {
                    e.push((id(i, j), id(i - 1, j + 1)));
                }
            }
        }
        let c = check(16, &e);
        assert_eq!(c.iter().max(), Some(&3));
        // A complete graph needs one colour per node; isolated nodes, repeats and loops are fine.
        let k4: Vec<(u64, u64)> = (0..4).flat_map(|x| (0..4).map(move |y| (x, y))).collect();
        let c = check(6, &k4);
        assert_eq!(c, vec![0, 1, 2, 3, 0, 0]);
    }

    #[test]
    fn colouring_ignores_the_order_of_edges() {
        let e = [(0, 3), (2, 3), (1, 2), (0, 1), (3, 4), (2, 4)];
        let mut r: Vec<(u64, u64)> = e.iter().rev().map(|&(x, y)| (y, x)).collect();
        r.extend_from_slice(&e);
        assert_eq!(greedy_colouring(5, &e), greedy_colouring(5, &r));
    }
}

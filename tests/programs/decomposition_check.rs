//! The shared decomposition's connectivity under `mpirun`, run by `tests/decomposition.rs` with
//! the element degree (`1` or `2`): the Poisson problem of `neumann_check` (METIS over the
//! ranks, two subdomains per rank, overlap equal to the degree). Every rank gathers all
//! subdomains' rows and recomputes by brute force which subdomains hold each row; each
//! subdomain's ids, multiplicities, neighbours (ids, ranks) and shared rows must equal what the
//! decomposition found through its halo. Prints `decomposition_check: OK subdomains S pairs P
//! remote R` (P neighbour pairs, R of them across ranks) or `decomposition_check: FAIL reason`
//! (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::Comm;
use ddkit::dd::{Decomposition, Neighbour};
use kappa_jump::kappa_jump;
use std::collections::BTreeMap;

/// Checks this rank's subdomains against the holders of every row gathered from all ranks;
/// returns (neighbour pairs seen from this rank, those across ranks).
fn check(comm: &Comm, d: &Decomposition) -> Result<(usize, usize), String> {
    // (rank, id, row) of every row of every subdomain of every rank.
    let mine: Vec<u64> = d
        .subdomains
        .iter()
        .flat_map(|s| s.rows.iter().flat_map(move |&g| [comm.rank() as u64, s.id, g]))
        .collect();
    let all = comm.all_gather_v(&mine);
    let mut holders: BTreeMap<u64, Vec<(u64, i32)>> = BTreeMap::new();
    for t in all.chunks_exact(3) {
        holders.entry(t[2]).or_default().push((t[1], t[0] as i32));
    }
    let (mut pairs, mut remote) = (0, 0);
    for (k, s) in d.subdomains.iter().enumerate() {
        if s.id != d.first_id() + k as u64 {
            return Err(format!("subdomain {k} has id {}, first {}", s.id, d.first_id()));
        }
        let mut expected: BTreeMap<u64, Neighbour> = BTreeMap::new();
        for (p, g) in s.rows.iter().enumerate() {
            let h = &holders[g];
            if s.multiplicity[p] != h.len() as f64 {
                return Err(format!(
                    "row {g}: multiplicity {} for {} holders",
                    s.multiplicity[p],
                    h.len()
                ));
            }
            for &(id, rank) in h.iter().filter(|x| x.0 != s.id) {
                let n = expected.entry(id).or_insert(Neighbour {
                    id,
                    rank,
                    shared: Vec::new(),
                });
                n.shared.push(p as u32);
            }
        }
        let expected: Vec<Neighbour> = expected.into_values().collect();
        if s.neighbours != expected {
            return Err(format!(
                "subdomain {}: neighbours {:?}, brute force {:?}",
                s.id,
                summary(&s.neighbours),
                summary(&expected)
            ));
        }
        pairs += expected.len();
        remote += expected.iter().filter(|n| n.rank != comm.rank()).count();
    }
    Ok((pairs, remote))
}

/// (id, rank, number of shared rows) of each neighbour, for messages.
fn summary(n: &[Neighbour]) -> Vec<(u64, i32, usize)> {
    n.iter().map(|x| (x.id, x.rank, x.shared.len())).collect()
}

fn main() {
    let comm = Comm::init().expect("MPI");
    let degree: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let result = kappa_jump(&comm, degree).and_then(|asm| {
        let d = asm.decomposition();
        check(&comm, d).map(|(p, r)| [d.subdomains.len() as u64, p as u64, r as u64])
    });
    // Every rank learns whether any failed, so all exit together.
    if comm.sum_u64(u64::from(result.is_err())) > 0 {
        if let Err(e) = result {
            println!("decomposition_check: FAIL rank {}: {e}", comm.rank());
        }
        std::process::exit(1);
    }
    let [subdomains, pairs, remote] = result.unwrap_or_default().map(|x| comm.sum_u64(x));
    if comm.is_root() {
        println!("decomposition_check: OK subdomains {subdomains} pairs {pairs} remote {remote}");
    }
}

//! The shared decomposition's connectivity under mpirun: global subdomain ids, multiplicities,
//! neighbours (id, rank) and shared rows equal a brute-force recount over all ranks' rows, for
//! P1 (overlap 1) and P2 (overlap 2) on 1–4 ranks (`tests/programs/decomposition_check.rs`).
mod common;

#[test]
fn neighbours_and_shared_rows_match_a_brute_force_count_on_1_to_4_ranks() {
    for degree in ["1", "2"] {
        for np in 1..=4 {
            let line = common::check_ok(np, "decomposition_check", &[degree]);
            let n = |key| common::number(&line, key);
            assert_eq!(n("subdomains"), 2.0 * np as f64, "P{degree} np={np}");
            // Overlapping subdomains of a connected mesh: every subdomain has a neighbour, and
            // with several ranks some neighbours live on another rank.
            assert!(n("pairs") >= 2.0 * np as f64, "P{degree} np={np}: {line}");
            assert_eq!(n("remote") > 0.0, np > 1, "P{degree} np={np}: {line}");
        }
    }
}

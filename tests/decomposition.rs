//! The shared decomposition's connectivity under mpirun: global subdomain ids, multiplicities,
//! neighbours (id, rank) and shared rows equal a brute-force recount over all ranks' rows, for
//! P1 (overlap 1) and P2 (overlap 2) on 1–4 ranks (`tests/programs/decomposition_check.rs`).
mod common;
use std::time::Duration;

#[test]
fn neighbours_and_shared_rows_match_a_brute_force_count_on_1_to_4_ranks() {
    for degree in ["1", "2"] {
        for np in 1..=4 {
            let out = common::mpirun(
                np,
                &common::example("decomposition_check"),
                &[degree],
                Duration::from_secs(120),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("decomposition_check: OK"),
                "P{degree} np={np}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let number = |key: &str| -> u64 {
                text.split(key)
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                    .expect("number printed")
            };
            assert_eq!(number("subdomains "), 2 * np as u64, "P{degree} np={np}");
            // Overlapping subdomains of a connected mesh: every subdomain has a neighbour, and
            // with several ranks some neighbours live on another rank.
            assert!(number("pairs ") >= 2 * np as u64, "P{degree} np={np}: {text}");
            assert_eq!(number("remote ") > 0, np > 1, "P{degree} np={np}: {text}");
        }
    }
}

//! Neumann matrices attached to Schwarz subdomains (P1 and P2, κ jumping across the domain) are
//! consistent with the assembled matrix on 1–4 ranks: see `tests/programs/neumann_check.rs`.
mod common;
use std::time::Duration;

#[test]
fn subdomain_neumann_matrices_match_the_assembled_rows() {
    for degree in ["1", "2"] {
        for np in 1..=4 {
            let out = common::mpirun(
                np,
                &common::example("neumann_check"),
                &[degree],
                Duration::from_secs(120),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("neumann_check: OK"),
                "P{degree} np={np}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let number = |key: &str| -> u64 {
                text.split(key)
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                    .expect("count printed")
            };
            // Every point is the core row of exactly one subdomain: 25×21 (P1), 49×41 (P2).
            let points = if degree == "1" { 525 } else { 2009 };
            assert_eq!(number("rows "), points, "P{degree} np={np}");
            // On the overlap the matrices are unassembled: rows there differ from A_i.
            assert!(number("differing ") > 0, "P{degree} np={np}: {text}");
        }
    }
}

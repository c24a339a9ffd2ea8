//! GenEO local bases on Schwarz subdomains with attached Neumann matrices (P1 and P2, κ jumping
//! across the domain) on 1–4 ranks: residuals at most 1e-8, dense and sparse eigensolvers
//! agreeing, λ = 0 exactly on floating subdomains; see `tests/programs/geneo_check.rs`.
mod common;
use std::time::Duration;

#[test]
fn geneo_bases_on_every_subdomain() {
    for (degree, ranks) in [("1", 1..=4), ("2", 1..=2)] {
        for np in ranks {
            let out = common::mpirun(np, &common::example("geneo_check"), &[degree], Duration::from_secs(180));
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("geneo_check: OK"),
                "P{degree} np={np}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let number = |key: &str| -> f64 {
                text.split("geneo_check: OK")
                    .nth(1)
                    .and_then(|s| s.split(key).nth(1))
                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                    .expect("number printed")
            };
            assert_eq!(number("subdomains ") as usize, 2 * np, "P{degree} np={np}");
            assert!(number("maxres ") <= 1e-8, "P{degree} np={np}: {text}");
            // Some subdomain always has an eigenvalue below τ = 0.1 on this problem.
            assert!(number("kept ") >= 1.0, "P{degree} np={np}: {text}");
        }
    }
}

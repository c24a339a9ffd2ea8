//! GDSW coarse functions on Schwarz subdomains (P1 and P2, κ jumping across the domain) on 1–4
//! ranks: indicators of their interface components, discrete harmonic inside every core, summing
//! to 1 on the interface, with the cores of overlap rows taken from other ranks; see
//! `tests/programs/gdsw_check.rs`.
mod common;
use std::time::Duration;

#[test]
fn gdsw_functions_on_every_subdomain() {
    for degree in ["1", "2"] {
        for np in 1..=4 {
            let out = common::mpirun(np, &common::example("gdsw_check"), &[degree], Duration::from_secs(120));
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("gdsw_check: OK"),
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
            // At least one face between any two of the 2·np subdomains' cores.
            assert!(number("coarse ") >= 2 * np as u64 - 1, "P{degree} np={np}: {text}");
        }
    }
}

//! Distributed matrices under mpirun: rectangular products `B x` and `Bᵀ y` against a serial
//! reference (`tests/programs/matrix_check.rs`).
mod common;
use std::time::Duration;

#[test]
fn rectangular_products_match_a_serial_reference_on_1_to_4_ranks() {
    for np in 1..=4 {
        let out = common::mpirun(np, &common::example("matrix_check"), &[], Duration::from_secs(60));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("matrix_check: OK"),
            "np={np}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

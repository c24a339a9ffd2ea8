//! The exchange plan under mpirun: forward and reverse-add against a serial reference.
mod common;
use std::time::Duration;

#[test]
fn forward_and_reverse_add_match_serial_reference_on_1_to_4_ranks() {
    for np in 1..=4 {
        let out = common::mpirun(np, &common::example("halo_check"), &[], Duration::from_secs(120));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("halo_check: OK"),
            "np={np}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

//! Numeric updates under mpirun: a preconditioner built for one matrix and updated to another
//! of the same pattern solves exactly as one built from scratch, with no symbolic set-up
//! (`tests/programs/update_check.rs`).
mod common;
use std::time::Duration;

#[test]
fn an_updated_preconditioner_equals_a_fresh_one_on_1_to_3_ranks() {
    for np in 1..=3 {
        let out = common::mpirun(np, &common::example("update_check"), &[], Duration::from_secs(120));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("update_check: OK"),
            "np={np}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

//! The embedding example (a program assembling its own distributed matrix and building a
//! Schwarz-preconditioned CG through the library API) converges on 1–3 ranks.
mod common;
use std::time::Duration;

#[test]
fn embedding_example_converges_on_1_to_3_ranks() {
    for np in 1..=3 {
        let out = common::mpirun(
            np,
            &common::example("embed_schwarz"),
            &["60", "2"],
            Duration::from_secs(120),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Converged"),
            "np={np}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rel: f64 = text
            .rsplit("relative residual ")
            .next()
            .and_then(|s| s.trim().parse().ok())
            .expect("residual printed");
        assert!(rel <= 1e-8, "np={np}: relative residual {rel}");
    }
}

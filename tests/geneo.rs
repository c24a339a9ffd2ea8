//! GenEO local bases on Schwarz subdomains with attached Neumann matrices (P1 and P2, κ jumping
//! across the domain) on 1–4 ranks: residuals at most 1e-8, dense and sparse eigensolvers
//! agreeing, λ = 0 exactly on floating subdomains (see `tests/programs/geneo_check.rs`); and the
//! GenEO coarse space in `ddkit poisson`: the direct solution on 1–4 ranks, iterations
//! independent of a 1e6 contrast where Nicolaides' are not.
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

fn poisson_iterations(np: usize, args: &[&str], dir: &std::path::Path, tag: &str) -> serde_json::Value {
    common::poisson_report(np, &["--exact", "none", "--discretization", "p1"], args, dir, tag)
}

#[test]
fn geneo_coarse_space_matches_the_direct_solution_on_1_to_4_ranks() {
    let dir = common::scratch("geneo-direct");
    let direct = dir.join("direct");
    let args = ["--grid", "24x20", "--contrast", "1e4", "--rtol", "1e-12"];
    let mut one = args.to_vec();
    one.extend_from_slice(&["--solver", "cg-asm", "--out", direct.to_str().unwrap()]);
    // One subdomain on one rank: an exact Cholesky solve (a second step mops up rounding).
    assert!(
        poisson_iterations(1, &one, &dir, "direct")["stats"]["iterations"]
            .as_u64()
            .unwrap()
            <= 2
    );
    let reference = common::last_field_by_mesh_id(&direct.join("poisson.h5"), "u");
    for (np, per_rank, combination) in [
        (1, 3, "balanced"),
        (2, 2, "additive"),
        (3, 2, "balanced"),
        (4, 2, "balanced"),
    ] {
        let out = dir.join(format!("np{np}"));
        let mut a = args.to_vec();
        let k = per_rank.to_string();
        a.extend_from_slice(&[
            "--solver",
            "cg-geneo",
            "--subdomains-per-rank",
            &k,
            "--coarse-combination",
            combination,
        ]);
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let r = poisson_iterations(np, &a, &dir, &format!("np{np}"));
        assert_eq!(r["stats"]["reason"], "converged", "np={np}");
        assert!(
            r["preconditioner"].as_str().unwrap().contains("geneo"),
            "{}",
            r["preconditioner"]
        );
        let d = common::rel_diff(&common::last_field_by_mesh_id(&out.join("poisson.h5"), "u"), &reference);
        assert!(d <= 1e-8, "np={np}: {d:e} from the direct solution");
    }
}

#[test]
fn geneo_iterations_do_not_depend_on_the_contrast_while_nicolaides_do() {
    // 128² P1, 64 subdomains (32 per rank) of 16 × 16 cells, overlap 1, f ≡ 1, rtol 1e-8; the
    // channels and inclusions of --contrast cut across the subdomains.
    let dir = common::scratch("geneo-contrast");
    let its = |solver: &str, contrast: &str| -> f64 {
        let args = [
            "--grid",
            "128x128",
            "--subdomains-per-rank",
            "32",
            "--solver",
            solver,
            "--contrast",
            contrast,
        ];
        let r = poisson_iterations(2, &args, &dir, &format!("{solver}-{contrast}"));
        assert_eq!(r["stats"]["reason"], "converged");
        r["stats"]["iterations"].as_f64().unwrap()
    };
    let (g1, g6) = (its("cg-geneo", "1"), its("cg-geneo", "1e6"));
    let (n1, n6) = (its("cg-nicolaides", "1"), its("cg-nicolaides", "1e6"));
    println!("GenEO {g1} → {g6}, Nicolaides {n1} → {n6} (contrast 1 → 1e6)");
    assert!(g6 <= 1.5 * g1, "GenEO: {g1} homogeneous, {g6} at contrast 1e6");
    assert!(n6 > 1.5 * n1, "Nicolaides: {n1} homogeneous, {n6} at contrast 1e6");
}

#[test]
fn geneo_needs_finite_elements() {
    common::fails_with(
        2,
        &["poisson", "--grid", "16x16", "--solver", "cg-geneo"],
        "coarse = geneo needs the unassembled subdomain matrices",
    );
    common::fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "16x16",
            "--discretization",
            "p1",
            "--solver",
            "cg-geneo",
            "--geneo-threshold",
            "0",
        ],
        "geneo-threshold must be positive",
    );
}

//! One-level Schwarz under mpirun: every Krylov method and Schwarz variant reaches the direct
//! solution on 1–4 ranks with several subdomains per rank, one-level iteration counts grow with
//! the number of subdomains, and bad configurations are refused.
mod common;
use common::fails_with;
use common::{last_field_by_mesh_id, rel_diff, scratch};

fn poisson(np: usize, args: &[&str], dir: &std::path::Path, tag: &str) -> serde_json::Value {
    let report = dir.join(format!("{tag}.json"));
    let mut all = vec!["poisson", "--exact", "none", "--report", report.to_str().unwrap()];
    all.extend_from_slice(args);
    common::ddkit_ok(np, &all);
    serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json")
}

#[test]
fn all_methods_and_variants_match_the_direct_solution() {
    let dir = scratch("schwarz-direct");
    // Direct: one subdomain on one rank with an exact Cholesky factorization (1 iteration).
    let out = dir.join("direct");
    let r = poisson(
        1,
        &[
            "--grid",
            "30x26",
            "--solver",
            "cg-asm",
            "--rtol",
            "1e-12",
            "--out",
            out.to_str().unwrap(),
        ],
        &dir,
        "direct",
    );
    assert_eq!(r["stats"]["iterations"], 1);
    let direct = last_field_by_mesh_id(&out.join("poisson.h5"), "u");
    let cases: &[&[&str]] = &[
        &["--solver", "cg-asm", "--subdomains-per-rank", "3"],
        &[
            "--solver",
            "cg-asm",
            "--subdomains-per-rank",
            "2",
            "--overlap",
            "2",
            "--local-solver",
            "lu",
        ],
        &["--solver", "gmres-ras", "--subdomains-per-rank", "2"],
        &[
            "--solver",
            "gmres-ras",
            "--krylov",
            "fgmres",
            "--subdomains-per-rank",
            "2",
            "--local-solver",
            "ilu0",
        ],
        &[
            "--solver",
            "gmres-ras",
            "--krylov",
            "bicgstab",
            "--subdomains-per-rank",
            "2",
            "--overlap",
            "0",
        ],
        &["--solver", "cg-ic0", "--subdomains-per-rank", "2"],
    ];
    for np in 1..=4 {
        for (k, case) in cases.iter().enumerate() {
            let out = dir.join(format!("{np}-{k}"));
            let mut args = vec!["--grid", "30x26", "--rtol", "1e-10", "--out", out.to_str().unwrap()];
            args.extend_from_slice(case);
            let r = poisson(np, &args, &dir, &format!("{np}-{k}"));
            assert_eq!(r["stats"]["reason"], "converged", "{case:?} on {np} ranks");
            let u = last_field_by_mesh_id(&out.join("poisson.h5"), "u");
            let d = rel_diff(&direct, &u);
            assert!(
                d < 1e-7,
                "{case:?} on {np} ranks: differs from the direct solution by {d:e}"
            );
        }
    }
}

#[test]
fn one_level_iterations_grow_with_the_number_of_subdomains() {
    let dir = scratch("schwarz-growth");
    let its: Vec<u64> = [4, 16, 64]
        .iter()
        .map(|k| {
            let spr = (k / 2).to_string();
            let r = poisson(
                2,
                &["--grid", "96x96", "--solver", "cg-asm", "--subdomains-per-rank", &spr],
                &dir,
                &format!("n{k}"),
            );
            r["stats"]["iterations"].as_u64().unwrap()
        })
        .collect();
    assert!(
        its[0] < its[1] && its[1] < its[2],
        "iterations {its:?} for 4, 16, 64 subdomains"
    );
    assert!(
        its[2] as f64 >= 1.8 * its[0] as f64,
        "iterations {its:?}: one level should grow markedly"
    );
}

#[test]
fn bad_schwarz_configurations_are_refused() {
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--solver", "cg-asm", "--overlap", "-1"],
        "overlap must be 0 or more",
    );
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--solver", "cg-asm", "--pc", "ras"],
        "CG needs a symmetric preconditioner",
    );
    fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "8x8",
            "--solver",
            "cg-asm",
            "--subdomains-per-rank",
            "0",
        ],
        "at least 1",
    );
    fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "4x4",
            "--solver",
            "cg-asm",
            "--subdomains-per-rank",
            "9",
        ],
        "owns only 8 rows",
    );
    fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "8x8",
            "--solver",
            "cg-asm",
            "--local-solver",
            "superlu",
        ],
        "--local-solver 'superlu'",
    );
}

#[test]
fn additive_schwarz_does_not_depend_on_where_subdomains_live() {
    // Four horizontal strips of a 64x48 grid: 4 contiguous subdomains on 1 rank, 2 per rank on
    // 2 ranks (y-split), one per rank on 4 ranks — the same subdomains in all three runs.
    let dir = scratch("schwarz-placement");
    let mut first: Option<(u64, Vec<f64>)> = None;
    for (np, pg, spr) in [(1, "1x1", "4"), (2, "1x2", "2"), (4, "1x4", "1")] {
        let out = dir.join(format!("np{np}"));
        let args = [
            "--grid",
            "64x48",
            "--solver",
            "cg-asm",
            "--subdomain-split",
            "contiguous",
            "--proc-grid",
            pg,
            "--subdomains-per-rank",
            spr,
            "--out",
            out.to_str().unwrap(),
        ];
        let r = poisson(np, &args, &dir, &format!("np{np}"));
        let it = r["stats"]["iterations"].as_u64().unwrap();
        let u = last_field_by_mesh_id(&out.join("poisson.h5"), "u");
        match &first {
            None => first = Some((it, u)),
            Some((it0, u0)) => {
                assert!(it.abs_diff(*it0) <= 1, "{it} iterations on {np} ranks vs {it0} on 1");
                let d = rel_diff(u0, &u);
                assert!(d < 1e-10, "solution on {np} ranks differs by {d:e}");
            }
        }
    }
}

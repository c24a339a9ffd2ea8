//! One-level Schwarz under mpirun: every Krylov method and Schwarz variant (additive, restricted,
//! multiplicative and symmetric multiplicative) reaches the direct solution on 1–4 ranks with
//! several subdomains per rank, one-level iteration counts grow with the number of subdomains,
//! the multiplicative variants need markedly fewer iterations than the additive ones, results do
//! not depend on which rank holds a subdomain, and bad configurations are refused.
mod common;
use common::fails_with;
use common::{last_field_by_mesh_id, rel_diff, scratch};

fn poisson(np: usize, args: &[&str], dir: &std::path::Path, tag: &str) -> serde_json::Value {
    common::poisson_report(np, &["--exact", "none"], args, dir, tag)
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
        &["--solver", "cg-ssm", "--subdomains-per-rank", "2"],
        &["--solver", "cg-ssm", "--subdomains-per-rank", "3", "--overlap", "2"],
        &["--solver", "gmres-msm", "--subdomains-per-rank", "2"],
        &[
            "--solver",
            "gmres-msm",
            "--krylov",
            "bicgstab",
            "--subdomains-per-rank",
            "3",
            "--overlap",
            "0",
        ],
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
    common::meshio_reads_every_xdmf(&dir);
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
            "--krylov",
            "cg",
            "--pc",
            "multiplicative",
        ],
        "CG needs a symmetric preconditioner, but preconditioner 'multiplicative(",
    );
    fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "8x8",
            "--solver",
            "cg-ssm",
            "--local-solver",
            "ilu0",
        ],
        "preconditioner 'symmetric-multiplicative(",
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
    common::meshio_reads_every_xdmf(&dir);
}

/// Iterations and colour count (0 for the additive variants) of one run.
fn iterations_and_colours(r: &serde_json::Value) -> (u64, u64) {
    let name = r["preconditioner"].as_str().expect("preconditioner name");
    let colours = name
        .split(", ")
        .find_map(|p| p.strip_suffix(" colours)"))
        .map_or(0, |c| c.parse().expect("colour count"));
    (r["stats"]["iterations"].as_u64().expect("iterations"), colours)
}

#[test]
fn multiplicative_schwarz_needs_markedly_fewer_iterations_than_additive() {
    // Same subdomains and overlap for all four; measured on 64x64 with 4 subdomains per rank:
    // 2 ranks: ASM 38, symmetric multiplicative 16, RAS 33, multiplicative 17 (4 colours);
    // 3 ranks: ASM 43, symmetric multiplicative 17, RAS 35, multiplicative 18 (4 colours).
    let dir = scratch("schwarz-multiplicative");
    for np in [2, 3] {
        let its: Vec<(u64, u64)> = ["cg-asm", "cg-ssm", "gmres-ras", "gmres-msm"]
            .iter()
            .map(|s| {
                let args = ["--grid", "64x64", "--solver", s, "--subdomains-per-rank", "4"];
                iterations_and_colours(&poisson(np, &args, &dir, &format!("{s}-{np}")))
            })
            .collect();
        let [(asm, _), (ssm, c_ssm), (ras, _), (msm, c_msm)] = its[..] else {
            unreachable!()
        };
        assert!(
            2 * ssm <= asm,
            "{np} ranks: symmetric multiplicative {ssm} vs ASM {asm} iterations under CG"
        );
        assert!(
            3 * msm <= 2 * ras,
            "{np} ranks: multiplicative {msm} vs RAS {ras} iterations under GMRES"
        );
        // 8 or 12 subdomains of a square: a colouring needs at least 2 colours, and greedy
        // colouring of these planar-like graphs should need few.
        assert_eq!(c_ssm, c_msm, "{np} ranks: same subdomains, same colouring");
        assert!((2..=6).contains(&c_ssm), "{np} ranks: {c_ssm} colours");
    }
}

#[test]
fn symmetric_multiplicative_schwarz_does_not_depend_on_where_subdomains_live() {
    // Eight horizontal strips of a 64x48 grid: 8 contiguous subdomains on 1 rank, 4 per rank on
    // 2 ranks, 2 per rank on 4 ranks — the same subdomains, graph and colours in all three runs.
    let dir = scratch("schwarz-ssm-placement");
    let mut first: Option<(u64, u64, Vec<f64>)> = None;
    for (np, pg, spr) in [(1, "1x1", "8"), (2, "1x2", "4"), (4, "1x4", "2")] {
        let out = dir.join(format!("np{np}"));
        let args = [
            "--grid",
            "64x48",
            "--solver",
            "cg-ssm",
            "--subdomain-split",
            "contiguous",
            "--proc-grid",
            pg,
            "--subdomains-per-rank",
            spr,
            "--out",
            out.to_str().unwrap(),
        ];
        let (it, colours) = iterations_and_colours(&poisson(np, &args, &dir, &format!("np{np}")));
        let u = last_field_by_mesh_id(&out.join("poisson.h5"), "u");
        // A chain of strips takes two colours.
        assert_eq!(colours, 2, "{np} ranks");
        match &first {
            None => first = Some((it, colours, u)),
            Some((it0, _, u0)) => {
                assert!(it.abs_diff(*it0) <= 1, "{it} iterations on {np} ranks vs {it0} on 1");
                let d = rel_diff(u0, &u);
                assert!(d < 1e-10, "solution on {np} ranks differs by {d:e}");
            }
        }
    }
    common::meshio_reads_every_xdmf(&dir);
}

//! FETI-1 and FETI-DP at the library level under mpirun (`tests/programs/feti_check.rs`):
//! element subdomains of P1 / P2 meshes in 2D and 3D, several per rank, floating ones among them
//! found by their numerical kernels; the solution equals CG + two-level Schwarz at rtol 1e-12 to
//! 1e-7 on 1–4 ranks, and the Dirichlet preconditioner needs fewer dual iterations than the
//! lumped one, which needs fewer than none. FETI-DP's iterations stay bounded as the subdomains
//! multiply and grow like (1 + log H/h)² at most as h shrinks. Through `ddkit poisson`, both
//! give CG's solution on FD, P1 and P2.
mod common;

/// Runs `feti_check` and returns its numbers by key.
fn feti(np: usize, args: &[&str]) -> impl Fn(&str) -> f64 {
    let line = common::check_ok(np, "feti_check", args);
    move |key: &str| common::number(&line, key)
}

#[test]
fn feti1_matches_the_reference_on_1_to_4_ranks_with_floating_subdomains() {
    for np in 1..=4 {
        let n = feti(np, &["1", "2", "32", "8", "dirichlet"]);
        assert_eq!(n("subdomains"), 8.0 * np as f64);
        assert!(n("floating") >= 1.0, "np={np}: an interior subdomain floats");
        assert_eq!(n("coarse"), n("floating"), "one constant per floating subdomain");
    }
}

#[test]
fn feti1_on_p2_and_in_3d() {
    for args in [
        ["2", "2", "16", "6", "dirichlet"],
        ["1", "3", "8", "4", "dirichlet"],
        ["2", "3", "6", "4", "dirichlet"],
    ] {
        for np in [1, 3] {
            let n = feti(np, &args);
            assert!(n("diff") <= 1e-7 && n("primal") <= 1e-7, "np={np} {args:?}");
        }
    }
}

/// FETI-DP (vertices + averages) on the problems of FETI-1's tests: the same solution, and fewer
/// dual iterations than FETI-1 on several subdomains per rank; its coarse space is the primal set.
#[test]
fn feti_dp_matches_the_reference_in_2d_and_3d_on_1_to_4_ranks_in_fewer_iterations_than_feti1() {
    for np in 1..=4 {
        let one = feti(np, &["1", "2", "32", "8", "dirichlet"]);
        let dp = feti(np, &["1", "2", "32", "8", "dirichlet", "0", "stiffness", "feti-dp"]);
        assert!(
            dp("coarse") >= 8.0 * np as f64,
            "np={np}: at least one primal constraint per subdomain"
        );
        assert!(
            dp("iterations") < one("iterations"),
            "np={np}: FETI-DP {} against FETI-1 {}",
            dp("iterations"),
            one("iterations")
        );
    }
    for args in [["2", "2", "16", "6"], ["1", "3", "8", "4"], ["2", "3", "6", "4"]] {
        for np in [1, 3] {
            let dp = feti(np, &[&args[..], &["dirichlet", "0", "stiffness", "feti-dp"]].concat());
            assert!(dp("diff") <= 1e-7 && dp("primal") <= 1e-7, "np={np} {args:?}");
        }
    }
}

/// Floating is found, not assumed: a subdomain in the middle of the square floats (a kernel, one
/// coarse vector for FETI-1; without averages FETI-DP gives its glob an average because it has
/// no vertex), a subdomain held by a single Dirichlet point does not (no kernel; its K_s is
/// nonsingular, if badly conditioned).
#[test]
fn floating_subdomains_are_found_by_their_kernels_also_when_held_by_one_point() {
    for (degree, dim) in [("1", "2"), ("2", "2"), ("1", "3"), ("2", "3")] {
        let n = if dim == "2" { "12" } else { "6" };
        let ring = feti(1, &[degree, dim, n, "ring", "dirichlet"]);
        assert_eq!((ring("floating"), ring("coarse")), (1.0, 1.0), "P{degree} {dim}D ring");
        let dp = feti(
            1,
            &[
                degree,
                dim,
                n,
                "ring",
                "dirichlet",
                "0",
                "stiffness",
                "feti-dp",
                "vertices",
            ],
        );
        assert_eq!(
            (dp("floating"), dp("coarse")),
            (1.0, 1.0),
            "P{degree} {dim}D ring, FETI-DP"
        );
        let point = feti(1, &[degree, dim, n, "point", "dirichlet"]);
        assert_eq!(
            (point("floating"), point("coarse")),
            (0.0, 0.0),
            "P{degree} {dim}D point"
        );
    }
}

/// Quasi-optimality of FETI-DP (Mandel and Tezaur 2001: κ ≤ C (1 + log H/h)²) on P1, κ = 1, two
/// ranks, METIS element subdomains: at H/h = 8 the iterations and the condition estimate grow by
/// at most 1.3× from 16 to 256 subdomains; at 16 subdomains, refining h three times (H/h = 8 →
/// 64) multiplies both by at most ((1 + log 64) / (1 + log 8))² = 2.8.
#[test]
fn feti_dp_iterations_are_bounded_in_the_subdomains_and_grow_at_most_like_log_squared_in_h() {
    let run = |n: usize, per_rank: usize| {
        let (n, k) = (n.to_string(), per_rank.to_string());
        let r = feti(2, &["1", "2", &n, &k, "dirichlet", "1", "stiffness", "feti-dp"]);
        (r("iterations"), r("condition"))
    };
    let scaled: Vec<(f64, f64)> = [(32, 8), (64, 32), (128, 128)]
        .iter()
        .map(|&(n, k)| run(n, k))
        .collect();
    for &(its, kappa) in &scaled[1..] {
        assert!(its <= 1.3 * scaled[0].0, "iterations {scaled:?}");
        assert!(kappa <= 1.3 * scaled[0].1, "condition {scaled:?}");
    }
    let refined: Vec<(f64, f64)> = [32, 64, 128, 256].iter().map(|&n| run(n, 8)).collect();
    let bound = ((1.0 + 64f64.ln()) / (1.0 + 8f64.ln())).powi(2);
    let last = refined[3];
    assert!(
        last.0 <= bound * refined[0].0 && last.1 <= bound * refined[0].1,
        "{refined:?} bound {bound}"
    );
    assert!(last.0 > refined[0].0, "the count grows with H/h: {refined:?}");
}

#[test]
fn the_dirichlet_preconditioner_beats_the_lumped_one_which_beats_none() {
    let its: Vec<f64> = ["dirichlet", "lumped", "none"]
        .iter()
        .map(|p| feti(2, &["1", "2", "32", "8", p])("iterations"))
        .collect();
    assert!(its[0] < its[1] && its[1] < its[2], "iterations {its:?}");
}

/// Runs `cg-asm`, `feti1`, `feti-dp` and `bddc` through `run` (a `ddkit poisson` report per
/// preset) and checks that the substructuring runs have CG's L2 error to 1e-6 and a true
/// residual below 1e-8 (`what` names the case in messages); returns their reports.
fn feti_matches_cg(run: impl Fn(&str) -> serde_json::Value, what: &str) -> Vec<serde_json::Value> {
    let ec = run("cg-asm")["error"]["l2"].as_f64().unwrap();
    ["feti1", "feti-dp", "bddc"]
        .iter()
        .map(|preset| {
            let f = run(preset);
            let ef = f["error"]["l2"].as_f64().unwrap();
            assert!((ef - ec).abs() <= 1e-6 * ec, "{preset} {what}: {ef:e} vs {ec:e}");
            assert!(f["true_relative_residual"].as_f64().unwrap() < 1e-8, "{f}");
            f
        })
        .collect()
}

/// `ddkit poisson` with `--solver feti1`, `feti-dp`, `bddc` and `cg-asm` (rtol 1e-10 all): the same
/// discrete solution, so the same L2 error to 1e-6, and a true residual below 1e-8.
#[test]
fn ddkit_poisson_with_feti1_feti_dp_and_bddc_matches_cg_on_p1_and_p2_in_2d_and_3d_on_1_to_4_ranks() {
    let dir = common::scratch("feti-poisson");
    let cases: [(&str, &str, &[usize]); 3] = [
        ("p1", "32x32", &[1, 2, 3, 4]),
        ("p2", "12x12", &[1, 3]),
        ("p1", "8x8x8", &[2, 4]),
    ];
    for (disc, grid, ranks) in cases {
        for &np in ranks {
            let run = |solver: &str| {
                let fixed = ["--grid", grid, "--discretization", disc, "--rtol", "1e-10"];
                let out = dir.join(format!("{disc}-{np}-{solver}"));
                let args = ["--solver", solver, "--out", out.to_str().expect("UTF-8")];
                common::poisson_report(np, &fixed, &args, &dir, &format!("{disc}-{grid}-{np}-{solver}"))
            };
            for (name, f) in ["feti-1", "feti-dp"]
                .iter()
                .zip(feti_matches_cg(run, &format!("{disc} {grid} np={np}")))
            {
                assert!(f["preconditioner"].as_str().unwrap().starts_with(name), "{f}");
            }
        }
    }
    common::meshio_reads_every_xdmf(&dir);
}

/// Deluxe scaling (`--feti-scaling deluxe`, exact or economic): FETI-1, FETI-DP and BDDC still
/// give CG's solution (FD, P1 and P2, 2D and 3D, 1–3 ranks, the globs' Schur complements
/// exchanged across ranks)
/// and implicit heat's last field after a numeric update;
/// on the `--contrast 1e6` channels, which cross the interfaces so that ρ-scaling's one number
/// per row and subdomain cannot follow the coefficient along an edge, FETI-DP and BDDC need
/// fewer iterations with it than with ρ-scaling and their condition estimates are lower; with
/// one layer of interior per glob (economic deluxe) within 10 % of deluxe's count.
#[test]
fn deluxe_scaling_gives_cgs_solution_and_beats_stiffness_scaling_on_channels() {
    let dir = common::scratch("feti-deluxe");
    // The last number: interior layers of economic deluxe (0: the whole interior).
    let cases: [(&str, &str, usize, &str); 4] = [
        ("fd", "48x48", 2, "2"),
        ("p1", "32x32", 3, "0"),
        ("p2", "12x12", 1, "0"),
        ("p1", "8x8x8", 2, "1"),
    ];
    for (disc, grid, np, layers) in cases {
        let run = |solver: &str| {
            let fixed = ["--grid", grid, "--discretization", disc, "--rtol", "1e-10"];
            let args = [
                "--solver",
                solver,
                "--feti-scaling",
                "deluxe",
                "--feti-deluxe-layers",
                layers,
            ];
            let tag = format!("{disc}-{grid}-{np}-{solver}");
            common::poisson_report(np, &fixed, &args[..if solver == "cg-asm" { 2 } else { 6 }], &dir, &tag)
        };
        for f in feti_matches_cg(run, &format!("deluxe {disc} {grid} np={np}")) {
            assert_eq!(f["solver"]["feti"]["scaling"], "deluxe", "{f}");
            assert_eq!(f["solver"]["feti"]["deluxe-layers"].to_string(), layers, "{f}");
        }
    }
    // Implicit heat: a dt change recomputes the glob weights with the refactorized interiors.
    let run = |solver: &str| {
        let out = dir.join(format!("heat-{solver}"));
        let mut args = vec![
            "--grid",
            "32x32",
            "--discretization",
            "p1",
            "--scheme",
            "cn",
            "--rtol",
            "1e-12",
        ];
        args.extend([
            "--dt-schedule",
            "1e-3:3,2e-3:3",
            "--snapshot-every",
            "6",
            "--solver",
            solver,
        ]);
        args.extend(["--out", out.to_str().expect("UTF-8")]);
        if solver != "cg-asm" {
            args.extend(["--feti-scaling", "deluxe"]);
        }
        let r = common::heat_report(2, &args, &dir, &format!("heat-{solver}"));
        (r, common::last_field_by_mesh_id(&out.join("heat.h5"), "u"))
    };
    for (solver, r) in fields_match_cg(run, 1e-8, "deluxe heat") {
        assert_eq!(r["symbolic_setups_in_loop"], 0, "{solver}: {r}");
        assert_eq!(r["solver_timings"]["updates"].as_u64(), Some(1), "{solver}: {r}");
    }
    for solver in ["feti-dp", "bddc"] {
        let run = |scaling: &str, layers: &str| {
            let fixed = ["--grid", "128x128", "--discretization", "p1", "--exact", "none"];
            let fixed = [&fixed[..], &["--contrast", "1e6", "--subdomains-per-rank", "32"]].concat();
            let args = [
                "--solver",
                solver,
                "--feti-scaling",
                scaling,
                "--feti-deluxe-layers",
                layers,
            ];
            let tag = format!("channels-{solver}-{scaling}-{layers}");
            let r = common::poisson_report(2, &fixed, &args, &dir, &tag);
            let stats = &r["stats"];
            (
                stats["iterations"].as_f64().unwrap(),
                stats["condition_estimate"].as_f64().unwrap(),
            )
        };
        let (stiffness, deluxe) = (run("stiffness", "0"), run("deluxe", "0"));
        assert!(
            deluxe.0 < stiffness.0 && deluxe.1 < stiffness.1,
            "{solver}: deluxe (iterations, condition) {deluxe:?}, stiffness {stiffness:?}"
        );
        // Economic deluxe (one layer of interior per glob) stays within 10 % of deluxe's count
        // and below ρ-scaling's.
        let economic = run("deluxe", "1");
        assert!(
            economic.0 <= 1.1 * deluxe.0 && economic.0 < stiffness.0,
            "{solver}: economic deluxe {economic:?}, deluxe {deluxe:?}, stiffness {stiffness:?}"
        );
    }
}

/// FD has no elements: FETI-1 and FETI-DP split the matrix algebraically (Schwarz's split grown
/// by one layer, the couplings shared out so that the Neumann matrices sum to A) and get CG's
/// solution.
#[test]
fn feti_on_fd_matches_cg_in_2d_and_3d() {
    let dir = common::scratch("feti-fd");
    for (grid, ranks) in [("64x64", [1, 3]), ("16x16x16", [2, 4])] {
        for np in ranks {
            let run = |solver: &str| {
                let fixed = ["--grid", grid, "--rtol", "1e-10", "--subdomains-per-rank", "8"];
                common::poisson_report(
                    np,
                    &fixed,
                    &["--solver", solver],
                    &dir,
                    &format!("{grid}-{np}-{solver}"),
                )
            };
            feti_matches_cg(run, &format!("{grid} np={np}"));
        }
    }
}

/// κ = 1 or 1e6 on each of 32 element subdomains (jumps along their interfaces), P1 64², 2 ranks:
/// ρ-scaling by the diagonal stiffness with its weighted projector keeps the dual iterations
/// within 1.5× of the homogeneous problem's; multiplicity scaling with the orthogonal projector
/// does not converge in 500.
#[test]
fn stiffness_scaling_is_robust_to_a_contrast_of_1e6_where_multiplicity_scaling_is_not() {
    let homogeneous = feti(2, &["1", "2", "64", "16", "dirichlet", "1", "stiffness"])("iterations");
    let contrast = feti(2, &["1", "2", "64", "16", "dirichlet", "1e6", "stiffness"])("iterations");
    assert!(
        contrast <= 1.5 * homogeneous,
        "{contrast} iterations at 1e6 against {homogeneous}"
    );
    let out = common::mpirun(
        2,
        &common::example("feti_check"),
        &["1", "2", "64", "16", "dirichlet", "1e6", "multiplicity"],
        std::time::Duration::from_secs(180),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && text.contains("max-iter = 500 reached"),
        "{text}"
    );
}

/// FETI-DP at the same contrast: ρ-scaling and deluxe scaling keep it within 1.5× of the
/// homogeneous count (no projector to weigh here, the primal problem carries the coarse space);
/// multiplicity scaling needs more than 1.5× as many.
#[test]
fn feti_dp_with_stiffness_or_deluxe_scaling_is_robust_to_a_contrast_of_1e6() {
    let run = |contrast: &str, scaling: &str| {
        feti(2, &["1", "2", "64", "16", "dirichlet", contrast, scaling, "feti-dp"])("iterations")
    };
    let homogeneous = run("1", "stiffness");
    let (stiffness, multiplicity) = (run("1e6", "stiffness"), run("1e6", "multiplicity"));
    assert!(
        stiffness <= 1.5 * homogeneous,
        "{stiffness} at 1e6 against {homogeneous}"
    );
    let deluxe = run("1e6", "deluxe");
    assert!(
        deluxe <= 1.5 * homogeneous,
        "deluxe: {deluxe} at 1e6 against {homogeneous}"
    );
    assert!(
        multiplicity > 1.5 * homogeneous,
        "{multiplicity} at 1e6 against {homogeneous}"
    );
}

/// The CG Lanczos estimate of the preconditioned condition number, in every report: on P1 64²
/// with 32 subdomains on 2 ranks it orders the preconditioners as DD theory does (GenEO <
/// Nicolaides < one-level ASM < Jacobi), FETI-1's is between GenEO's and Nicolaides', and
/// FETI-DP's (vertices and edge averages) is below GenEO's.
#[test]
fn the_condition_estimate_orders_the_preconditioners() {
    let dir = common::scratch("feti-condition");
    let kappa: Vec<f64> = ["feti-dp", "cg-geneo", "feti1", "cg-nicolaides", "cg-asm", "cg-jacobi"]
        .iter()
        .map(|s| {
            let args = ["--solver", s, "--subdomains-per-rank", "16"];
            let r = common::poisson_report(2, &["--grid", "64x64", "--discretization", "p1"], &args, &dir, s);
            r["stats"]["condition_estimate"].as_f64().expect("condition estimate")
        })
        .collect();
    assert!(kappa.windows(2).all(|w| w[0] < w[1]) && kappa[0] > 1.0, "{kappa:?}");
}

/// Runs `cg-asm`, `feti1`, `feti-dp` and `bddc` through `run` (a report and the last field of
/// each) and checks that each substructuring field is `cg-asm`'s to `tol` (largest difference
/// relative to the largest value; `what` names the case); returns the three presets' reports.
fn fields_match_cg(
    run: impl Fn(&str) -> (serde_json::Value, Vec<f64>),
    tol: f64,
    what: &str,
) -> Vec<(&'static str, serde_json::Value)> {
    let (_, reference) = run("cg-asm");
    ["feti1", "feti-dp", "bddc"]
        .into_iter()
        .map(|solver| {
            let (r, u) = run(solver);
            let diff = common::rel_diff(&reference, &u);
            assert!(diff <= tol, "{solver} {what}: {diff:e}");
            (solver, r)
        })
        .collect()
}

/// Implicit `ddkit heat` (Crank–Nicolson, two dt changes) with `feti1` and `feti-dp`: FETI is set
/// up once and reused by every step; a dt change is a numeric update (the substructures' `M_s +
/// c K_s` recombined, or the FD matrix split again), with no symbolic factorization in the loop;
/// the last field equals CG's at rtol 1e-12 to 1e-8, on FD, P1 and P2.
#[test]
fn implicit_heat_with_feti_updates_numerically_and_matches_cg() {
    let dir = common::scratch("feti-heat");
    for (disc, grid) in [("fd", "32x32"), ("p1", "32x32"), ("p2", "12x12"), ("p1", "8x8x8")] {
        let run = |solver: &str| {
            let out = dir.join(format!("{disc}-{grid}-{solver}"));
            let args = [
                "--grid",
                grid,
                "--discretization",
                disc,
                "--scheme",
                "cn",
                "--rtol",
                "1e-12",
                "--dt-schedule",
                "1e-3:5,2e-3:5,5e-4:4",
                "--snapshot-every",
                "14",
                "--solver",
                solver,
                "--out",
                out.to_str().expect("UTF-8"),
            ];
            let r = common::heat_report(2, &args, &dir, &format!("{disc}-{grid}-{solver}"));
            (r, common::last_field_by_mesh_id(&out.join("heat.h5"), "u"))
        };
        for (solver, r) in fields_match_cg(run, 1e-8, &format!("{disc} {grid}")) {
            assert_eq!(r["symbolic_setups_in_loop"], 0, "{solver} {disc}: {r}");
            let t = &r["solver_timings"];
            assert_eq!(
                (t["updates"].as_u64(), t["solves"].as_u64()),
                (Some(2), Some(14)),
                "{r}"
            );
        }
    }
    common::meshio_reads_every_xdmf(&dir);
}

/// Bad input gives one error line on every rank: a pivot tolerance that fixes a nonsingular
/// direction (the kernel is not what it was taken to be), a coarse problem above the redundant
/// solve's limit (FETI-1's GᵀG and FETI-DP's primal problem), and, at the library level, FETI
/// without element subdomains on a matrix the algebraic splitting cannot split (P2).
#[test]
fn feti_refuses_bad_input_with_one_error_line() {
    for solver in ["feti1", "feti-dp", "bddc"] {
        let args = [
            "poisson",
            "--grid",
            "24x24",
            "--discretization",
            "p1",
            "--solver",
            solver,
        ];
        common::fails_with(
            2,
            &[&args[..], &["--set", "solver.feti.pivot-tol=0.5"]].concat(),
            "a fixed pivot is not a kernel direction",
        );
    }
    common::fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "16x16",
            "--solver",
            "feti-dp",
            "--feti-scaling",
            "deluxe",
            "--feti-preconditioner",
            "lumped",
        ],
        "feti.scaling = deluxe weighs by the interface Schur complements",
    );
    let too_many = [
        "--discretization",
        "p1",
        "--grid",
        "320x320",
        "--subdomains-per-rank",
        "30000",
    ];
    common::fails_with(
        2,
        &[&["poisson", "--solver", "feti1"], &too_many[..]].concat(),
        "FETI's coarse problem GᵀG has dimension",
    );
    let too_many = ["--grid", "300x300", "--subdomains-per-rank", "12000"];
    common::fails_with(
        2,
        &[&["poisson", "--solver", "feti-dp"], &too_many[..]].concat(),
        "FETI-DP's primal problem has dimension",
    );
    let out = common::mpirun(
        2,
        &common::example("feti_check"),
        &["2", "2", "12", "algebraic", "dirichlet"],
        std::time::Duration::from_secs(120),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    let fails = text
        .lines()
        .filter(|l| l.contains("FETI without element subdomains splits the matrix algebraically"));
    assert_eq!(fails.count(), 2, "both ranks say why: {text}");
}

/// Gmsh meshes partitioned by METIS (the L-shape in 2D with P1 and P2, the box in 3D with P1) on 2
/// and 3 ranks, 4 element subdomains per rank: `feti1` and `feti-dp` write CG's field to 1e-7
/// (all at rtol 1e-10) with a true residual below 1e-8.
#[test]
fn feti_on_gmsh_meshes_matches_cg() {
    let dir = common::scratch("feti-gmsh");
    for (mesh, disc) in [("lshape", "p1"), ("lshape", "p2"), ("box3d", "p1")] {
        let path = common::root().join(format!("meshes/{mesh}.msh"));
        for np in [2, 3] {
            let run = |solver: &str| {
                let out = dir.join(format!("{mesh}-{disc}-{np}-{solver}"));
                let args = [
                    "--mesh",
                    path.to_str().expect("UTF-8"),
                    "--discretization",
                    disc,
                    "--exact",
                    "none",
                    "--rtol",
                    "1e-10",
                    "--subdomains-per-rank",
                    "4",
                    "--solver",
                    solver,
                    "--out",
                    out.to_str().expect("UTF-8"),
                ];
                let r = common::poisson_report(np, &args, &[], &dir, &format!("{mesh}-{disc}-{np}-{solver}"));
                (r, common::last_field_by_mesh_id(&out.join("poisson.h5"), "u"))
            };
            for (_, r) in fields_match_cg(run, 1e-7, &format!("{mesh} {disc} np={np}")) {
                assert!(r["true_relative_residual"].as_f64().unwrap() < 1e-8, "{r}");
            }
        }
    }
}

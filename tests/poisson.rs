//! `ddkit poisson` under mpirun: observed orders (FD and P1 in L2, P1 in H1), the same iterations
//! and solution for every rank count, and clear errors for bad solver configurations.
mod common;
use common::fails_with;
use common::orders;
use common::scratch;

fn poisson(np: usize, args: &[&str], dir: &std::path::Path, tag: &str) -> serde_json::Value {
    common::poisson_report(np, &[], args, dir, tag)
}

#[test]
fn observed_orders_fd_and_p1() {
    let dir = scratch("poisson-orders");
    let mut fd = Vec::new();
    let (mut l2, mut h1) = (Vec::new(), Vec::new());
    for n in [16, 32, 64] {
        let g = format!("{n}x{n}");
        let r = poisson(2, &["--grid", &g, "--bc", "xmin=neumann"], &dir, &format!("fd{n}"));
        assert_eq!(r["stats"]["reason"], "converged");
        fd.push(r["error"]["l2"].as_f64().unwrap());
        let r = poisson(2, &["--grid", &g, "--discretization", "p1"], &dir, &format!("p1{n}"));
        assert!(r["true_relative_residual"].as_f64().unwrap() <= 1.01e-8);
        l2.push(r["error"]["l2"].as_f64().unwrap());
        h1.push(r["h1_error"].as_f64().unwrap());
    }
    for (name, e, lo, hi) in [
        ("FD L2", &fd, 1.9, 2.1),
        ("P1 L2", &l2, 1.9, 2.1),
        ("P1 H1", &h1, 0.95, 1.05),
    ] {
        let o = orders(e);
        assert!(
            o.iter().all(|p| (lo..hi).contains(p)),
            "{name}: errors {e:?} orders {o:?}"
        );
    }
}

#[test]
fn same_iterations_and_solution_on_1_to_4_ranks() {
    let dir = scratch("poisson-ranks");
    for (solver, disc) in [("cg-jacobi", "fd"), ("gmres-jacobi", "p1"), ("cg-none", "p1")] {
        let mut first: Option<(u64, f64)> = None;
        for np in 1..=4 {
            let r = poisson(
                np,
                &["--grid", "24x20", "--discretization", disc, "--solver", solver],
                &dir,
                &format!("{solver}{np}"),
            );
            let it = r["stats"]["iterations"].as_u64().unwrap();
            let err = r["error"]["l2"].as_f64().unwrap();
            match first {
                None => first = Some((it, err)),
                Some((it0, e0)) => {
                    assert!(
                        it.abs_diff(it0) <= 1,
                        "{solver} {disc}: {it} iterations on {np} ranks vs {it0} on 1"
                    );
                    assert!((err - e0).abs() <= 1e-6 * e0, "{solver} {disc}: error {err} vs {e0}");
                }
            }
        }
    }
}

#[test]
fn bad_solver_configurations_are_refused() {
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--solver", "no-such-preset"],
        "unknown solver preset 'no-such-preset'",
    );
    fails_with(2, &["poisson", "--grid", "8x8", "--max-iter", "0"], "zero iterations");
    fails_with(2, &["poisson", "--grid", "8x8", "--rtol", "-1"], "rtol");
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--krylov", "minres"],
        "--krylov 'minres'",
    );
    let dir = scratch("bad-preset");
    let p = dir.join("typo.toml");
    std::fs::write(&p, "krylov = \"cg\"\npreconditioner = \"jacobi\"\n").unwrap();
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--solver", p.to_str().unwrap()],
        "unknown field `preconditioner`",
    );
    // A solve that does not converge is an error (exit status 1, issue 9), and its report is
    // still written: the stats say why.
    let report = dir.join("capped.json");
    fails_with(
        2,
        &[
            "poisson",
            "--grid",
            "32x32",
            "--max-iter",
            "5",
            "--report",
            report.to_str().unwrap(),
        ],
        "not converged",
    );
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["stats"]["reason"], "max-iterations");
    assert_eq!(r["stats"]["iterations"], 5);
}

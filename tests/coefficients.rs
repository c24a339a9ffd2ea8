//! Coefficients and boundary terms under mpirun: κ that jumps across a region interface
//! (against the exact layered solution, which P2 reproduces), Robin conditions (observed orders, and the Dirichlet
//! limit of a large Robin coefficient).
mod common;
use common::orders;
use common::{last_field_by_mesh_id, rel_diff, scratch};

fn poisson(np: usize, args: &[&str], dir: &std::path::Path, tag: &str) -> serde_json::Value {
    common::poisson_report(np, &[], args, dir, tag)
}

/// The unit square cut at x = 1/2 into regions `left` and `right`, sides `xmin`, `xmax` and
/// `walls` (top and bottom), meshed by gmsh at size `h`.
fn layered_mesh(dir: &std::path::Path, h: f64) -> std::path::PathBuf {
    let geo = dir.join("layered.geo");
    std::fs::write(
        &geo,
        "Point(1) = {0, 0, 0}; Point(2) = {0.5, 0, 0}; Point(3) = {1, 0, 0};\n\
         Point(4) = {1, 1, 0}; Point(5) = {0.5, 1, 0}; Point(6) = {0, 1, 0};\n\
         Line(1) = {1, 2}; Line(2) = {2, 3}; Line(3) = {3, 4}; Line(4) = {4, 5};\n\
         Line(5) = {5, 6}; Line(6) = {6, 1}; Line(7) = {2, 5};\n\
         Curve Loop(1) = {1, 7, 5, 6}; Plane Surface(1) = {1};\n\
         Curve Loop(2) = {2, 3, 4, -7}; Plane Surface(2) = {2};\n\
         Physical Curve(\"xmin\", 4) = {6}; Physical Curve(\"xmax\", 5) = {3};\n\
         Physical Curve(\"walls\", 6) = {1, 2, 4, 5};\n\
         Physical Surface(\"left\", 1) = {1}; Physical Surface(\"right\", 2) = {2};\n",
    )
    .expect("write geo");
    let msh = dir.join(format!("layered-{h}.msh"));
    let st = std::process::Command::new("gmsh")
        .args(["-2", "-format", "msh41", "-clmax", &h.to_string(), "-o"])
        .arg(&msh)
        .arg(&geo)
        .output()
        .expect("gmsh installed");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    msh
}

/// `-(κ u')' = 1` on (0, 1), `u(0) = u(1) = 0`, κ = `k1` left of 1/2 and `k2` right of it: the
/// flux `q = x - c` is continuous, `u' = (c - x)/κ`, and `u(1) = 0` fixes `c`.
fn layered_exact(x: f64, k1: f64, k2: f64) -> f64 {
    let c = (1.0 / k1 + 3.0 / k2) / (4.0 * (1.0 / k1 + 1.0 / k2));
    let left = |x: f64| (c * x - x * x / 2.0) / k1;
    if x <= 0.5 {
        left(x)
    } else {
        left(0.5) + (c * (x - 0.5) - (x * x - 0.25) / 2.0) / k2
    }
}

#[test]
fn kappa_jump_across_regions_matches_the_layered_solution() {
    let dir = scratch("kappa-regions");
    let (k1, k2) = (1.0, 100.0);
    let mut errors = Vec::new();
    for h in [0.05, 0.025, 0.0125] {
        let msh = layered_mesh(&dir, h);
        let out = dir.join(format!("out-{h}"));
        let r = poisson(
            2,
            &[
                "--mesh",
                msh.to_str().unwrap(),
                "--exact",
                "none",
                "--source",
                "1",
                "--bc",
                "walls=neumann",
                "--kappa-region",
                "left=1",
                "--kappa-region",
                "right=100",
                "--solver",
                "cg-asm",
                "--rtol",
                "1e-12",
                "--out",
                out.to_str().unwrap(),
            ],
            &dir,
            &format!("h{h}"),
        );
        assert_eq!(r["stats"]["reason"], "converged");
        let f = hdf5::File::open(out.join("poisson.h5")).expect("output");
        let xy: Vec<f64> = f.dataset("mesh/geometry").expect("geometry").read_raw().expect("read");
        let u: Vec<f64> = f.dataset("fields/u/0").expect("u").read_raw().expect("read");
        // Relative root-mean-square nodal error (smoother under refinement than the maximum).
        let (e2, n2) = u.iter().zip(xy.chunks(2)).fold((0.0, 0.0), |(e, n), (ui, p)| {
            let ex = layered_exact(p[0], k1, k2);
            (e + (ui - ex) * (ui - ex), n + ex * ex)
        });
        errors.push((e2 / n2).sqrt());
    }
    println!(
        "κ 1 | 100, P1 relative nodal errors {errors:?} orders {:?}",
        orders(&errors)
    );
    // Ignoring the jump (κ = 1 everywhere) would be off by a factor of about 2 on the left.
    assert!(errors[2] < 1e-3, "relative nodal errors {errors:?}");
    let o = orders(&errors);
    assert!(
        o.iter().all(|p| (1.7..3.0).contains(p)),
        "errors {errors:?} orders {o:?}"
    );
    common::meshio_reads_every_xdmf(&dir);
}

/// The layered solution is quadratic on each region and the interface is a mesh line, so P2
/// reproduces it: the whole parallel path (per-cell κ, Neumann walls, Dirichlet ends, quadratic
/// facets) is exact up to the solver tolerance at every node, on a coarse unstructured mesh.
#[test]
fn p2_is_exact_for_the_piecewise_quadratic_layered_solution() {
    let dir = scratch("kappa-regions-p2");
    let (k1, k2) = (1.0, 100.0);
    let msh = layered_mesh(&dir, 0.1);
    let out = dir.join("out");
    let args = [
        "--mesh",
        msh.to_str().unwrap(),
        "--discretization",
        "p2",
        "--exact",
        "none",
        "--source",
        "1",
        "--bc",
        "walls=neumann",
        "--kappa-region",
        "left=1",
        "--kappa-region",
        "right=100",
        "--rtol",
        "1e-13",
        "--out",
        out.to_str().unwrap(),
    ];
    let r = poisson(3, &args, &dir, "p2");
    assert_eq!(r["stats"]["reason"], "converged");
    let f = hdf5::File::open(out.join("poisson.h5")).expect("output");
    let xy: Vec<f64> = f.dataset("mesh/geometry").expect("geometry").read_raw().expect("read");
    let u: Vec<f64> = f.dataset("fields/u/0").expect("u").read_raw().expect("read");
    let scale = layered_exact(0.5, k1, k2);
    let err = u
        .iter()
        .zip(xy.chunks(2))
        .map(|(ui, p)| (ui - layered_exact(p[0], k1, k2)).abs())
        .fold(0.0, f64::max);
    println!("κ 1 | 100, P2 max nodal error {err:e} (solution scale {scale:e})");
    assert!(err <= 1e-11 * scale, "max nodal error {err:e}");
    common::meshio_reads_every_xdmf(&dir);
}

#[test]
fn robin_conditions_converge_and_approach_dirichlet_for_large_alpha() {
    let dir = scratch("robin");
    let (mut fd, mut l2, mut h1) = (Vec::new(), Vec::new(), Vec::new());
    let robin = ["--bc", "xmax=robin:2", "--bc", "ymin=robin:0.5", "--bc", "ymax=neumann"];
    for n in [16, 32, 64] {
        let g = format!("{n}x{n}");
        let mut args = vec!["--grid", &g, "--solver", "cg-asm", "--rtol", "1e-12"];
        args.extend_from_slice(&robin);
        fd.push(
            poisson(2, &args, &dir, &format!("fd{n}"))["error"]["l2"]
                .as_f64()
                .unwrap(),
        );
        args.extend_from_slice(&["--discretization", "p1"]);
        let r = poisson(2, &args, &dir, &format!("p1{n}"));
        l2.push(r["error"]["l2"].as_f64().unwrap());
        h1.push(r["h1_error"].as_f64().unwrap());
    }
    println!("Robin: FD L2 {fd:?}, P1 L2 {l2:?}, P1 H1 {h1:?}");
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
    // With zero data, α → ∞ turns κ∂u/∂n + αu = 0 into u = 0: the Dirichlet solution.
    for disc in ["fd", "p1"] {
        let field = |bc: &str| {
            let out = dir.join(format!("{disc}-{bc}"));
            let args = [
                "--grid",
                "24x24",
                "--exact",
                "none",
                "--discretization",
                disc,
                "--bc",
                bc,
                "--solver",
                "cg-asm",
                "--rtol",
                "1e-13",
                "--out",
                out.to_str().unwrap(),
            ];
            poisson(2, &args, &dir, &format!("{disc}-{bc}"));
            last_field_by_mesh_id(&out.join("poisson.h5"), "u")
        };
        let dirichlet = field("xmax=dirichlet");
        let d = rel_diff(&field("xmax=robin:1e9"), &dirichlet);
        println!("{disc}: robin 1e9 vs dirichlet {d:e}");
        assert!(d < 1e-6, "{disc}: robin 1e9 vs dirichlet {d:e}");
        let d = rel_diff(&field("xmax=robin:1"), &dirichlet);
        assert!(
            d > 0.1,
            "{disc}: a moderate Robin coefficient must change the solution ({d:e})"
        );
    }
    common::meshio_reads_every_xdmf(&dir);
}

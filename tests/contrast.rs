//! The built-in high-contrast coefficient (`--contrast`): its channels cut across subdomains,
//! FD with a per-cell κ converges at second order across a jump (and explicit steps agree with
//! the assembled matrix), Poisson with contrast 10⁶ converges to the same solution on 1 and 3
//! ranks for FD and P1 with κ in the output, heat is bitwise identical across rank counts, and
//! bad input gives one error line. On the Gmsh mesh `meshes/contrast_square.msh` region tags set
//! the contrast: its channels cross subdomain boundaries, κ lands on the region's cells in the
//! output, and GenEO keeps its iteration count at contrast 10⁶ where one-level Schwarz and
//! Nicolaides do not.
mod common;
use common::{fails_with, last_field_by_mesh_id, rel_diff, scratch};
use ddkit::mesh::{Adjacency, Mesh};
use ddkit::partition::{partition, Method};
use ddkit::pde::coefficient::{feature_at, Feature};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn poisson(np: usize, args: &[&str], dir: &Path, tag: &str) -> serde_json::Value {
    common::poisson_report(np, &[], args, dir, tag)
}

/// Parts holding cells of each channel, for a partition of the 64² grid.
fn parts_per_channel(method: &Method) -> Vec<BTreeSet<u32>> {
    let mesh = Mesh::structured(&[64, 64], false).unwrap();
    let dual = mesh.cell_graph(Adjacency::Facet);
    let p = partition(&mesh, &dual, 4, method).unwrap();
    let mut per = vec![BTreeSet::new(); 4];
    for c in 0..mesh.num_cells() {
        if let Some(Feature::Channel(j)) = feature_at(&mesh.centroid(c), 2) {
            per[j].insert(p.parts[c]);
        }
    }
    per
}

#[test]
fn channels_cut_across_subdomain_boundaries() {
    for method in [Method::MetisKway, Method::Blocks(None)] {
        let per = parts_per_channel(&method);
        println!("{method}: parts per channel {per:?}");
        // Every channel spans 15/16 of the box in x, so it crosses the interfaces of any
        // balanced 4-way partition of the square.
        assert!(per.iter().all(|s| s.len() >= 2), "{method}: {per:?}");
        let all: BTreeSet<u32> = per.iter().flatten().copied().collect();
        assert_eq!(all.len(), 4, "{method}: channel cells in every part");
    }
}

fn contrast_check(np: usize, mode: &str) -> String {
    let out = common::mpirun(
        np,
        &common::example("contrast_check"),
        &[mode],
        Duration::from_secs(180),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("contrast_check: OK"),
        "{mode} np={np}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The numbers in the bracketed list after `key` in `text`.
fn list_after(text: &str, key: &str) -> Vec<f64> {
    let s = text.split(key).nth(1).expect("key printed");
    let s = &s[s.find('[').expect("[") + 1..s.find(']').expect("]")];
    s.split(',').map(|v| v.trim().parse().expect("number")).collect()
}

#[test]
fn fd_with_a_kappa_jump_converges_at_second_order() {
    let mut by_np = Vec::new();
    for np in [1, 2] {
        let e = list_after(&contrast_check(np, "layered"), "layered errors");
        let orders: Vec<f64> = e.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        println!("np={np}: κ 1 | 100 FD relative L2 errors {e:?} orders {orders:?}");
        // A flux that ignored the jump (κ = 1, or the arithmetic mean across the face) would
        // be O(1) wrong; the harmonic mean keeps the cell-centred scheme second order.
        assert!(
            orders.iter().all(|p| (1.9..2.1).contains(p)),
            "np={np}: {e:?} {orders:?}"
        );
        assert!(e[3] < 5e-4, "np={np}: {e:?}");
        by_np.push(e);
    }
    assert!(
        rel_diff(&by_np[0], &by_np[1]) < 1e-8,
        "errors differ across rank counts: {by_np:?}"
    );
}

#[test]
fn explicit_fd_steps_match_the_assembled_matrix() {
    for np in [1, 3] {
        let text = contrast_check(np, "explicit");
        let d: f64 = text
            .split("explicit difference ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .expect("difference printed");
        println!("np={np}: explicit vs assembled, contrast 1e3: {d:e}");
        assert!(d < 1e-12, "np={np}: relative difference {d:e}");
    }
}

fn check_output(xdmf: &Path, expect: &serde_json::Value) {
    let status = std::process::Command::new("/usr/bin/python3")
        .arg(common::root().join("tests/py/check_output.py"))
        .arg(xdmf)
        .arg(expect.to_string())
        .output()
        .expect("Debian python3 with h5py and meshio");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && text.contains("check_output: OK"),
        "{text}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn poisson_with_contrast_1e6_converges_to_the_same_solution_on_1_and_3_ranks() {
    let dir = scratch("contrast-poisson");
    for disc in ["fd", "p1"] {
        let mut solutions = Vec::new();
        for np in [1, 3] {
            let out = dir.join(format!("{disc}-{np}"));
            let args = [
                "--grid",
                "64x64",
                "--discretization",
                disc,
                "--contrast",
                "1e6",
                "--exact",
                "none",
                "--solver",
                "cg-asm",
                "--out",
                out.to_str().unwrap(),
            ];
            let r = poisson(np, &args, &dir, &format!("{disc}-{np}"));
            assert_eq!(r["stats"]["reason"], "converged", "{disc} np={np}: {r}");
            assert_eq!(r["kappa_range"], serde_json::json!([1.0, 1e6]));
            println!("{disc} np={np}: {} iterations", r["stats"]["iterations"]);
            let (points, cells) = if disc == "fd" { (65 * 65, 4096) } else { (65 * 65, 8192) };
            let center = if disc == "fd" { "cell" } else { "point" };
            check_output(
                &out.join("poisson.xdmf"),
                &serde_json::json!({
                    "num_points": points, "num_cells": cells, "ranks": np,
                    "fields": {"u": center, "mesh_id": center, "kappa": "cell"},
                    "static": {"kappa": {"min": 1.0, "max": 1e6}},
                }),
            );
            solutions.push(last_field_by_mesh_id(&out.join("poisson.h5"), "u"));
        }
        let d = rel_diff(&solutions[0], &solutions[1]);
        println!("{disc}: 1 vs 3 ranks relative difference {d:e}");
        assert!(d <= 1e-8, "{disc}: 1 vs 3 ranks differ by {d:e}");
    }
    common::meshio_reads_every_xdmf(&dir);
}

/// The high-contrast problem is harder for one-level Schwarz than the homogeneous one (at the
/// same partition), and the pattern reaches Gmsh meshes (P1 on the unit-square mesh).
#[test]
fn contrast_raises_one_level_iterations_and_reaches_gmsh_meshes() {
    let dir = scratch("contrast-iterations");
    let iterations = |c: &str| {
        let args = [
            "--grid",
            "64x64",
            "--contrast",
            c,
            "--exact",
            "none",
            "--solver",
            "cg-asm",
        ];
        let r = poisson(2, &args, &dir, &format!("c{c}"));
        assert_eq!(r["stats"]["reason"], "converged");
        r["stats"]["iterations"].as_u64().unwrap()
    };
    let (homogeneous, high) = (iterations("1"), iterations("1e6"));
    println!("cg-asm on 2 ranks, 64² FD: {homogeneous} iterations at contrast 1, {high} at 1e6");
    assert!(high > 2 * homogeneous, "{homogeneous} vs {high}");

    let out = dir.join("gmsh");
    let mesh = common::root().join("meshes/unit_square.msh");
    let args = [
        "--mesh",
        mesh.to_str().unwrap(),
        "--contrast",
        "1e4",
        "--exact",
        "none",
        "--solver",
        "cg-asm",
        "--out",
        out.to_str().unwrap(),
    ];
    let r = poisson(3, &args, &dir, "gmsh");
    assert_eq!(r["stats"]["reason"], "converged");
    let f = hdf5::File::open(out.join("poisson.h5")).expect("output");
    let k: Vec<f64> = f.dataset("static/kappa").expect("kappa").read_raw().expect("read");
    let high = k.iter().filter(|&&v| v == 1e4).count();
    assert!(k.iter().all(|&v| v == 1.0 || v == 1e4), "kappa values");
    // The features cover 15/128 + 9/256 ≈ 0.152 of the square; a mesh sees that to within a
    // layer of cells along their edges.
    let fraction = high as f64 / k.len() as f64;
    println!(
        "unit_square.msh: {high} of {} cells at κ = 1e4 ({fraction:.3})",
        k.len()
    );
    assert!((0.08..0.25).contains(&fraction), "fraction {fraction}");
    common::meshio_reads_every_xdmf(&dir);
}

#[test]
fn heat_with_contrast_is_bitwise_identical_across_rank_counts() {
    let dir = scratch("contrast-heat");
    let mut fields = Vec::new();
    for np in [1, 3] {
        let out = dir.join(format!("h{np}"));
        let args = [
            "--grid",
            "32x32",
            "--contrast",
            "1e3",
            "--exact",
            "none",
            "--source",
            "1",
            "--steps",
            "100",
            "--partitioner",
            "metis",
            "--out",
            out.to_str().unwrap(),
        ];
        let r = common::heat_report(np, &args, &dir, &format!("h{np}"));
        assert_eq!(r["kappa_max"], 1e3);
        // The stable step follows the largest κ: 1 / (2 κ_max Σ 1/h²).
        let limit = 1.0 / (2.0 * 1e3 * 2.0 * 32.0 * 32.0);
        assert!((r["dt_stable"].as_f64().unwrap() - limit).abs() < 1e-12 * limit);
        fields.push(last_field_by_mesh_id(&out.join("heat.h5"), "u"));
    }
    assert_eq!(
        fields[0], fields[1],
        "FD heat with contrast differs between 1 and 3 ranks"
    );
    common::meshio_reads_every_xdmf(&dir);
}

#[test]
fn bad_contrast_input_gives_one_error_line() {
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--contrast", "0.5", "--exact", "none"],
        "contrast must be a finite number >= 1",
    );
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--contrast", "1e6"],
        "needs --exact none",
    );
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--contrast", "1e6", "--exact", "manufactured"],
        "needs --exact none",
    );
    let regions = common::root().join("meshes/two_regions.msh");
    fails_with(
        2,
        &[
            "poisson",
            "--mesh",
            regions.to_str().unwrap(),
            "--exact",
            "none",
            "--contrast",
            "10",
            "--kappa-region",
            "left_region=3",
        ],
        "--contrast and --kappa-region both set kappa per cell",
    );
}

/// `meshes/contrast_square.msh`: five channels of width 1/32 and sixteen disks of radius 0.03 as
/// regions `channels` and `inclusions` in a `matrix` (see `meshes/contrast_square.geo`).
fn contrast_square() -> PathBuf {
    common::root().join("meshes/contrast_square.msh")
}

/// The regions' κ = 10⁶ arguments for `contrast_square.msh`.
const REGIONS_1E6: [&str; 4] = ["--kappa-region", "channels=1e6", "--kappa-region", "inclusions=1e6"];

/// Which channel of `contrast_square.geo` contains `(x, y)`, from its documented geometry.
fn square_channel(x: f64, y: f64) -> Option<usize> {
    (0..5).find(|&j| {
        let y0 = 0.12 + 0.18 * j as f64;
        let (x0, x1) = if j % 2 == 0 {
            (1.0 / 32.0, 27.0 / 32.0)
        } else {
            (5.0 / 32.0, 31.0 / 32.0)
        };
        (x0..=x1).contains(&x) && (y0..=y0 + 1.0 / 32.0).contains(&y)
    })
}

/// Distance from `(x, y)` to the nearest inclusion centre of `contrast_square.geo`.
fn square_inclusion_distance(x: f64, y: f64) -> f64 {
    let w = 1.0 / 32.0;
    let mut d = f64::INFINITY;
    for i in 1..=4 {
        for j in 0..4 {
            let (xc, yc) = (0.2 * i as f64, 0.12 + 0.18 * j as f64 + w + (0.18 - w) / 2.0);
            d = d.min((x - xc).hypot(y - yc));
        }
    }
    d
}

#[test]
fn gmsh_channels_cut_across_subdomain_boundaries() {
    let mesh = ddkit::mesh::gmsh::read(&contrast_square()).expect("contrast_square.msh");
    let dual = mesh.cell_graph(Adjacency::Facet);
    // 8 parts: the subdomain count of the GenEO test below (2 ranks × 4).
    let p = partition(&mesh, &dual, 8, &Method::MetisKway).unwrap();
    let channels = mesh.tag_of(2, "channels").expect("region channels");
    let mut per = vec![BTreeSet::new(); 5];
    for c in (0..mesh.num_cells()).filter(|&c| mesh.cell_tags[c] == channels) {
        let x = mesh.centroid(c);
        let j = square_channel(x[0], x[1]).expect("a channel cell lies in a documented channel");
        per[j].insert(p.parts[c]);
    }
    println!("contrast_square.msh, METIS 8 parts: parts per channel {per:?}");
    // Each channel is 13/16 of the square long: compact METIS parts of area 1/8 cannot hold one.
    assert!(per.iter().all(|s| s.len() >= 2), "{per:?}");
}

/// κ from the region tags reaches the right cells of the output: each cell's κ agrees with the
/// documented geometry at its centroid, on 3 ranks.
#[test]
fn region_kappa_on_the_gmsh_mesh_is_written_to_the_output() {
    let dir = scratch("contrast-gmsh-output");
    let out = dir.join("out");
    let mesh = contrast_square();
    let mut args = vec![
        "--mesh",
        mesh.to_str().unwrap(),
        "--exact",
        "none",
        "--solver",
        "cg-asm",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&REGIONS_1E6);
    let r = poisson(3, &args, &dir, "regions");
    assert_eq!(r["stats"]["reason"], "converged", "{r}");
    assert_eq!(r["kappa_range"], serde_json::json!([1.0, 1e6]));
    let f = hdf5::File::open(out.join("poisson.h5")).expect("output");
    let k: Vec<f64> = f.dataset("static/kappa").expect("kappa").read_raw().expect("read");
    let xy: Vec<f64> = f.dataset("mesh/geometry").expect("geometry").read_raw().expect("read");
    let cells: Vec<i64> = f.dataset("mesh/topology").expect("topology").read_raw().expect("read");
    assert_eq!(k.len() * 3, cells.len());
    let (mut high_area, mut total_area) = (0.0, 0.0);
    for (kappa, tri) in k.iter().zip(cells.chunks(3)) {
        let p: Vec<[f64; 2]> = tri
            .iter()
            .map(|&v| [xy[2 * v as usize], xy[2 * v as usize + 1]])
            .collect();
        let area = ((p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (p[1][1] - p[0][1])).abs() / 2.0;
        let (cx, cy) = ((p[0][0] + p[1][0] + p[2][0]) / 3.0, (p[0][1] + p[1][1] + p[2][1]) / 3.0);
        let d = square_inclusion_distance(cx, cy);
        // The channels are meshed exactly; the disks (radius 0.03) as inscribed polygons of at
        // least 6 sides, which contain the disk of radius 0.03 cos(π/6) > 0.025. A centroid in
        // the band between decides nothing.
        if square_channel(cx, cy).is_some() || d < 0.025 {
            assert_eq!(*kappa, 1e6, "cell with centroid ({cx}, {cy})");
        } else if d > 0.03 {
            assert_eq!(*kappa, 1.0, "cell with centroid ({cx}, {cy})");
        } else {
            assert!(*kappa == 1.0 || *kappa == 1e6, "({cx}, {cy}): κ = {kappa}");
        }
        total_area += area;
        if *kappa == 1e6 {
            high_area += area;
        }
    }
    // Channels 5 × 13/16 × 1/32 and disks 16 π 0.03² (a little less as polygons).
    let exact = 5.0 * 13.0 / 16.0 / 32.0 + 16.0 * std::f64::consts::PI * 0.03 * 0.03;
    println!(
        "contrast_square.msh on 3 ranks: {} cells, κ = 1e6 on area {high_area:.4} (circles exact: {exact:.4})",
        k.len()
    );
    assert!((total_area - 1.0).abs() < 1e-9, "area {total_area}");
    assert!((0.97 * exact..exact).contains(&high_area), "{high_area} vs {exact}");
    common::meshio_reads_every_xdmf(&dir);
}

/// GenEO is robust to the contrast the region tags set on the Gmsh mesh (its iteration count
/// within 1.5× of the homogeneous one), Nicolaides and one-level Schwarz are not: one small
/// eigenvalue per channel piece in a subdomain is what Nicolaides' one constant per subdomain
/// misses and GenEO's local eigenproblems find.
#[test]
fn region_contrast_on_the_gmsh_mesh_needs_geneo() {
    let dir = scratch("contrast-gmsh-coarse");
    let mesh = contrast_square();
    let run = |solver: &str, regions: &[&str]| {
        let mut args = vec![
            "--mesh",
            mesh.to_str().unwrap(),
            "--discretization",
            "p1",
            "--exact",
            "none",
            "--solver",
            solver,
            "--subdomains-per-rank",
            "4",
        ];
        args.extend_from_slice(regions);
        let tag = format!("{solver}-{}", regions.len());
        let r = poisson(2, &args, &dir, &tag);
        assert_eq!(r["stats"]["reason"], "converged", "{tag}: {r}");
        let it = r["stats"]["iterations"].as_u64().unwrap();
        (it, r["coarse_dimension"].as_u64().unwrap_or(0))
    };
    let mut ratio = BTreeMap::new();
    for solver in ["cg-asm", "cg-nicolaides", "cg-geneo", "cg-gdsw"] {
        let (homogeneous, dim_h) = run(solver, &[]);
        let (high, dim_c) = run(solver, &REGIONS_1E6);
        let q = high as f64 / homogeneous as f64;
        println!(
            "contrast_square.msh, 2 ranks × 4 subdomains, {solver}: {homogeneous} iterations \
             homogeneous (coarse dimension {dim_h}), {high} at 1e6 ({dim_c}), ratio {q:.2}"
        );
        ratio.insert(solver, q);
    }
    assert!(ratio["cg-geneo"] <= 1.5, "GenEO: {ratio:?}");
    assert!(ratio["cg-nicolaides"] > 1.5, "Nicolaides: {ratio:?}");
    assert!(ratio["cg-asm"] > 2.0, "one-level: {ratio:?}");
}

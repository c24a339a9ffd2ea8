//! Second-order Gmsh meshes used isoparametrically: the hole of the DFG channel (a circle of
//! radius 0.05) measured from `gmsh -order 2` meshes has area 0.05²π and perimeter 0.1π to
//! fourth order in h, where the straight-sided P2 mesh on the same corners (and P1) converges
//! with order 2; 10-node tetrahedra come in ddkit's edge order; and `ddkit poisson` runs P2 on
//! a curved mesh and P1 on its corners.
mod common;

use ddkit::fem::element::Lagrange;
use ddkit::mesh::{gmsh, Mesh};
use std::f64::consts::PI;
use std::path::PathBuf;

/// `gmsh -DIM -order ORDER` of `meshes/GEO` with `-setnumber` pairs, written to the scratch dir.
fn generate(geo: &str, dim: usize, order: usize, numbers: &[(&str, f64)], tag: &str) -> PathBuf {
    let dir = common::scratch(&format!("isoparametric-{tag}"));
    let msh = dir.join(format!("{tag}.msh"));
    let mut cmd = std::process::Command::new("gmsh");
    cmd.args([
        format!("-{dim}"),
        "-order".into(),
        order.to_string(),
        "-format".into(),
        "msh41".into(),
    ]);
    for (k, v) in numbers {
        cmd.args(["-setnumber", k, &v.to_string()]);
    }
    let out = cmd
        .arg("-o")
        .arg(&msh)
        .arg(common::root().join("meshes").join(geo))
        .output()
        .expect("gmsh installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    msh
}

/// The total cell volume and the length of the boundary facets tagged `name`, each computed by
/// the element of the mesh's own cells (isoparametric when they are curved).
fn measures(mesh: &Mesh, name: &str) -> (f64, f64) {
    let el = Lagrange::for_cell(mesh.cell_type).expect("simplices");
    let nodes = |conn: &[u32]| -> Vec<[f64; 3]> { conn.iter().map(|&v| mesh.points[v as usize]).collect() };
    let volume: f64 = (0..mesh.num_cells())
        .map(|c| el.quadrature(&nodes(mesh.cell(c)), 0, |_| {}))
        .sum();
    let tag = mesh.tag_of(mesh.gdim - 1, name).expect("boundary tag");
    let length: f64 = (0..mesh.num_facets())
        .filter(|&f| mesh.facet_tags[f] == tag)
        .map(|f| el.facet().facet_measure(&nodes(mesh.facet(f))))
        .sum();
    (volume, length)
}

#[test]
fn curved_p2_measures_the_cylinder_to_fourth_order_and_straight_p2_to_second() {
    let (channel, area, perimeter) = (2.2 * 0.41, 0.05 * 0.05 * PI, 0.1 * PI);
    let mut rows = Vec::new();
    for (i, hc) in [0.016, 0.008, 0.004].into_iter().enumerate() {
        let msh = generate("dfg_channel.geo", 2, 2, &[("hc", hc), ("h", 0.08)], &format!("dfg-{i}"));
        let curved = gmsh::read(&msh).expect("second-order mesh reads");
        assert_eq!(curved.cell_type, ddkit::mesh::CellType::Triangle6);
        let straight = curved.linear().elevate().expect("elevate");
        assert_eq!(straight.num_cells(), curved.num_cells());
        let (vc, lc) = measures(&curved, "cylinder");
        let (vs, ls) = measures(&straight, "cylinder");
        let (vl, ll) = measures(&curved.linear(), "cylinder");
        // Hole area = channel − fluid area.
        let err = |v: f64, l: f64| (((channel - v) - area).abs() / area, (l - perimeter).abs() / perimeter);
        rows.push([err(vc, lc), err(vs, ls), err(vl, ll)]);
    }
    for (i, r) in rows.iter().enumerate() {
        eprintln!(
            "level {i}: curved P2 area {:.2e} perimeter {:.2e}; straight P2 {:.2e} {:.2e}; P1 {:.2e} {:.2e}",
            r[0].0, r[0].1, r[1].0, r[1].1, r[2].0, r[2].1
        );
    }
    let order = |k: usize, area: bool| -> Vec<f64> {
        let e: Vec<f64> = rows.iter().map(|r| if area { r[k].0 } else { r[k].1 }).collect();
        common::orders(&e)
    };
    for area in [true, false] {
        let (c, s, l) = (order(0, area), order(1, area), order(2, area));
        eprintln!(
            "orders ({}): curved {c:?} straight {s:?} P1 {l:?}",
            if area { "area" } else { "perimeter" }
        );
        assert!(c.iter().all(|&p| p > 3.5), "curved P2: {c:?}");
        assert!(
            s.iter().chain(&l).all(|&p| (1.7..2.4).contains(&p)),
            "straight: {s:?} {l:?}"
        );
    }
    // On the finest level the curved mesh is orders of magnitude closer.
    let last = rows[2];
    assert!(last[0].0 < 1e-3 * last[1].0 && last[0].1 < 1e-3 * last[1].1, "{last:?}");
    assert_eq!((last[1].0, last[1].1), (last[2].0, last[2].1));
}

/// Gmsh numbers the last two edge nodes of a 10-node tetrahedron the other way round: read in
/// ddkit's order, every edge node of the (straight-edged) cube sits at the midpoint of the
/// edge its position names, and the cube's volume is 1.
#[test]
fn second_order_tetrahedra_come_in_ddkits_edge_order() {
    let msh = generate("box3d.geo", 3, 2, &[("h", 0.3)], "box-order2");
    let m = gmsh::read(&msh).expect("10-node tetrahedra read");
    assert_eq!(m.cell_type, ddkit::mesh::CellType::Tetrahedron10);
    assert_eq!(m.cell_type.facet_type(), Some(ddkit::mesh::CellType::Triangle6));
    for c in 0..m.num_cells() {
        let n = m.cell(c);
        for (k, e) in ddkit::mesh::CellType::simplex_edges(3).iter().enumerate() {
            let (a, b, mid) = (
                m.points[n[e[0]] as usize],
                m.points[n[e[1]] as usize],
                m.points[n[4 + k] as usize],
            );
            assert!(
                (0..3).all(|d| (mid[d] - 0.5 * (a[d] + b[d])).abs() < 1e-12),
                "cell {c} edge {k}"
            );
        }
    }
    let (volume, area) = measures(&m, "xmin");
    assert!(
        (volume - 1.0).abs() < 1e-12 && (area - 1.0).abs() < 1e-12,
        "{volume} {area}"
    );
}

/// `ddkit poisson` on a second-order mesh: P2 uses the curved nodes and converges; P1 runs on
/// the corners. Both agree with the exact solution to their order's accuracy.
#[test]
fn poisson_runs_p2_on_a_curved_mesh_and_p1_on_its_corners() {
    let msh = generate("unit_square.geo", 2, 2, &[("h", 0.1)], "square-order2");
    let mesh = msh.to_str().expect("utf-8 path");
    let dir = common::scratch("isoparametric-poisson");
    let p2 = common::poisson_report(2, &["--mesh", mesh], &["--discretization", "p2"], &dir, "p2");
    let p1 = common::poisson_report(2, &["--mesh", mesh], &["--discretization", "p1"], &dir, "p1");
    let l2 = |r: &serde_json::Value| r["error"]["l2"].as_f64().expect("l2 error");
    let (e2, e1) = (l2(&p2), l2(&p1));
    eprintln!("unit square order-2 mesh h = 0.1: P2 L2 {e2:.2e}, P1 L2 {e1:.2e}");
    assert!(e2 < 1e-3 && e1 < 2e-2 && e2 < 0.1 * e1, "{e2} {e1}");
}

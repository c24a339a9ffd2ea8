//! Unit tests of the ASCII reader and of what both encodings share (planarity, quoting).
use super::*;

const V41: &str = r#"$MeshFormat
4.1 0 8
$EndMeshFormat
$PhysicalNames
3
1 1 "left"
1 2 "rest of boundary"
2 7 "domain"
$EndPhysicalNames
$Comments
free text, skipped 1 2 3
$EndComments
$Entities
0 2 1 0
1 0 0 0 0 1 0 1 1 0
2 0 0 0 1 1 0 1 2 0
1 0 0 0 1 1 0 2 7 8 0
$EndEntities
$Nodes
1 4 10 40
2 1 0 4
40
10
30
20
0 1 0
0 0 0
1 1 0
1 0 0
$EndNodes
$Elements
3 6 1 6
1 1 1 1
1 40 10
1 2 1 3
2 10 20
3 20 30
4 30 40
2 1 2 2
5 10 20 30
6 10 40 30
$EndElements
$Periodic
0
$EndPeriodic
"#;

const V22: &str = r#"$MeshFormat
2.2 0 8
$EndMeshFormat
$PhysicalNames
2
1 3 "boundary"
2 5 "domain"
$EndPhysicalNames
$Nodes
4
1 0 0 0
2 1 0 0
3 1 1 0
4 0 1 0
$EndNodes
$Elements
9
1 15 2 0 1 1
2 1 2 3 1 1 2
3 1 2 3 2 2 3
4 1 2 3 3 3 4
5 1 0 4 1
6 2 2 5 1 1 3 2
7 2 2 5 1 1 3 4
8 1 2 4 1 2 1
9 2 2 6 1 3 1 4
$EndElements
"#;

/// Asserts that parsing `text` fails with a message containing every one of `parts`.
fn fails(text: &str, parts: &[&str]) {
    let e = parse(text, "t.msh").expect_err("expected an error").to_string();
    assert!(parts.iter().all(|p| e.contains(p)), "{e}");
}

fn assert_oriented(m: &Mesh) {
    for c in 0..m.num_cells() {
        assert!(signed_measure(&m.points, m.cell(c)) > 0.0, "cell {c} not oriented");
    }
}

#[test]
fn parses_v41() {
    let m = parse(V41, "t.msh").unwrap();
    assert_eq!((m.gdim, m.cell_type, m.num_cells()), (2, CellType::Triangle, 2));
    assert_eq!(m.num_points(), 4);
    assert_eq!(m.points[0], [0.0, 1.0, 0.0]); // tag 40 came first
    assert_eq!(m.cell_tags, vec![7, 7]);
    assert_eq!(m.num_facets(), 4);
    assert_eq!(m.facet_tags, vec![1, 2, 2, 2]);
    assert_eq!(m.facet(0), &[0, 1]);
    assert_eq!(m.names.len(), 3);
    assert_eq!(m.tag_of(1, "rest of boundary"), Some(2));
    assert_eq!(m.name_of(2, 7), "domain");
    assert!(m.grid.is_none());
    // Element 6 was written clockwise and must have been flipped.
    assert_eq!(m.cell(1), &[1, 2, 0]);
    assert_oriented(&m);
}

#[test]
fn parses_v22() {
    let m = parse(V22, "t.msh").unwrap();
    assert_eq!((m.gdim, m.num_cells(), m.num_points()), (2, 2, 4));
    assert_eq!(m.cell_tags, vec![5, 5]); // the copy of element 7 (tag 6) is dropped
                                         // Element 8 repeats line 2 under physical 4: the first copy's tag 3 wins.
    assert_eq!(m.facet_tags, vec![3, 3, 3, 0]);
    assert_eq!(m.tag_of(1, "boundary"), Some(3));
    assert_eq!(m.cell(0), &[0, 1, 2]); // was 1 3 2, clockwise
    assert_oriented(&m);
}

#[test]
fn tetrahedra_are_oriented_and_3d() {
    let text = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n1 0 0 0\n2 1 0 0\n3 0 1 0\n\
                4 0 0 1\n$EndNodes\n$Elements\n2\n1 4 2 9 1 1 3 2 4\n2 2 2 4 1 1 2 3\n$EndElements\n";
    let m = parse(text, "t.msh").unwrap();
    assert_eq!((m.gdim, m.cell_type, m.num_facets()), (3, CellType::Tetrahedron, 1));
    assert_eq!((m.cell_tags[0], m.facet_tags[0]), (9, 4));
    assert_oriented(&m);
}

#[test]
fn truncated_file() {
    let cut = V41.find("1 1 0\n1 0 0").unwrap();
    fails(&V41[..cut], &["end of file while reading coordinate (line 27)"]);
    fails(&V22.replace("$EndElements\n", ""), &["missing $EndElements"]);
    fails(
        &V22.replace("\n9\n", "\n10\n"),
        &["fewer entries than announced", "line 27"],
    );
    fails(
        &V22.replace("\n9\n", "\n8\n"),
        &["expected $EndElements, found '9'", "(line 26)"],
    );
    // No input may panic: parse every prefix of both samples.
    for text in [V41, V22] {
        for i in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = parse(&text[..i], "t.msh");
        }
    }
}

#[test]
fn rejects_other_versions_and_binary() {
    for v in ["4.0", "4", "3.0", "1.0"] {
        fails(
            &V41.replace("4.1 0 8", &format!("{v} 0 8")),
            &[&format!("MSH version {v} ")],
        );
    }
    fails(&V41.replace("4.1 0 8", "4.1 1 8"), &["binary MSH file given as text"]);
    fails(
        &V22.replace("$Nodes", "$ParametricNodes"),
        &["$ParametricNodes", "-save_parametric"],
    );
    fails("hello\n", &["expected a section header"]);
    fails("", &["no $MeshFormat"]);
}

#[test]
fn rejects_unknown_element_type() {
    let quad = V22.replace("7 2 2 5 1 1 3 4", "7 3 2 5 1 1 2 3 4");
    fails(&quad, &["element type 3 (4-node quadrangle)", "(line 24)"]);
    fails(
        &V41.replace("2 1 2 2", "2 1 16 2"),
        &["element type 16 (second-order quadrangle)", "(line 39)"],
    );
}

#[test]
fn rejects_undefined_node() {
    let text = V41.replace("3 20 30", "3 20 99");
    fails(&text, &["element 3 references undefined node 99 (line 37)"]);
}

#[test]
fn rejects_garbage_numbers() {
    fails(
        &V22.replace("3 1 1 0", "3 1 1.x 0"),
        &["invalid coordinate '1.x' (line 13)"],
    );
    fails(
        &V41.replace("2 1 0 4", "2 1 0 four"),
        &["invalid number of nodes in block 'four'"],
    );
    fails(&V22.replace("2 1 0 0", "2 nan 0 0"), &["non-finite"]);
}

/// V22 with its four nodes moved to `nodes` (one `tag x y z` line each).
fn v22_at(nodes: &str) -> String {
    V22.replace("1 0 0 0\n2 1 0 0\n3 1 1 0\n4 0 1 0\n", nodes)
}

#[test]
fn surface_mesh_in_3d_is_refused() {
    // The boundary of a tetrahedron: four triangles, not flat.
    let text = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n1 0 0 0\n2 1 0 0\n3 0 1 0\n\
                4 0 0 1\n$EndNodes\n$Elements\n4\n1 2 0 1 2 3\n2 2 0 1 2 4\n3 2 0 1 3 4\n\
                4 2 0 2 3 4\n$EndElements\n";
    let e = parse(text, "t.msh").unwrap_err().to_string();
    let want = "mesh t.msh: triangles are not in one plane z = const (z from 0 to 1): ddkit reads \
                2D meshes in the xy-plane; this looks like the surface mesh of a 3D geometry \
                (mesh the volume with gmsh -3)";
    assert_eq!(e, want);
    fails(
        &v22_at("1 0 0 0\n2 0 1 0\n3 0 1 1\n4 0 0 1\n"),
        &["not in one plane", "they lie in the plane x = 0 (rotate"],
    );
    fails(
        &v22_at("1 0 0 0\n2 1 0 1\n3 1 1 1\n4 0 1 0\n"),
        &["not in one plane", "tilted plane with normal ("],
    );
    // A wobble far above rounding but far below the mesh size is still a tilt.
    fails(
        &v22_at("1 0 0 0\n2 1 0 0\n3 1 1 1e-6\n4 0 1 0\n"),
        &["z from 0 to 0.000001"],
    );
}

#[test]
fn flat_mesh_off_z0_is_read_in_the_xy_plane() {
    let flat = parse(V22, "t.msh").unwrap();
    for nodes in [
        "1 0 0 0.5\n2 1 0 0.5\n3 1 1 0.5\n4 0 1 0.5\n",
        // Rounding noise in z and an unused node elsewhere do not count.
        "1 0 0 -1e-13\n2 1 0 1e-13\n3 1 1 0\n4 0 1 0\n5 0 0 7\n",
    ] {
        let text = v22_at(nodes).replace("$Nodes\n4\n", &format!("$Nodes\n{}\n", nodes.lines().count()));
        let m = parse(&text, "t.msh").unwrap();
        assert_eq!((m.gdim, &m.cells, &m.facets), (2, &flat.cells, &flat.facets));
        assert!(m.points.iter().all(|p| p[2] == 0.0));
        assert_eq!(m.points[..4], flat.points[..]);
    }
}

#[test]
fn quoted_content_is_escaped_and_short() {
    assert_eq!(quote("$Nodes"), "$Nodes");
    assert_eq!(quote("a\tb\u{e9}\u{1b}"), r"a\tb\u{e9}\u{1b}");
    assert_eq!(quote(b"x\x89\xffy"), r"x\x89\xffy");
    assert_eq!(quote("0123456789".repeat(5)), "01234567890123456789012345678901...");
    assert_eq!(quote([0xffu8; 20]), format!("{}...", r"\xff".repeat(8)));
    fails(
        "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n\u{7}\u{1b}[2Jgarbage\n",
        &[r"found '\u{7}\u{1b}[2Jgarbage'"],
    );
}

#[test]
fn rejects_mesh_without_cells() {
    let text = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n2\n1 0 0 0\n2 1 0 0\n\
                $EndNodes\n$Elements\n1\n1 1 0 1 2\n$EndElements\n";
    fails(text, &["no triangles or tetrahedra"]);
}

/// Every committed mesh parses, is oriented, has no unused nodes, and its boundary and region
/// tags carry the names the `.geo` gave them.
#[test]
fn committed_meshes() {
    let square = ("left bottom right top", "domain");
    let cases = [
        ("unit_square", 2, square),
        ("unit_square_v22", 2, square),
        ("lshape", 2, ("boundary", "domain")),
        ("dfg_channel", 2, ("cylinder inflow outflow walls", "fluid")),
        ("two_regions", 2, ("boundary", "left_region right_region")),
        ("box3d", 3, ("xmax xmin ymax ymin zmax zmin", "domain")),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("meshes");
    for (file, dim, (facet_names, cell_names)) in cases {
        let m = read(&dir.join(format!("{file}.msh"))).unwrap();
        assert_eq!((m.gdim, m.cell_type.dim()), (dim, dim), "{file}");
        assert!(m.num_cells() > 0 && m.num_facets() > 0, "{file}");
        let mut used = vec![false; m.num_points()];
        m.cells.iter().for_each(|&v| used[v as usize] = true);
        assert!(used.iter().all(|&u| u), "{file}: unused nodes");
        assert_oriented(&m);
        for (names, d, tags) in [(facet_names, dim - 1, &m.facet_tags), (cell_names, dim, &m.cell_tags)] {
            let mut seen: Vec<String> = tags.iter().map(|&t| m.name_of(d, t)).collect();
            seen.sort();
            seen.dedup();
            let mut want: Vec<&str> = names.split(' ').collect();
            want.sort();
            assert_eq!(seen, want, "{file}");
        }
    }
    let (a, b) = (
        read(&dir.join("unit_square.msh")).unwrap(),
        read(&dir.join("unit_square_v22.msh")).unwrap(),
    );
    assert_eq!((a.num_cells(), a.num_facets()), (b.num_cells(), b.num_facets()));
    let r = read(&dir.join("two_regions.msh")).unwrap();
    assert_eq!(
        (r.tag_of(2, "left_region"), r.tag_of(2, "right_region")),
        (Some(1), Some(2))
    );
}

/// A negatively oriented quadratic cell is turned around with its edge nodes: each still sits
/// at the midpoint of the edge its position names (ddkit's order: 01 12 20, then 03 13 23).
#[test]
fn orienting_quadratic_cells_moves_their_edge_nodes() {
    let corners = [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
    for cell_type in [CellType::Triangle6, CellType::Tetrahedron10] {
        let dim = cell_type.dim();
        let mut points: Vec<[f64; 3]> = corners[..=dim].to_vec();
        let mut cell: Vec<u32> = (0..=dim as u32).collect();
        for e in CellType::simplex_edges(dim) {
            let (a, b) = (points[e[0]], points[e[1]]);
            cell.push(points.len() as u32);
            points.push(std::array::from_fn(|k| 0.5 * (a[k] + b[k])));
        }
        assert!(signed_measure(&points, &cell[..=dim]) < 0.0);
        orient(&points, &mut cell, cell_type).unwrap();
        assert!(signed_measure(&points, &cell[..=dim]) > 0.0);
        for (k, e) in CellType::simplex_edges(dim).iter().enumerate() {
            let (a, b, m) = (
                points[cell[e[0]] as usize],
                points[cell[e[1]] as usize],
                points[cell[dim + 1 + k] as usize],
            );
            assert!((0..3).all(|d| m[d] == 0.5 * (a[d] + b[d])), "{cell_type:?} edge {k}");
        }
    }
}

#[test]
fn rejects_mixed_orders() {
    // A 3-node line (type 8) beside 2-node lines: one file holds one order.
    let text = V41.replace("1 2 1 3\n2 10 20", "1 2 8 1\n2 10 20 30");
    fails(&text, &["element 2 has 3 nodes", "one order", "(line 36)"]);
}

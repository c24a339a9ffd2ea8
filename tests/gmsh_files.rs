//! Gmsh files as people hand them over: binary and ASCII encodings of one mesh give the same
//! answer on any rank count, surface meshes of 3D geometries are refused by every command, and
//! garbage never reaches the terminal raw. Meshes are generated at test time with the `gmsh`
//! CLI; where it is not installed the tests that need it say so and return.
mod common;
use common::{fails_with, mpirun, poisson_report, scratch};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs `gmsh ARGS -o DIR/NAME` and returns the output path; `None` when gmsh is not installed.
fn gmsh(dir: &Path, name: &str, args: &[&str]) -> Option<String> {
    let out = dir.join(name);
    let run = std::process::Command::new("gmsh")
        .args(args)
        .arg("-o")
        .arg(&out)
        .current_dir(common::root())
        .output();
    match run {
        Ok(o) => assert!(
            o.status.success(),
            "gmsh {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => {
            eprintln!("gmsh is not installed: test skipped");
            return None;
        }
    }
    Some(out.to_str().expect("UTF-8 path").to_string())
}

/// Writes a `.geo` source into `dir` and returns its path.
fn geo(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write .geo");
    p
}

/// The unknowns and the L2 error of `ddkit poisson` on `mesh`, solved far below the
/// discretization error so that rank counts and encodings can be compared to 1e-12.
fn poisson_on(np: usize, mesh: &str, dir: &Path, tag: &str) -> (u64, f64) {
    let r = poisson_report(np, &["--mesh", mesh], &["--rtol", "1e-13"], dir, tag);
    assert_eq!(r["stats"]["reason"], "converged", "{tag}");
    let unknowns = r["unknowns"].as_u64().expect("unknowns");
    (unknowns, r["error"]["l2"].as_f64().expect("l2 error"))
}

#[test]
fn binary_and_ascii_files_give_the_same_solution() {
    let dir = scratch("gmsh-encodings");
    let mut results = Vec::new();
    for (name, fmt) in [
        ("a41.msh", &["-format", "msh41"][..]),
        ("a22.msh", &["-format", "msh22"]),
        ("b22.msh", &["-format", "msh22", "-bin"]),
        ("b41.msh", &["-format", "msh41", "-bin"]),
    ] {
        let args = [&["-2", "meshes/unit_square.geo", "-setnumber", "h", "0.08"][..], fmt].concat();
        let Some(mesh) = gmsh(&dir, name, &args) else {
            return;
        };
        for np in [1, 2] {
            results.push((
                format!("{name} on {np}"),
                poisson_on(np, &mesh, &dir, &format!("{name}-{np}")),
            ));
        }
    }
    let (unknowns, l2) = results[0].1;
    // A few hundred cells (h = 0.08 gives about 400): a real mesh, not a toy, and still quick.
    assert!((150..400).contains(&unknowns), "{unknowns} unknowns");
    assert!(l2 > 0.0 && l2 < 1e-2, "L2 error {l2}");
    for (what, (n, e)) in &results {
        assert_eq!(*n, unknowns, "{what}");
        assert!((e - l2).abs() <= 1e-12 * l2, "{what}: L2 error {e} vs {l2}");
    }
}

#[test]
fn surface_meshes_of_3d_geometries_are_refused() {
    let dir = scratch("gmsh-surfaces");
    let occ = "SetFactory(\"OpenCASCADE\");\n";
    let box_geo = geo(&dir, "box.geo", &format!("{occ}Box(1) = {{0, 0, 0, 1, 1, 1}};\n"));
    let sphere_geo = geo(&dir, "sphere.geo", &format!("{occ}Sphere(1) = {{0, 0, 0, 1}};\n"));
    for (name, g) in [("box.msh", &box_geo), ("sphere.msh", &sphere_geo)] {
        let g = g.to_str().expect("UTF-8 path");
        let Some(mesh) = gmsh(&dir, name, &["-2", g, "-clmax", "0.4", "-format", "msh41"]) else {
            return;
        };
        for cmd in ["heat", "poisson", "partition"] {
            for np in [1, 2] {
                fails_with(np, &[cmd, "--mesh", &mesh], "not in one plane");
            }
        }
    }
}

#[test]
fn flat_meshes_off_the_xy_plane() {
    let dir = scratch("gmsh-planes");
    // The unit square in the plane `axis` = 0.5 (the two other coordinates span the square).
    let square = |axis: &str| {
        let pts: Vec<String> = [(0, 0), (1, 0), (1, 1), (0, 1)]
            .iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let xyz = match axis {
                    "z" => format!("{a}, {b}, 0.5"),
                    _ => format!("0.5, {a}, {b}"),
                };
                format!("Point({}) = {{{xyz}, 0.08}};\n", i + 1)
            })
            .collect();
        format!(
            "{}Line(1) = {{1, 2}}; Line(2) = {{2, 3}}; Line(3) = {{3, 4}}; Line(4) = {{4, 1}};\n\
             Curve Loop(1) = {{1, 2, 3, 4}}; Plane Surface(1) = {{1}};\n",
            pts.concat()
        )
    };
    let z = geo(&dir, "z.geo", &square("z"));
    let Some(at_z) = gmsh(&dir, "z.msh", &["-2", z.to_str().expect("UTF-8"), "-format", "msh41"]) else {
        return;
    };
    // Read as the same square in z = 0: the same answer as the committed geometry at z = 0.
    let flat = gmsh(
        &dir,
        "flat.msh",
        &["-2", "meshes/unit_square.geo", "-setnumber", "h", "0.08"],
    );
    let flat = flat.expect("gmsh ran a moment ago");
    let (n, e) = poisson_on(2, &at_z, &dir, "z");
    let (n0, e0) = poisson_on(2, &flat, &dir, "flat");
    assert_eq!(n, n0);
    assert!((e - e0).abs() <= 1e-12 * e0, "L2 error {e} at z = 0.5, {e0} at z = 0");
    let x = geo(&dir, "x.geo", &square("x"));
    let at_x = gmsh(&dir, "x.msh", &["-2", x.to_str().expect("UTF-8"), "-format", "msh41"]);
    let at_x = at_x.expect("gmsh ran a moment ago");
    fails_with(1, &["poisson", "--mesh", &at_x], "they lie in the plane x = 0.5");
}

/// Runs ddkit expecting failure and returns its single error line (see [`fails_with`]).
fn error_line(np: usize, args: &[&str]) -> String {
    let out = mpirun(np, &common::ddkit(), args, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ddkit: error:")).collect();
    assert_eq!(
        ours.len(),
        1,
        "{args:?}: expected one error line, got {ours:?}\n{stderr}"
    );
    ours[0].to_string()
}

#[test]
fn garbage_gives_one_short_printable_error_line() {
    let dir = scratch("gmsh-garbage");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };
    let ascii = b"$MeshFormat\n4.1 0 8\n$EndMeshFormat\n".as_slice();
    let binary = b"$MeshFormat\n4.1 1 8\n\x01\x00\x00\x00\n$EndMeshFormat\n$Nodes\n".as_slice();
    for (i, header) in [ascii, ascii, ascii, binary, binary].into_iter().enumerate() {
        let path = dir.join(format!("garbage{i}.msh"));
        std::fs::write(&path, [header, &random(4096)].concat()).expect("write");
        let path = path.to_str().expect("UTF-8 path");
        let np = 1 + i % 2;
        let line = error_line(np, &["heat", "--mesh", path]);
        assert!(line.contains(path), "{line}");
        assert!(
            line.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
            "not printable: {line:?}"
        );
        assert!(line.len() < 300, "{} characters: {line}", line.len());
    }
}

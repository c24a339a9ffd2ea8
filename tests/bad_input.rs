//! Bad input: one clear error line from rank 0, a non-zero exit, no panic, and no hang — also
//! when only one rank detects the problem (the partition is computed on rank 0 alone).
mod common;
use common::fails_with;

fn mesh_file(name: &str, text: &str) -> String {
    let dir = common::scratch("bad-meshes");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write mesh");
    p.to_str().expect("utf-8").to_string()
}

const HEADER41: &str = "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n";

#[test]
fn missing_and_malformed_mesh_files() {
    fails_with(2, &["heat", "--mesh", "/nonexistent/mesh.msh"], "No such file");
    let truncated = mesh_file("truncated.msh", &format!("{HEADER41}$Nodes\n1 3 1 3\n2 1 0 3\n1\n2\n"));
    fails_with(2, &["heat", "--mesh", &truncated], "line");
    let version = mesh_file("v3.msh", "$MeshFormat\n3.0 0 8\n$EndMeshFormat\n");
    fails_with(2, &["heat", "--mesh", &version], "unsupported MSH version 3.0");
    // A 2.2 file with a quadrangle (type 3), which ddkit does not read.
    let quad = mesh_file(
        "quad.msh",
        "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n1 0 0 0\n2 1 0 0\n3 1 1 0\n4 0 1 0\n$EndNodes\n$Elements\n1\n1 3 2 1 1 1 2 3 4\n$EndElements\n",
    );
    fails_with(2, &["heat", "--mesh", &quad], "element type 3");
    let badref = mesh_file(
        "badref.msh",
        "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n3\n1 0 0 0\n2 1 0 0\n3 0 1 0\n$EndNodes\n$Elements\n1\n1 2 2 1 1 1 2 9\n$EndElements\n",
    );
    fails_with(2, &["heat", "--mesh", &badref], "undefined node 9");
}

#[test]
fn more_parts_than_cells() {
    // Detected on rank 0 only (it runs the partitioner): all ranks must still stop.
    fails_with(4, &["heat", "--grid", "2x1"], "more parts (4) than cells (2)");
    fails_with(
        1,
        &["partition", "--grid", "3x3", "--parts", "10"],
        "more parts (10) than cells (9)",
    );
    fails_with(
        2,
        &["partition", "--mesh", "meshes/unit_square.msh", "--parts", "0"],
        "must be positive",
    );
}

#[test]
fn bad_physical_parameters() {
    fails_with(2, &["heat", "--grid", "8x8", "--kappa", "0"], "kappa must be positive");
    fails_with(2, &["heat", "--grid", "8x8", "--kappa", "-1"], "kappa must be positive");
    fails_with(2, &["heat", "--grid", "8x8", "--dt", "0"], "dt must be positive");
    fails_with(2, &["heat", "--grid", "8x8", "--dt", "-1e-3"], "dt must be positive");
    fails_with(2, &["heat", "--grid", "8x8", "--dt", "0.01"], "unstable");
    fails_with(2, &["heat", "--grid", "8x8", "--steps", "0"], "at least 1");
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--bc", "xmin=robin:-1"],
        "must be a finite number >= 0",
    );
    fails_with(2, &["heat", "--grid", "8x8", "--bc", "xmin=robin"], "robin:ALPHA");
    let regions = common::root().join("meshes/two_regions.msh");
    let regions = regions.to_str().unwrap();
    fails_with(
        2,
        &[
            "poisson",
            "--mesh",
            regions,
            "--exact",
            "none",
            "--kappa-region",
            "nowhere=2",
        ],
        "no cell region named 'nowhere' in the mesh (regions: left_region, right_region)",
    );
    fails_with(
        2,
        &["poisson", "--mesh", regions, "--kappa-region", "left_region=2"],
        "needs --exact none",
    );
    fails_with(
        2,
        &[
            "poisson",
            "--mesh",
            regions,
            "--exact",
            "none",
            "--kappa-region",
            "left_region=0",
        ],
        "must be positive",
    );
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--exact", "none", "--kappa-region", "a=2"],
        "(regions: none)",
    );
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--mass", "consistent"],
        "--mass consistent needs implicit P1",
    );
    fails_with(2, &["heat", "--grid", "8x8", "--mass", "diagonal"], "--mass 'diagonal'");
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--t-final", "1", "--steps", "3"],
        "stability limit",
    );
}

#[test]
fn unwritable_output_directory() {
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--out", "/proc/ddkit-cannot-write-here"],
        "/proc/ddkit-cannot-write-here",
    );
    let dir = common::scratch("out-is-file");
    let file = dir.join("plain-file");
    std::fs::write(&file, "x").expect("write");
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--out", file.to_str().unwrap()],
        "plain-file",
    );
}

#[test]
fn bad_options_and_config() {
    fails_with(2, &["heat", "--grid", "8"], "--grid '8'");
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--mesh", "meshes/unit_square.msh"],
        "not both",
    );
    fails_with(2, &["heat"], "no mesh");
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--bc", "top=neumann"],
        "no boundary named 'top'",
    );
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--partitioner", "scotch"],
        "unknown partitioner",
    );
    fails_with(
        2,
        &["heat", "--mesh", "meshes/unit_square.msh", "--discretization", "fd"],
        "structured grid",
    );
    fails_with(2, &["heat", "--grid", "8x8", "--no-such-flag"], "--no-such-flag");
    let dir = common::scratch("bad-config");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "grid = \"8x8\"\nkapa = 2.0\n").expect("write");
    fails_with(2, &["heat", "--config", cfg.to_str().unwrap()], "unknown field `kapa`");
    // The shared option groups (problem, solver) are keys of both commands' configs, and a typo
    // in one of them is caught too; a wrong type names the line.
    let typo = dir.join("typo.toml");
    std::fs::write(&typo, "grid = \"8x8\"\nsubdomain-per-rank = 2\n").expect("write");
    fails_with(
        2,
        &["poisson", "--config", typo.to_str().unwrap()],
        "unknown field `subdomain-per-rank`",
    );
    let typed = dir.join("typed.toml");
    std::fs::write(&typed, "grid = 8\n").expect("write");
    fails_with(2, &["poisson", "--config", typed.to_str().unwrap()], "line 1");
    let heat_solver = dir.join("heat-solver.toml");
    std::fs::write(
        &heat_solver,
        "grid = \"16x16\"\nscheme = \"be\"\nt-final = 0.01\nsteps = 2\nsolver = \"cg-asm\"\noverlap = 2\n\
         coarse = \"nicolaides\"\nsubdomains-per-rank = 2\n",
    )
    .expect("write");
    common::ddkit_ok(2, &["heat", "--config", heat_solver.to_str().unwrap()]);
    fails_with(2, &["heat", "--config", "/nonexistent.toml"], "/nonexistent.toml");
    // Implicit steps refuse CG with a non-symmetric preconditioner once, before the time loop.
    let preset = dir.join("cg-ras.toml");
    std::fs::write(&preset, "krylov.method = \"cg\"\npc.type = \"ras\"\n").expect("write");
    fails_with(
        2,
        &[
            "heat",
            "--grid",
            "8x8",
            "--scheme",
            "be",
            "--t-final",
            "0.1",
            "--solver",
            preset.to_str().unwrap(),
        ],
        "CG needs a symmetric preconditioner",
    );
    fails_with(
        2,
        &["heat", "--grid", "8x8", "--scheme", "cn"],
        "implicit time stepping needs --dt or --t-final",
    );
}

#[test]
fn config_file_and_flags_share_keys_and_flags_win() {
    let dir = common::scratch("config");
    let cfg = dir.join("heat.toml");
    std::fs::write(
        &cfg,
        "grid = \"10x10\"\nkappa = 0.5\nsteps = 7\nbc = [\"xmin=neumann\"]\nprogress = false\n",
    )
    .expect("write");
    let report = dir.join("r.json");
    common::ddkit_ok(
        2,
        &[
            "heat",
            "--config",
            cfg.to_str().unwrap(),
            "--steps",
            "3",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["kappa"], 0.5);
    assert_eq!(r["steps"], 3);
    assert_eq!(r["cells"], 100);
}

#[test]
fn help_is_complete() {
    for cmd in ["heat", "partition"] {
        let out = std::process::Command::new(common::ddkit())
            .args([cmd, "--help"])
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        let flags: &[&str] = if cmd == "heat" {
            &[
                "--grid",
                "--mesh",
                "--steps",
                "--dt",
                "--t-final",
                "--out",
                "--report",
                "--partitioner",
                "--config",
                "--kappa",
                "--snapshot-every",
                "--bc",
                "--no-overlap",
            ]
        } else {
            &["--mesh", "--grid", "--parts", "--partitioner", "--report", "--config"]
        };
        for f in flags {
            assert!(text.contains(f), "{cmd} --help lacks {f}");
        }
    }
}

#[test]
fn partition_command_reports_quality() {
    let dir = common::scratch("partition");
    let report = dir.join("p.json");
    let out = common::ddkit_ok(
        2,
        &[
            "partition",
            "--mesh",
            "meshes/dfg_channel.msh",
            "--parts",
            "8",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("edge cut") && out.contains("imbalance") && out.contains("neighbours"),
        "{out}"
    );
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["parts"], 8);
    let sizes: Vec<u64> = r["cells_per_part"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), r["cells"].as_u64().unwrap());
    assert!(r["imbalance"].as_f64().unwrap() < 1.1);
    assert!(r["edge_cut"].as_u64().unwrap() > 0);
}

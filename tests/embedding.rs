//! ddkit inside a host's MPI: `split_comm` initializes MPI itself, splits the world in two halves
//! and runs one ddkit Poisson solve per half at once; each half must give exactly what the
//! `ddkit` binary gives for the same problem on as many ranks, and write its own HDF5 output.
mod common;
use common::{example, last_field_by_mesh_id, mpirun, poisson_report, rel_diff, scratch};
use std::collections::HashMap;
use std::time::Duration;

/// The two halves' problems, as `ddkit poisson` options.
const HALVES: [&[&str]; 2] = [
    &["--grid", "32x32", "--solver", "cg-asm"],
    &["--mesh", "meshes/unit_square.msh", "--solver", "cg-nicolaides"],
];

/// The `key=value` fields of the line of `stdout` that starts with `prefix`.
fn fields(stdout: &str, prefix: &str) -> HashMap<String, String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{stdout}"));
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs `split_comm` on `np` ranks and checks each half against `ddkit poisson` on `np / 2`.
fn halves_match_standalone(np: usize) {
    let dir = scratch(&format!("embedding-{np}"));
    let out = dir.join("split");
    let mut args = vec![out.to_str().expect("UTF-8 path")];
    args.extend_from_slice(HALVES[0]);
    args.push("--half1");
    args.extend_from_slice(HALVES[1]);
    let run = mpirun(np, &example("split_comm"), &args, Duration::from_secs(240));
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "split_comm on {np} ranks failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Comm::init inside the host: the whole world, and MPI left to the host.
    let world = fields(&stdout, "world ");
    assert_eq!(world["ranks"], np.to_string());
    assert_eq!(world["owns_mpi"], "false");

    for (half, problem) in HALVES.iter().enumerate() {
        let got = fields(&stdout, &format!("half={half} "));
        let reference_out = dir.join(format!("reference{half}"));
        let reference = poisson_report(
            np / 2,
            problem,
            &["--out", reference_out.to_str().expect("UTF-8 path")],
            &dir,
            &format!("reference{half}"),
        );
        assert_eq!(got["reason"], "Converged", "half {half}: {got:?}");
        assert_eq!(got["ranks"], (np / 2).to_string(), "half {half}");
        assert_eq!(got["unknowns"], reference["unknowns"].to_string(), "half {half}");
        assert_eq!(
            got["iterations"],
            reference["stats"]["iterations"].to_string(),
            "half {half}"
        );
        let l2: f64 = got["l2_error"].parse().expect("l2_error is a number");
        let l2_ref = reference["error"]["l2"].as_f64().expect("reference L2 error");
        assert!(
            (l2 - l2_ref).abs() <= 1e-12 * l2_ref,
            "half {half}: L2 error {l2:e} vs {l2_ref:e} standalone"
        );
        // The half's own output reads back and holds the standalone run's solution.
        let h5 = out.join(format!("half{half}")).join("poisson.h5");
        assert!(h5.with_extension("xdmf").exists(), "{} missing", h5.display());
        assert_eq!(got["output"], h5.with_extension("xdmf").display().to_string());
        let u = last_field_by_mesh_id(&h5, "u");
        let u_ref = last_field_by_mesh_id(&reference_out.join("poisson.h5"), "u");
        assert_eq!(u.len() as u64, reference["unknowns"].as_u64().expect("unknowns"));
        let d = rel_diff(&u_ref, &u);
        assert!(d <= 1e-12, "half {half}: solution differs from standalone by {d:e}");
    }
    common::meshio_reads_every_xdmf(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_solves_on_halves_of_4_ranks_match_standalone_runs() {
    halves_match_standalone(4);
}

#[test]
fn two_solves_on_halves_of_2_ranks_match_standalone_runs() {
    halves_match_standalone(2);
}

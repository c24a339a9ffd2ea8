//! Shared helpers of the integration tests: launching ddkit and the test programs under
//! `mpirun` with a timeout (a hang fails the test instead of stalling CI), and reading results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `ddkit` binary under test.
pub fn ddkit() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ddkit"))
}

/// A test program built from `tests/programs` as an example of the same profile.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target profile directory");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the test programs first (cargo build --release --examples)",
        path.display()
    );
    path
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ddkit-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Runs `program args` on `np` ranks with a timeout; panics if it hangs.
pub fn mpirun(np: usize, program: &Path, args: &[&str], timeout: Duration) -> Output {
    // A session directory of its own for each launch: Open MPI's shared default under /tmp races
    // when tests start several mpiruns at once ("mkdir ... /tmp/ompi.HOST.0: File exists").
    static LAUNCH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = LAUNCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let session = std::env::temp_dir().join(format!("ddkit-mpi-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&session).expect("session directory");
    let out = mpirun_in(np, program, args, timeout, &session);
    let _ = std::fs::remove_dir_all(&session);
    out
}

fn mpirun_in(np: usize, program: &Path, args: &[&str], timeout: Duration, session: &Path) -> Output {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-np", &np.to_string()])
        .arg(program)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .env("OMPI_MCA_orte_tmpdir_base", session)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("mpirun must be installed (openmpi-bin)");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "hang: mpirun -np {np} {} {args:?} did not finish in {timeout:?}\nstdout: {}\nstderr: {}",
                program.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs ddkit on `np` ranks and asserts success; returns stdout.
pub fn ddkit_ok(np: usize, args: &[&str]) -> String {
    let out = mpirun(np, &ddkit(), args, Duration::from_secs(240));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ddkit {args:?} on {np} ranks failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `ddkit ARGS... --report DIR/TAG.json` on `np` ranks (`args` starts with the command),
/// asserts success and returns the parsed report.
pub fn ddkit_report(np: usize, args: &[&str], dir: &Path, tag: &str) -> serde_json::Value {
    let report = dir.join(format!("{tag}.json"));
    let mut all = args.to_vec();
    all.extend_from_slice(&["--report", report.to_str().expect("utf-8 path")]);
    ddkit_ok(np, &all);
    let text = std::fs::read_to_string(&report).expect("report written");
    serde_json::from_str(&text).expect("report is JSON")
}

/// Runs `ddkit heat` with a report and returns the parsed report.
pub fn heat_report(np: usize, args: &[&str], dir: &Path, tag: &str) -> serde_json::Value {
    ddkit_report(np, &[&["heat", "--progress", "false"][..], args].concat(), dir, tag)
}

/// The last snapshot of field `name` in an HDF5 output, reordered by the input mesh's own ids
/// (the `mesh_id` static field), so runs with different partitions can be compared.
pub fn last_field_by_mesh_id(h5: &Path, name: &str) -> Vec<f64> {
    let f = hdf5::File::open(h5).expect("open output");
    let group = f.group(&format!("fields/{name}")).expect("field group");
    // `/times` is the registry of snapshots (src/io/output.rs): the last one is len - 1.
    let times: Vec<f64> = f.dataset("times").expect("times").read_raw().expect("read");
    let last = times.len().checked_sub(1).expect("a snapshot");
    let u: Vec<f64> = group
        .dataset(&last.to_string())
        .expect("dataset")
        .read_raw()
        .expect("read");
    let ids: Vec<f64> = f.dataset("static/mesh_id").expect("mesh_id").read_raw().expect("read");
    let mut out = vec![f64::NAN; u.len()];
    for (v, id) in u.iter().zip(&ids) {
        out[*id as usize] = *v;
    }
    out
}

/// Largest difference relative to the largest magnitude.
pub fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Runs ddkit on `np` ranks expecting failure with `needle` in the error line: exit status 1
/// (ddkit's own for every error, argument errors included), exactly one `ddkit: error:` line and
/// no other `error:` line, no panic, no hang. Returns stderr.
pub fn fails_with(np: usize, args: &[&str], needle: &str) -> String {
    let out = mpirun(np, &ddkit(), args, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail with status 1; stderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{args:?} panicked: {stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("error:")),
        "{args:?}: an error line without the ddkit prefix\n{stderr}"
    );
    let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ddkit: error:")).collect();
    assert_eq!(
        ours.len(),
        1,
        "{args:?}: expected exactly one error line (rank 0 speaks), got {ours:?}\n{stderr}"
    );
    assert!(
        ours[0].contains(needle),
        "{args:?}: error line {:?} lacks {needle:?}",
        ours[0]
    );
    stderr
}

/// Runs `ddkit poisson FIXED... --report DIR/TAG.json ARGS...` on `np` ranks, asserts success
/// and returns the report.
pub fn poisson_report(np: usize, fixed: &[&str], args: &[&str], dir: &Path, tag: &str) -> serde_json::Value {
    let report = dir.join(format!("{tag}.json"));
    let mut all = vec!["poisson"];
    all.extend_from_slice(fixed);
    all.extend_from_slice(&["--report", report.to_str().expect("UTF-8 path")]);
    all.extend_from_slice(args);
    ddkit_ok(np, &all);
    serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json")
}

/// Observed orders `log2(e_k / e_{k+1})` of errors on grids halved in turn.
pub fn orders(errors: &[f64]) -> Vec<f64> {
    errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// The processes whose parent is `parent` and whose name starts with `name` (the kernel keeps
/// 15 characters of it): the ranks under an `mpirun`. Open MPI gives each rank its own process
/// group, so a test that kills ranks must find them here rather than signal mpirun's group.
pub fn child_processes(parent: u32, name: &str) -> Vec<u32> {
    let short: String = name.chars().take(15).collect();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = tail.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && head.ends_with(&format!("({short}")) {
            out.extend(head.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

/// Reads every `.xdmf` below `dir` with meshio (`tests/py/read_every_xdmf.py`: time series step
/// by step, every field finite and of the right length) and panics if one does not open or no
/// file is there; returns the number of files.
pub fn meshio_reads_every_xdmf(dir: &Path) -> usize {
    let out = Command::new("/usr/bin/python3")
        .arg(root().join("tests/py/read_every_xdmf.py"))
        .arg(dir)
        .output()
        .expect("Debian python3 with meshio");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("read_every_xdmf: OK"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split("files ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("file count printed")
}

/// Runs the test program `name` (from `tests/programs`) on `np` ranks and asserts that it
/// succeeded and printed `NAME: OK`; returns that line for [`number`].
pub fn check_ok(np: usize, name: &str, args: &[&str]) -> String {
    let out = mpirun(np, &example(name), args, Duration::from_secs(180));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let marker = format!("{name}: OK");
    assert!(
        out.status.success() && text.contains(&marker),
        "np={np} {name} {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find(|l| l.contains(&marker))
        .unwrap_or_default()
        .to_string()
}

/// The number printed after the word `key` in `line` (`... key 42 ...`).
pub fn number(line: &str, key: &str) -> f64 {
    line.split_whitespace()
        .skip_while(|w| *w != key)
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number after {key} in {line}"))
}

/// Starts `mpirun -np 2 ddkit ARGS` in the background (its own Open MPI session directory).
pub fn spawn_two_ranks(args: &[&str], dir: &Path) -> std::process::Child {
    let session = dir.join("ompi-session");
    std::fs::create_dir_all(&session).expect("session dir");
    std::process::Command::new("mpirun")
        .args(["--oversubscribe", "-np", "2"])
        .arg(ddkit())
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .env("OMPI_MCA_orte_tmpdir_base", &session)
        .current_dir(root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun must be installed (openmpi-bin)")
}

/// Waits for `file` to appear while `child` (an `mpirun` of two ranks) runs, then kills both
/// ranks at once (SIGKILL, as a scheduler ending a job does), or only the first when
/// `only_one` (a node failing: mpirun must end the other), and reaps mpirun.
pub fn kill_after(mut child: std::process::Child, file: &Path, only_one: bool) {
    let start = std::time::Instant::now();
    while !file.exists() {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut err);
            panic!("the run ended ({status}) before writing {}: {err}", file.display());
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no checkpoint after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let mut ranks = child_processes(child.id(), "ddkit");
    assert_eq!(ranks.len(), 2, "rank processes of mpirun {}: {ranks:?}", child.id());
    if only_one {
        ranks.truncate(1);
    }
    let status = std::process::Command::new("kill")
        .arg("-KILL")
        .args(ranks.iter().map(u32::to_string))
        .status()
        .expect("kill");
    assert!(status.success(), "kill {ranks:?}");
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("mpirun did not exit after its ranks were killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

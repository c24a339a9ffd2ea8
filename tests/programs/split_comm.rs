//! ddkit inside a host's MPI: this program plays the host. It initializes MPI itself, checks that
//! `Comm::init` now works inside it (and leaves MPI to it), splits the world in two halves (ranks
//! `0..n/2` and `n/2..n`) and runs two independent Poisson solves at once, one per half, each on a
//! `Comm` built from its half's communicator. Before the solves the host leaves messages pending
//! on its half communicator with ddkit's halo tags; they must still be there, intact, afterwards:
//! ddkit works on a duplicate, so its halo receives cannot take them.
//!
//! ```text
//! mpirun -np 4 target/release/examples/split_comm OUT_DIR [HALF0 ARGS...] [--half1 HALF1 ARGS...]
//! ```
//! The half arguments are `ddkit poisson` options (without `--out`: half `k` writes to
//! `OUT_DIR/halfK`); by default half 0 solves FD on a 32x32 grid with `cg-asm` and half 1 P1 on
//! `meshes/unit_square.msh` with `cg-nicolaides`. Rank 0 of the world prints `world ranks=N
//! owns_mpi=false`, rank 0 of each half prints one line `half=K ranks=.. unknowns=..
//! reason=.. iterations=.. l2_error=.. output=..`.

use clap::Parser;
use ddkit::cli::{poisson_params, PoissonArgs};
use ddkit::comm::Comm;
use ddkit::{Error, Result};
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The default problems of the two halves.
const HALF0: &[&str] = &["--grid", "32x32", "--solver", "cg-asm"];
const HALF1: &[&str] = &["--mesh", "meshes/unit_square.msh", "--solver", "cg-nicolaides"];

/// The tags of ddkit's halo exchanges: decoys with these tags are what a halo receive on a
/// shared communicator would take.
const DECOY_TAGS: [i32; 2] = [ddkit::comm::TAG_FORWARD, ddkit::comm::TAG_REVERSE];

/// `ddkit poisson`'s options, parsed here exactly as the binary parses them.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    poisson: PoissonArgs,
}

/// The command line: the output directory and each half's arguments.
fn command_line() -> Result<(PathBuf, [Vec<String>; 2])> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .map(PathBuf::from)
        .ok_or_else(|| Error::input("usage: split_comm OUT_DIR [HALF0 ARGS...] [--half1 HALF1 ARGS...]"))?;
    let rest: Vec<String> = args.collect();
    let (h0, h1) = match rest.iter().position(|a| a == "--half1") {
        Some(i) => (rest[..i].to_vec(), rest[i + 1..].to_vec()),
        None => (rest, Vec::new()),
    };
    let or_default = |v: Vec<String>, d: &[&str]| {
        if v.is_empty() {
            d.iter().map(|s| s.to_string()).collect()
        } else {
            v
        }
    };
    Ok((out, [or_default(h0, HALF0), or_default(h1, HALF1)]))
}

/// Collective over the half: solves the half's problem on `comm` and prints its line.
fn solve_half(comm: &Comm, half: usize, args: &[String], out: &Path) -> Result<()> {
    let argv = std::iter::once("split_comm".to_string()).chain(args.iter().cloned());
    let mut parsed = Args::try_parse_from(argv)
        .map_err(|e| Error::input(format!("half {half}: {e}")))?
        .poisson;
    parsed.out = Some(out.join(format!("half{half}")));
    let params = comm.agree(poisson_params(parsed))?.params;
    let s = ddkit::problems::poisson::run(comm, &params)?;
    if comm.is_root() {
        let l2 = s.error.as_ref().map_or(f64::NAN, |e| e.l2);
        let output = s.output.as_ref().map_or(String::new(), |p| p.display().to_string());
        println!(
            "half={half} ranks={} unknowns={} reason={:?} iterations={} l2_error={l2:e} output={output}",
            s.ranks, s.unknowns, s.stats.reason, s.stats.iterations
        );
    }
    Ok(())
}

/// Collective over the half: leaves decoy messages pending on the host's `half` communicator,
/// runs `work`, then receives the decoys and checks that nothing took or changed them.
fn with_decoys(half: &SimpleCommunicator, work: impl FnOnce() -> Result<()>) -> Result<()> {
    let (r, n) = (half.rank(), half.size());
    let (next, prev) = ((r + 1) % n, (r + n - 1) % n);
    // NaN payloads: a halo receive that took one would also spoil the solution.
    let decoy = [f64::NAN, r as f64, f64::NAN];
    mpi::request::scope(|scope| {
        let to = half.process_at_rank(next);
        let sends: Vec<_> = DECOY_TAGS
            .iter()
            .map(|&t| to.immediate_send_with_tag(scope, &decoy[..], t))
            .collect();
        let worked = work();
        let from = half.process_at_rank(prev);
        let mut intact = true;
        for &t in &DECOY_TAGS {
            let mut got = [0.0f64; 3];
            from.receive_into_with_tag(&mut got[..], t);
            intact &= got[0].is_nan() && got[1] == prev as f64 && got[2].is_nan();
        }
        for s in sends {
            s.wait();
        }
        worked?;
        if intact {
            Ok(())
        } else {
            Err(Error::input(
                "the host's pending messages were altered during the ddkit solve",
            ))
        }
    })
}

fn run(world: &Comm, out: &Path, halves: &[Vec<String>; 2]) -> Result<()> {
    let n = world.size();
    if n < 2 {
        return Err(Error::input("split_comm needs at least 2 ranks (one per half)"));
    }
    // The host's split, on the host's own world (not ddkit's duplicate).
    let host_world = SimpleCommunicator::world();
    let half = usize::from(host_world.rank() >= n / 2);
    let half_comm = host_world
        .split_by_color(Color::with_value(half as i32))
        .ok_or_else(|| Error::input("MPI_Comm_split gave no communicator"))?;
    let comm = Comm::with_communicator(&half_comm)?;
    let solved = with_decoys(&half_comm, || {
        let r = solve_half(&comm, half, &halves[half], out);
        comm.agree(r)
    });
    // Each half agreed on its own; this makes both halves exit alike.
    world.agree(solved)
}

fn main() -> ExitCode {
    // The host owns MPI; it finalizes it by dropping `universe`.
    let Some(universe) = mpi::initialize() else {
        eprintln!("split_comm: MPI was already initialized");
        return ExitCode::FAILURE;
    };
    ddkit::linalg::init_sequential();
    let world = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("split_comm: Comm::init inside the host failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if world.is_root() {
        println!("world ranks={} owns_mpi={}", world.size(), world.owns_mpi());
    }
    let r = command_line().and_then(|(out, halves)| run(&world, &out, &halves));
    let code = match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if world.is_root() {
                eprintln!("split_comm: error: {e}");
            }
            ExitCode::FAILURE
        }
    };
    // The careless host: MPI finalized while a Comm is still alive. Dropping it afterwards must
    // not call MPI (which would abort); the half Comms were dropped in the right order in `run`.
    drop(universe);
    drop(world);
    code
}

//! Test program of the checkpoints, run under `mpirun` by `tests/checkpoint.rs`: writes a
//! checkpoint of known fields on one rank count and reads it back on another, bitwise by mesh
//! id; or writes checkpoints in a loop until it is killed.
//!
//! ```text
//! checkpoint_check write PATH [--grid 8x8] [--disc p2|p1|fd] [--step N] [--stretch] [--tag T]
//! checkpoint_check read  PATH [--grid 8x8] [--disc p2|p1|fd] [--stretch] [--tag T] [--require KEYS]
//!                             [--fields u,v,...]
//! checkpoint_check loop  PATH [--grid 8x8] [--disc p2]
//! ```
//!
//! The fields of step s: `u` (scalar on the mesh's points, or on the cells for FD), `v` (2-vector
//! on the points; not for FD), `c` (cell scalar) and, for P2, `p` (P1 scalar on the corners,
//! Taylor–Hood style); every value is a pseudo-random function of (mesh id, step, field), so
//! `read` checks the values of the step it finds. `--stretch` scales x by 2 (another mesh with
//! the same counts); `--tag` sets an option, which `read --require tag` compares. Rank 0 prints
//! `checkpoint_check: OK ...`, or one line `checkpoint_check: error: ...` on stderr while every
//! other rank prints `checkpoint_check: rank R refused` on stdout (exit 1, every rank).

use ddkit::comm::Comm;
use ddkit::io::checkpoint::check_options;
use ddkit::io::{Checkpoint, CheckpointMesh, FieldSpec, Series, Space};
use ddkit::mesh::{structured::parse_grid, Adjacency, Mesh};
use ddkit::partition::{distribute, LocalMesh, Method};
use ddkit::problems::heat::Discretization;
use ddkit::problems::{prepare, MeshSource, Prepared};
use ddkit::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Parser, Debug)]
struct Args {
    /// write, read or loop.
    mode: String,
    /// The checkpoint file.
    path: PathBuf,
    #[arg(long, default_value = "8x8")]
    grid: String,
    #[arg(long, default_value = "p2")]
    disc: String,
    #[arg(long, default_value_t = 7)]
    step: u64,
    #[arg(long)]
    stretch: bool,
    #[arg(long, default_value = "a")]
    tag: String,
    /// Option keys that must match on `read` (comma-separated).
    #[arg(long, default_value = "")]
    require: String,
    /// Fields asked for on `read` (default: all the discretization writes).
    #[arg(long)]
    fields: Option<String>,
}

/// A reproducible value per (mesh id, salt): the SplitMix64 finalizer mapped to [-0.5, 0.5).
fn value(id: u64, salt: u64) -> f64 {
    let mut z = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64 - 0.5
}

struct Setup {
    p: Prepared,
    disc: Discretization,
    /// For P2: the linear mesh distributed with the same partition (the P1 space).
    p1: Option<(Mesh, LocalMesh)>,
}

fn setup(comm: &Comm, args: &Args) -> Result<Setup> {
    let dims = parse_grid(&args.grid)?;
    let disc = match args.disc.as_str() {
        "fd" => Discretization::Fd,
        "p1" => Discretization::P1,
        "p2" => Discretization::P2,
        d => return Err(Error::input(format!("--disc {d}"))),
    };
    let mut p = prepare(comm, &MeshSource::Grid(dims.clone()), disc, &Method::MetisKway)?;
    if args.stretch {
        for x in &mut p.mesh.points {
            x[0] *= 2.0;
        }
    }
    let p1 = if disc == Discretization::P2 {
        let linear = Mesh::structured(&dims, true)?;
        let lm1 = distribute(
            comm.rank() as usize,
            &linear,
            &p.part,
            &linear.cell_graph(Adjacency::Vertex),
            1,
        )?;
        Some((linear, lm1))
    } else {
        None
    };
    Ok(Setup { p, disc, p1 })
}

impl Setup {
    fn mesh(&self) -> CheckpointMesh<'_> {
        let m = CheckpointMesh::from_local(&self.p.mesh, &self.p.lm);
        match &self.p1 {
            Some((linear, lm1)) => m.with(
                Space::P1,
                linear.num_points() as u64,
                &lm1.point_orig[..lm1.points.n_owned],
            ),
            None => m,
        }
    }

    fn specs(&self) -> Vec<FieldSpec> {
        let point = if self.disc == Discretization::P2 {
            FieldSpec::p2
        } else {
            FieldSpec::p1
        };
        match self.disc {
            Discretization::Fd => vec![FieldSpec::cells("u", 1)],
            Discretization::P1 => vec![point("u", 1), point("v", 2), FieldSpec::cells("c", 1)],
            Discretization::P2 => vec![
                point("u", 1),
                point("v", 2),
                FieldSpec::cells("c", 1),
                FieldSpec::p1("p", 1),
            ],
        }
    }

    /// The values of `spec` at step `step` for this rank's owned entities.
    fn values(&self, spec: &FieldSpec, step: u64) -> Vec<f64> {
        let lm = &self.p.lm;
        let ids: &[u32] = match spec.space {
            Space::Cells => &lm.cell_orig[..lm.cells.n_owned],
            Space::P1 if self.p1.is_some() => {
                let lm1 = &self.p1.as_ref().expect("P2").1;
                &lm1.point_orig[..lm1.points.n_owned]
            }
            _ => &lm.point_orig[..lm.points.n_owned],
        };
        let salt = step * 16 + u64::from(spec.name.as_bytes()[0]);
        ids.iter()
            .flat_map(|&i| (0..spec.components as u64).map(move |k| value(u64::from(i) * 4 + k, salt)))
            .collect()
    }

    fn checkpoint(&self, args: &Args, step: u64) -> Checkpoint {
        Checkpoint {
            step,
            time: 0.1 * step as f64,
            dt_history: (0..step).map(|i| value(i, 99)).collect(),
            options: self.options(args),
            fields: self
                .specs()
                .into_iter()
                .map(|s| {
                    let v = self.values(&s, step);
                    (s, v)
                })
                .collect(),
            // A monitor's table: two columns, one row per step taken.
            series: Some(Series {
                columns: vec!["t".into(), "q".into()],
                rows: (0..step).flat_map(|i| [0.1 * i as f64, value(i, 77)]).collect(),
            }),
        }
    }

    fn options(&self, args: &Args) -> String {
        serde_json::json!({"grid": args.grid, "disc": args.disc, "dt": 0.1, "tag": args.tag}).to_string()
    }
}

fn write(comm: &Comm, args: &Args) -> Result<String> {
    let s = setup(comm, args)?;
    let ck = s.checkpoint(args, args.step);
    ck.write(comm, &args.path, &s.mesh())?;
    Ok(format!("wrote step {} on {} ranks", args.step, comm.size()))
}

fn read(comm: &Comm, args: &Args) -> Result<String> {
    let s = setup(comm, args)?;
    let mut specs = s.specs();
    if let Some(names) = &args.fields {
        let names: Vec<&str> = names.split(',').collect();
        specs.retain(|f| names.contains(&f.name.as_str()));
    }
    let ck = Checkpoint::read(comm, &args.path, &s.mesh(), &specs)?;
    let keys: Vec<&str> = args.require.split(',').filter(|k| !k.is_empty()).collect();
    check_options(&ck.options, &s.options(args), &keys)?;
    let want = s.checkpoint(args, ck.step);
    let mut bad = Vec::new();
    if ck.time.to_bits() != want.time.to_bits() || ck.dt_history != want.dt_history {
        bad.push("time or dt history".to_string());
    }
    if ck.series != want.series {
        bad.push("series".to_string());
    }
    for (spec, v) in &ck.fields {
        let w = s.values(spec, ck.step);
        let same = v.len() == w.len() && v.iter().zip(&w).all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            bad.push(format!("field {} ({} values)", spec.name, v.len()));
        }
    }
    comm.agree(match bad.first() {
        Some(b) => Err(Error::input(format!("rank {}: wrong {b}", comm.rank()))),
        None => Ok(()),
    })?;
    let total: u64 = comm.sum_u64(ck.fields.iter().map(|f| f.1.len() as u64).sum());
    Ok(format!(
        "read step {} on {} ranks: {} fields, {total} values bitwise equal",
        ck.step,
        comm.size(),
        ck.fields.len()
    ))
}

/// Writes checkpoints of steps 0, 1, 2, ... until killed.
fn write_loop(comm: &Comm, args: &Args) -> Result<String> {
    let s = setup(comm, args)?;
    let mesh = s.mesh();
    for step in 0.. {
        s.checkpoint(args, step).write(comm, &args.path, &mesh)?;
    }
    Ok(String::new())
}

fn main() -> ExitCode {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("checkpoint_check: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = <Args as clap::Parser>::try_parse()
        .map_err(|e| Error::input(e.to_string()))
        .and_then(|args| match args.mode.as_str() {
            "write" => write(&comm, &args),
            "read" => read(&comm, &args),
            "loop" => write_loop(&comm, &args),
            m => Err(Error::input(format!("unknown mode '{m}'"))),
        });
    match result {
        Ok(msg) => {
            if comm.is_root() {
                println!("checkpoint_check: OK {msg}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One error line (rank 0 speaks); the others say on stdout that they stopped too.
            if comm.is_root() {
                eprintln!("checkpoint_check: error: {e}");
            } else {
                println!("checkpoint_check: rank {} refused", comm.rank());
            }
            comm.barrier_within(Duration::from_secs(10));
            ExitCode::FAILURE
        }
    }
}

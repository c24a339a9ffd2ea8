//! Demo and test driver for the parallel HDF5/XDMF writer: builds a structured mesh, gives each
//! rank a contiguous block of cells and of points (not a real partition), writes two static
//! fields and a few snapshots of known analytic fields, and finishes.
//!
//! ```text
//! mpirun -np 3 target/release/examples/write_mesh [DIR] [--grid 8x6[x4]] [--steps 3]
//!        [--stem NAME] [--simplices]
//! ```
//!
//! Fields: static `phi = x + y` (points) and `kappa = 1 + xc` (cells, xc the centroid);
//! at snapshot k, time `t = 0.1 k`: `u = sin(pi x) sin(pi y) (1 + z) exp(-t)` (points) and
//! `c = xc + 2 yc + 3 zc + t` (cells). Every value depends only on the global mesh, so the
//! datasets are bitwise identical whatever the number of ranks.

use ddkit::comm::Comm;
use ddkit::io::{Center, OutputMesh, Writer};
use ddkit::mesh::{structured::parse_grid, Mesh};
use ddkit::{Error, Result};
use std::f64::consts::PI;
use std::path::PathBuf;
use std::process::ExitCode;

/// Command-line options.
#[derive(clap::Parser, Debug)]
#[command(about = "Writes a structured mesh and analytic fields through the parallel HDF5/XDMF writer")]
struct Args {
    /// Output directory.
    #[arg(default_value = "out")]
    dir: PathBuf,
    /// Structured grid NXxNY or NXxNYxNZ.
    #[arg(long, default_value = "8x6")]
    grid: String,
    /// Number of snapshots.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// File stem.
    #[arg(long, default_value = "mesh")]
    stem: String,
    /// Split the grid into triangles / tetrahedra.
    #[arg(long)]
    simplices: bool,
    /// Stop without `finish` (an interrupted run must still leave readable files).
    #[arg(long)]
    no_finish: bool,
    /// Give this rank one value too few for a field (a failure on one rank must stop all ranks).
    #[arg(long, value_name = "RANK")]
    short_field: Option<usize>,
}

/// The half-open block `[n r / p, n (r+1) / p)` of `0..n` given to rank `r` of `p`.
fn block(n: usize, r: usize, p: usize) -> std::ops::Range<usize> {
    (n * r / p)..(n * (r + 1) / p)
}

fn run(comm: &Comm) -> Result<()> {
    let args = <Args as clap::Parser>::try_parse().map_err(|e| Error::input(e.to_string()))?;
    let mesh = Mesh::structured(&parse_grid(&args.grid)?, args.simplices)?;
    let (r, p) = (comm.rank() as usize, comm.size() as usize);
    let cells = block(mesh.num_cells(), r, p);
    let points = block(mesh.num_points(), r, p);
    let nv = mesh.cell_type.num_vertices();
    let connectivity: Vec<u64> = mesh.cells[cells.start * nv..cells.end * nv]
        .iter()
        .map(|&v| u64::from(v))
        .collect();
    let out = OutputMesh {
        gdim: mesh.gdim,
        cell_type: mesh.cell_type,
        num_points_global: mesh.num_points() as u64,
        point_offset: points.start as u64,
        points: &mesh.points[points.clone()],
        num_cells_global: mesh.num_cells() as u64,
        cell_offset: cells.start as u64,
        connectivity: &connectivity,
    };
    let mut w = Writer::create(comm, &args.dir, &args.stem, &out)?;

    let xs = &mesh.points[points.clone()];
    let centroids: Vec<[f64; 3]> = cells.clone().map(|c| mesh.centroid(c)).collect();
    let phi: Vec<f64> = xs.iter().map(|x| x[0] + x[1]).collect();
    let kappa: Vec<f64> = centroids.iter().map(|x| 1.0 + x[0]).collect();
    w.write_static(comm, "phi", Center::Point, &phi)?;
    w.write_static(comm, "kappa", Center::Cell, &kappa)?;

    for k in 0..args.steps {
        let t = 0.1 * k as f64;
        let u: Vec<f64> = xs
            .iter()
            .map(|x| (PI * x[0]).sin() * (PI * x[1]).sin() * (1.0 + x[2]) * (-t).exp())
            .collect();
        let u = if k == 0 && args.short_field == Some(r) {
            &u[..u.len().saturating_sub(1)]
        } else {
            &u[..]
        };
        let c: Vec<f64> = centroids.iter().map(|x| x[0] + 2.0 * x[1] + 3.0 * x[2] + t).collect();
        w.write_snapshot(comm, t, &[("u", Center::Point, u), ("c", Center::Cell, &c)])?;
    }
    let (h5, xdmf) = (w.h5_path().to_path_buf(), w.xdmf_path().to_path_buf());
    if args.no_finish {
        drop(w);
    } else {
        w.finish(comm)?;
    }
    if comm.is_root() {
        println!(
            "write_mesh: {} points, {} cells, {} snapshots on {p} ranks -> {} {}",
            mesh.num_points(),
            mesh.num_cells(),
            args.steps,
            h5.display(),
            xdmf.display()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&comm) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every rank reports, to show that all of them learned of the failure.
            // One write per line, so the lines of different ranks do not interleave mid-line.
            let line = format!("write_mesh: rank {}: error: {e}\n", comm.rank());
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            // The error is agreed, so every rank is here: wait until all have printed, or
            // mpirun may kill a rank when the first one exits.
            comm.barrier();
            ExitCode::FAILURE
        }
    }
}

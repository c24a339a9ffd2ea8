//! Test program of the writer's field specifications, run under `mpirun` by
//! `tests/fields_output.rs`: on a P2 mesh (a structured grid split into simplices, elevated,
//! partitioned by METIS and distributed as `problems::setup::prepare` does), writes a P2 vector
//! field beside a P1 scalar and cell fields; continues a series after a "restart"; reads fields
//! back by mesh id on any number of ranks.
//!
//! ```text
//! fields_check write  DIR [--grid 8x8] [--steps 3] [--no-finish]
//! fields_check append DIR [--grid 8x8] --from K [--steps 2]
//! fields_check read   DIR [--grid 8x8] --k K [--range]
//! ```
//!
//! Fields of snapshot k (time `0.25 k`), every value exact in binary on a dyadic grid:
//! `velocity` (P2, gdim components) `= (x + k, y[, z])`; `pressure` (P1 scalar, given at the
//! corners in the P1 numbering) `= x + 2y (+ 3z) + k`; `c` (cell scalar) `= x0 + 2 y0 + k` with
//! `(x0, y0)` the cell's first node; static `corner` (cell vector, gdim components) = the
//! coordinates of the cell's second node. Rank 0 prints `fields_check: OK ...` or one line
//! `fields_check: error: ...` (exit 1, every rank).

use ddkit::comm::Comm;
use ddkit::io::{read_field, Center, FieldSpec, OutputMesh, P1Map, Rows, Writer};
use ddkit::mesh::{structured::parse_grid, Adjacency, Mesh};
use ddkit::partition::{distribute, Method};
use ddkit::problems::heat::Discretization;
use ddkit::problems::{create_writer, prepare, MeshSource, Prepared};
use ddkit::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Parser, Debug)]
struct Args {
    /// write, append or read.
    mode: String,
    /// Output directory (the files are DIR/fields.h5 and .xdmf).
    dir: PathBuf,
    #[arg(long, default_value = "8x8")]
    grid: String,
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// First snapshot index written by `append`.
    #[arg(long, default_value_t = 0)]
    from: usize,
    /// Snapshot read by `read`.
    #[arg(long, default_value_t = 0)]
    k: usize,
    /// `read`: by rows of the file's numbering (same partition) instead of by mesh id.
    #[arg(long)]
    range: bool,
    /// Stop without `finish`, as a killed run would.
    #[arg(long)]
    no_finish: bool,
}

const H5: &str = "fields.h5";

fn time(k: usize) -> f64 {
    0.25 * k as f64
}

fn velocity(x: &[f64; 3], gdim: usize, k: usize) -> Vec<f64> {
    let mut v = x[..gdim].to_vec();
    v[0] += k as f64;
    v
}

fn pressure(x: &[f64; 3], k: usize) -> f64 {
    x[0] + 2.0 * x[1] + 3.0 * x[2] + k as f64
}

/// The P2 set-up of a run, with the P1 values' layout checked against the linear mesh
/// distributed with the same partition.
struct Setup {
    p: Prepared,
    map: P1Map,
    /// Coordinates of this rank's owned P1 nodes, in P1 order.
    p1_points: Vec<[f64; 3]>,
}

fn setup(comm: &Comm, grid: &str) -> Result<Setup> {
    let dims = parse_grid(grid)?;
    let p = prepare(
        comm,
        &MeshSource::Grid(dims.clone()),
        Discretization::P2,
        &Method::MetisKway,
    )?;
    let linear = Mesh::structured(&dims, true)?;
    let lm1 = distribute(
        comm.rank() as usize,
        &linear,
        &p.part,
        &linear.cell_graph(Adjacency::Vertex),
        1,
    )?;
    let map = P1Map::from_elevated(&p.mesh, &p.part, &p.lm)?;
    let n1 = lm1.points.n_owned;
    if map.num_owned != n1 || map.num_global != lm1.points.n_global || (n1 > 0 && map.offset != lm1.points.offset) {
        return Err(Error::input(format!(
            "P1 map {}+{} of {} differs from the linear distribution {}+{n1} of {}",
            map.offset, map.num_owned, map.num_global, lm1.points.offset, lm1.points.n_global
        )));
    }
    let p1_points = lm1.point_orig[..n1]
        .iter()
        .map(|&q| linear.points[q as usize])
        .collect();
    Ok(Setup { p, map, p1_points })
}

/// This rank's snapshot `k`: velocity, pressure and cell values.
fn snapshot(s: &Setup, k: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mesh, lm) = (&s.p.mesh, &s.p.lm);
    let v = lm.point_orig[..lm.points.n_owned]
        .iter()
        .flat_map(|&q| velocity(&mesh.points[q as usize], mesh.gdim, k))
        .collect();
    let p = s.p1_points.iter().map(|x| pressure(x, k)).collect();
    let c = lm.cell_orig[..lm.cells.n_owned]
        .iter()
        .map(|&c| {
            let x = mesh.points[mesh.cell(c as usize)[0] as usize];
            x[0] + 2.0 * x[1] + k as f64
        })
        .collect();
    (v, p, c)
}

fn specs(gdim: usize) -> [FieldSpec; 3] {
    [
        FieldSpec::p2("velocity", gdim),
        FieldSpec::p1("pressure", 1),
        FieldSpec::cells("c", 1),
    ]
}

fn write_series(comm: &Comm, s: &Setup, w: &mut Writer, from: usize, steps: usize) -> Result<()> {
    let [vs, ps, cs] = specs(s.p.mesh.gdim);
    for k in from..from + steps {
        let (v, p, c) = snapshot(s, k);
        w.write_fields(comm, time(k), &[(&vs, &v), (&ps, &p), (&cs, &c)])?;
    }
    Ok(())
}

fn write(comm: &Comm, args: &Args) -> Result<String> {
    let s = setup(comm, &args.grid)?;
    let (mesh, lm) = (&s.p.mesh, &s.p.lm);
    let mut w = create_writer(comm, mesh, lm, &args.dir, "fields", Center::Point)?;
    w.set_p1_map(comm, &s.map)?;
    let corner: Vec<f64> = lm.cell_orig[..lm.cells.n_owned]
        .iter()
        .flat_map(|&c| mesh.points[mesh.cell(c as usize)[1] as usize][..mesh.gdim].to_vec())
        .collect();
    w.write_static_field(comm, &FieldSpec::cells("corner", mesh.gdim), &corner)?;
    write_series(comm, &s, &mut w, 0, args.steps)?;
    let n = w.num_snapshots();
    if args.no_finish {
        drop(w);
    } else {
        w.finish(comm)?;
    }
    Ok(format!(
        "wrote {n} snapshots of {} P2 points, {} P1 nodes, {} cells",
        lm.points.n_global, s.map.num_global, lm.cells.n_global
    ))
}

fn append(comm: &Comm, args: &Args) -> Result<String> {
    let s = setup(comm, &args.grid)?;
    let (mesh, lm) = (&s.p.mesh, &s.p.lm);
    let points: Vec<[f64; 3]> = lm.point_orig[..lm.points.n_owned]
        .iter()
        .map(|&q| mesh.points[q as usize])
        .collect();
    let conn = lm.owned_connectivity_global();
    let om = OutputMesh {
        gdim: mesh.gdim,
        cell_type: mesh.cell_type,
        num_points_global: lm.points.n_global,
        point_offset: lm.points.offset,
        points: &points,
        num_cells_global: lm.cells.n_global,
        cell_offset: lm.cells.offset,
        connectivity: &conn,
    };
    let mut w = Writer::reopen(comm, &args.dir.join(H5), &om)?;
    if w.num_snapshots() != args.from {
        return Err(Error::input(format!(
            "reopened with {} snapshots, expected {}",
            w.num_snapshots(),
            args.from
        )));
    }
    w.set_p1_map(comm, &s.map)?;
    write_series(comm, &s, &mut w, args.from, args.steps)?;
    let n = w.num_snapshots();
    w.finish(comm)?;
    Ok(format!("appended up to {n} snapshots"))
}

fn read(comm: &Comm, args: &Args) -> Result<String> {
    let s = setup(comm, &args.grid)?;
    let (mesh, lm) = (&s.p.mesh, &s.p.lm);
    let owned = &lm.point_orig[..lm.points.n_owned];
    let rows = if args.range {
        Rows::Range {
            offset: lm.points.offset,
            count: lm.points.n_owned,
        }
    } else {
        Rows::MeshIds(owned)
    };
    let h5 = args.dir.join(H5);
    let k = args.k;
    let (vspec, v) = read_field(comm, &h5, "velocity", Some(k), rows)?;
    let (pspec, p) = read_field(comm, &h5, "pressure", Some(k), rows)?;
    let [vs, ps, _] = specs(mesh.gdim);
    let mut bad = Vec::new();
    if vspec != vs || pspec != ps {
        bad.push(format!("specs {vspec:?} {pspec:?}"));
    }
    for (i, &q) in owned.iter().enumerate() {
        let x = &mesh.points[q as usize];
        let want = velocity(x, mesh.gdim, k);
        let got = v.get(i * mesh.gdim..(i + 1) * mesh.gdim);
        if got != Some(&want[..]) {
            bad.push(format!("velocity at point {q}: {got:?}, expected {want:?}"));
        }
        if p.get(i) != Some(&pressure(x, k)) {
            bad.push(format!(
                "pressure at point {q}: {:?}, expected {}",
                p.get(i),
                pressure(x, k)
            ));
        }
    }
    let checked = comm.agree(match bad.first() {
        Some(b) => Err(Error::input(format!(
            "rank {}: {} wrong values, first {b}",
            comm.rank(),
            bad.len()
        ))),
        None => Ok(()),
    });
    checked?;
    let how = if args.range { "rows" } else { "mesh id" };
    Ok(format!(
        "read snapshot {k} by {how}: {} P2 points on {} ranks, exact",
        lm.points.n_global,
        comm.size()
    ))
}

fn main() -> ExitCode {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fields_check: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = <Args as clap::Parser>::try_parse()
        .map_err(|e| Error::input(e.to_string()))
        .and_then(|args| match args.mode.as_str() {
            "write" => write(&comm, &args),
            "append" => append(&comm, &args),
            "read" => read(&comm, &args),
            m => Err(Error::input(format!("unknown mode '{m}'"))),
        });
    match result {
        Ok(msg) => {
            if comm.is_root() {
                println!("fields_check: OK {msg}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if comm.is_root() {
                eprintln!("fields_check: error: {e}");
            }
            comm.barrier_within(Duration::from_secs(10));
            ExitCode::FAILURE
        }
    }
}

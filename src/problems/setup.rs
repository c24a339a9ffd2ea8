//! The set-up steps every problem shares: loading the mesh on all ranks with agreed errors,
//! and computing the partition once (on rank 0) for everybody.

use super::heat::Discretization;
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::{Center, OutputMesh, Writer};
use crate::mesh::Adjacency;
use crate::mesh::{gmsh, Graph, Mesh};
use crate::partition::{distribute, LocalMesh, Report};
use crate::partition::{partition, Method, Partition};
use crate::pde::HeatData;
use mpi::traits::*;
use std::path::PathBuf;

/// Where the mesh comes from.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum MeshSource {
    /// A structured unit box with these cell counts.
    Grid(Vec<usize>),
    /// A Gmsh MSH file.
    File(PathBuf),
}

impl std::fmt::Display for MeshSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeshSource::Grid(d) => write!(f, "{}", d.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("x")),
            MeshSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Collective: every rank builds or reads the (replicated) mesh; a failure anywhere is an error
/// everywhere. `simplices` splits structured grids into triangles / tetrahedra.
pub fn load_mesh(comm: &Comm, source: &MeshSource, simplices: bool) -> Result<Mesh> {
    if let MeshSource::Grid(dims) = source {
        // Every rank holds the whole mesh today: refuse a grid whose mesh alone (points, cells,
        // tags and facet dual graph: a lower bound of what set-up allocates) cannot fit,
        // before allocating it. (Set-up memory O(local) is a later step.)
        let cells: f64 = dims.iter().map(|&n| n as f64).product();
        let d = dims.len() as f64;
        let per_cell = 24.0 + 4.0 * 2f64.powf(d) + 4.0 + 4.0 * 2.0 * d + 8.0;
        crate::limits::check_memory(
            comm,
            &format!("the (replicated) mesh of --grid {source}"),
            cells * per_cell,
        )?;
    }
    let m = match source {
        MeshSource::Grid(dims) => Mesh::structured(dims, simplices),
        MeshSource::File(path) => gmsh::read(path),
    };
    comm.agree(m)
}

/// Collective: rank 0 partitions (METIS is run once, so every rank uses the same parts) and
/// broadcasts the result; errors reach every rank.
pub fn partition_collective(
    comm: &Comm,
    mesh: &Mesh,
    dual: &Graph,
    n_parts: usize,
    method: &Method,
) -> Result<Partition> {
    let mine = if comm.is_root() {
        partition(mesh, dual, n_parts, method)
    } else {
        Ok(Partition {
            parts: vec![0; mesh.num_cells()],
            n_parts,
        })
    };
    let mut p = comm.agree(mine)?;
    comm.world().process_at_rank(0).broadcast_into(&mut p.parts[..]);
    if p.parts.iter().any(|&x| x as usize >= n_parts) {
        return Err(Error::Partition("partitioner returned an out-of-range part".into()));
    }
    Ok(p)
}

/// This rank's owned points and the global connectivity of its owned cells, as the writer
/// takes them ([`OutputMesh`]).
fn owned_output(mesh: &Mesh, lm: &LocalMesh) -> (Vec<[f64; 3]>, Vec<u64>) {
    let points = lm.point_orig[..lm.points.n_owned]
        .iter()
        .map(|&q| mesh.points[q as usize])
        .collect();
    (points, lm.owned_connectivity_global())
}

/// The writer's view of this rank's share of `mesh`, over `owned_output`'s arrays.
fn output_mesh<'a>(mesh: &Mesh, lm: &LocalMesh, points: &'a [[f64; 3]], conn: &'a [u64]) -> OutputMesh<'a> {
    OutputMesh {
        gdim: mesh.gdim,
        cell_type: mesh.cell_type,
        num_points_global: lm.points.n_global,
        point_offset: lm.points.offset,
        points,
        num_cells_global: lm.cells.n_global,
        cell_offset: lm.cells.offset,
        connectivity: conn,
    }
}

/// Collective: creates `DIR/STEM.h5` + `.xdmf` with this rank's owned cells and points, and the
/// static field `mesh_id` — the input mesh's own index of each unknown (cells for `Center::Cell`,
/// points for `Center::Point`; for P2 the elevated mesh's, whose corners keep the input ids and
/// whose edge midpoints follow in sorted-vertex-pair order), so results can be mapped back
/// whatever the partition (the file's order is rank-contiguous).
pub fn create_writer(
    comm: &Comm,
    mesh: &Mesh,
    lm: &LocalMesh,
    dir: &std::path::Path,
    stem: &str,
    center: Center,
) -> Result<Writer> {
    let (points, conn) = owned_output(mesh, lm);
    let mut w = Writer::create(comm, dir, stem, &output_mesh(mesh, lm, &points, &conn))?;
    let orig = match center {
        Center::Cell => &lm.cell_orig[..lm.cells.n_owned],
        Center::Point => &lm.point_orig[..lm.points.n_owned],
    };
    let ids: Vec<f64> = orig.iter().map(|&i| i as f64).collect();
    w.write_static(comm, "mesh_id", center, &ids)?;
    Ok(w)
}

/// Collective: reopens the series `h5` of an earlier run on this mesh and partition, to append
/// to it ([`Writer::reopen`]; its static fields, `mesh_id` among them, are kept).
pub fn reopen_writer(comm: &Comm, mesh: &Mesh, lm: &LocalMesh, h5: &std::path::Path) -> Result<Writer> {
    let (points, conn) = owned_output(mesh, lm);
    Writer::reopen(comm, h5, &output_mesh(mesh, lm, &points, &conn))
}

/// Collective: writes the coefficient as the static cell field `kappa` (one value per owned cell)
/// when it varies per cell, so ParaView shows the channels and regions beside the solution; a
/// uniform κ is a number in the report, and leaving it out keeps those files unchanged.
pub fn write_kappa(comm: &Comm, w: &mut Writer, lm: &LocalMesh, data: &HeatData) -> Result<()> {
    if !data.varies() {
        return Ok(());
    }
    let kappa: Vec<f64> = lm.cell_orig[..lm.cells.n_owned]
        .iter()
        .map(|&c| data.kappa_at(c))
        .collect();
    w.write_static(comm, "kappa", Center::Cell, &kappa)
}

/// Rank 0 warns when the built-in exact solution is used on a mesh reaching outside the unit
/// box: `Π sin(πx_i + π/4)` has a wavelength of 2, so on a large domain the mesh cannot resolve
/// it and the reported errors measure that, not the solver.
pub fn warn_exact_outside_unit_box(comm: &Comm, mesh: &Mesh) {
    if !comm.is_root() {
        return;
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in &mesh.points {
        for d in 0..mesh.gdim {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }
    let tol = 1e-9;
    if (0..mesh.gdim).any(|d| lo[d] < -tol || hi[d] > 1.0 + tol) {
        let spans: Vec<String> = (0..mesh.gdim)
            .map(|d| format!("[{:.3e}, {:.3e}]", lo[d], hi[d]))
            .collect();
        tracing::warn!(
            "the mesh spans {}, beyond the unit box that the built-in exact solution is made for: \
             its errors may say little about the solver here (use --exact none)",
            spans.join(" × ")
        );
    }
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`; 0 where unavailable).
pub fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// What every problem driver sets up first: the mesh, the partition's quality report and this
/// rank's share with one ghost layer (facet neighbours for FD, vertex neighbours for P1 rows).
pub struct Prepared {
    /// The replicated mesh (structured grids are split into simplices for P1 and P2; quadratic
    /// cells for P2).
    pub mesh: Mesh,
    /// Partition quality.
    pub report: Report,
    /// This rank's owned and ghost entities.
    pub lm: LocalMesh,
    /// The partition of the (linear) mesh's cells, which also numbers the unknowns
    /// ([`crate::partition::point_numbering`]).
    pub part: Partition,
}

/// Collective: loads the mesh, partitions it on rank 0 and distributes it. FD requires a
/// structured grid of quadrilaterals / hexahedra. For P2 the partitioned mesh is elevated to
/// quadratic cells before the distribution (cells keep their order, so the partition and the
/// vertex graph of the linear mesh still apply), which makes every node an unknown with an owner.
pub fn prepare(comm: &Comm, source: &MeshSource, disc: Discretization, method: &Method) -> Result<Prepared> {
    let fd = disc == Discretization::Fd;
    let mesh = load_mesh(comm, source, !fd)?;
    if fd && mesh.grid.as_ref().is_none_or(|g| g.cells_per_grid_cell != 1) {
        return Err(Error::input(
            "finite differences need a structured grid (--grid); use --discretization p1 with --mesh",
        ));
    }
    // P1 runs on the corners of a second-order file; P2 keeps its curved edge nodes.
    let mesh = match disc {
        Discretization::P2 => mesh,
        _ => mesh.linear(),
    };
    let dual = mesh.cell_graph(Adjacency::Facet);
    let part = partition_collective(comm, &mesh, &dual, comm.size() as usize, method)?;
    let report = part.report(&dual);
    let vertex = (!fd).then(|| mesh.cell_graph(Adjacency::Vertex));
    let mesh = match disc {
        Discretization::P2 => comm.agree(mesh.elevate())?,
        _ => mesh,
    };
    let lm = comm.agree(distribute(
        comm.rank() as usize,
        &mesh,
        &part,
        vertex.as_ref().unwrap_or(&dual),
        1,
    ))?;
    Ok(Prepared { mesh, report, lm, part })
}

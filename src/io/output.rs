//! Parallel HDF5 + XDMF output: one `.h5` file per run written collectively by all ranks through
//! MPI-IO, and a `.xdmf` file beside it describing the time series.
//!
//! Layout of the HDF5 file (global numbering; each rank writes the rows it owns):
//!
//! | path                  | type | shape         | contents                                     |
//! |-----------------------|------|---------------|----------------------------------------------|
//! | `/mesh/geometry`      | f64  | `N × gdim`    | point coordinates                            |
//! | `/mesh/topology`      | i64  | `M × nv`      | cell nodes (global point ids; XDMF node order) |
//! | `/static/rank`        | i32  | `M`           | owning rank of each cell                     |
//! | `/static/NAME`        | f64  | `N`, `M` (×3) | fields constant in time ([`Writer::write_static_field`]) |
//! | `/fields/NAME/K`      | f64  | `N`, `M` (×3) | field NAME at snapshot K (attribute `time`)  |
//! | `/times`              | f64  | `K`           | the time of every snapshot, in order         |
//!
//! A scalar is a 1-D dataset; a vector (2 or 3 components) is `N × 3` (2D vectors padded with
//! z = 0), shown by ParaView as a vector (XDMF `AttributeType="Vector"`). Every `/fields/NAME`
//! group and `/static/NAME` dataset carries its [`FieldSpec`] as attributes `center` (`point` /
//! `cell`), `space` (`cells` / `p1` / `p2`) and `components`, which [`Writer::reopen`] reads.
//!
//! Quadratic cells (P2) are written with the XDMF topologies `Triangle_6` / `Tetrahedron_10`
//! (VTK node order), their edge midpoints among the points; meshio reads them back as
//! `triangle6` / `tetra10` in the tests. A P1 field beside P2 fields (a Taylor–Hood pressure) is
//! written on every P2 node, edge midpoints interpolated linearly ([`Writer::set_p1_map`]).
//!
//! The XDMF file is a temporal collection with one uniform grid per snapshot; every grid refers
//! to the same `/mesh` datasets and to its own `/fields/NAME/K` datasets, plus all static fields.
//!
//! # Interrupted runs
//!
//! `/times` is the registry of snapshots: a reader takes `len(/times)` snapshots, and every
//! `/fields/NAME/K` with `K < len(/times)` exists and is complete. A run killed at any point
//! outside the few metadata writes of one HDF5 flush leaves a file that obeys this rule, with
//! exactly one `/fields/NAME/K` per registered snapshot and none beyond, and an XDMF that lists
//! either the registered snapshots or, when killed between the HDF5 flush and the XDMF update,
//! all but the last one (never a snapshot that is not registered). A kill inside those writes
//! (tens of µs per snapshot; HDF5 1.10 keeps no journal) can leave a file that does not open,
//! or whose group link index, rewritten in place, lost links that `/times` registers.
//!
//! This holds because a snapshot is registered in one step: its field datasets are created and
//! written, `/times` is extended, and only then is the file flushed, once (one `MPI_File_sync`).
//! HDF5 keeps the metadata of the new objects (links, object headers, the extent of `/times`)
//! in its cache until the flush; only raw data reach the file before it, in space that nothing
//! refers to yet. Measured with `strace` on the MPI-IO driver: no metadata is written before the
//! flush up to 900 fields in one snapshot (about 1.3 KiB of metadata per field); from about 1200
//! fields the cache, which keeps part of its 2 MiB clean, writes some early.
//!
//! The XDMF is brought up to date by rank 0 after the flush, by an append that stays well-formed
//! at every byte or by a rewrite beside the file and a rename (module `xdmf`). A run killed
//! inside [`Writer::create`] may leave an empty XDMF.
//!
//! A restarted run continues the series with [`Writer::reopen`], which keeps every registered
//! snapshot and deletes whatever lies beyond them; [`read_field`] reads a snapshot back.
//!
//! None of this covers a crash of the machine, which may lose writes out of order.

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::h5::{
    check_name, h5_error, new_dataset, same_everywhere, to_usize, write_attr, write_attr_str, write_rows, Fnv,
};
use crate::mesh::CellType;
use hdf5::{File, Location};
use mpi::traits::*;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use xdmf::XdmfFile;

mod checks;
mod fields;
mod reopen;
mod xdmf;

pub use fields::{Center, FieldSpec, P1Map, Space};
pub use reopen::{read_field, Rows};

use checks::{check_mesh_across, check_mesh_local};
use fields::P1Plan;

/// What this rank contributes of the mesh: its owned points and owned cells, each a contiguous
/// block of the global numbering starting at the given offset.
#[derive(Clone, Copy, Debug)]
pub struct OutputMesh<'a> {
    /// Geometric dimension, 2 or 3: the number of coordinate columns written (XDMF XY or XYZ).
    pub gdim: usize,
    /// The cell type of every cell.
    pub cell_type: CellType,
    /// Number of points over all ranks.
    pub num_points_global: u64,
    /// First global point id owned by this rank.
    pub point_offset: u64,
    /// Owned points, global ids `point_offset..` in order (only the first `gdim` coordinates are
    /// written).
    pub points: &'a [[f64; 3]],
    /// Number of cells over all ranks.
    pub num_cells_global: u64,
    /// First global cell id owned by this rank.
    pub cell_offset: u64,
    /// Owned cells, `cell_type.num_vertices()` GLOBAL point ids per cell, in global cell order.
    pub connectivity: &'a [u64],
}

/// A static field as recorded for the XDMF: its spec as written (a P1 field on a P2 grid is on
/// the points) and whether it is the i32 rank field.
#[derive(Clone, Debug)]
struct StaticField {
    spec: FieldSpec,
    int32: bool,
}

/// One snapshot as recorded for the XDMF: its time and the names of its fields.
#[derive(Clone, Debug)]
struct Step {
    time: f64,
    fields: Vec<String>,
}

/// The run's output files: a collectively written HDF5 file and its XDMF description, for
/// writing the mesh once and fields at any number of time steps.
pub struct Writer {
    file: Option<File>,
    h5_path: PathBuf,
    xdmf_path: PathBuf,
    /// File name of the `.h5` as the XDMF refers to it (same directory).
    h5_name: String,
    gdim: usize,
    cell_type: CellType,
    num_points_global: u64,
    num_cells_global: u64,
    point_offset: u64,
    cell_offset: u64,
    num_points_local: usize,
    num_cells_local: usize,
    /// The P1-on-P2 plan, once [`Writer::set_p1_map`] gave the map.
    p1: Option<P1Plan>,
    statics: Vec<StaticField>,
    /// Spec of every time-dependent field written so far (a name keeps its spec).
    dynamic: Vec<FieldSpec>,
    steps: Vec<Step>,
    /// Rank 0: the XDMF file on disk, appended to in place or rewritten.
    xdmf: XdmfFile,
}

/// The reserved name of the owning-rank cell field.
const RANK_FIELD: &str = "rank";

impl Writer {
    /// Collective: creates DIR (if needed) and DIR/STEM.h5, writes `/mesh/geometry`
    /// (N×gdim f64), `/mesh/topology` (M×nv i64) and the cell field `rank` (owning rank, i32),
    /// every rank writing its own hyperslab with collective MPI-IO transfers, and writes
    /// DIR/STEM.xdmf.
    ///
    /// `stem` may contain ASCII letters, digits and `_-+.` (not starting with `.`). An
    /// inconsistent mesh description (blocks that do not tile the global ranges, connectivity
    /// of the wrong length or out of range) or an unwritable directory gives the same error on
    /// every rank.
    pub fn create(comm: &Comm, dir: &Path, stem: &str, mesh: &OutputMesh) -> Result<Writer> {
        let h5_name = format!("{stem}.h5");
        let h5_path = dir.join(&h5_name);
        let xdmf_path = dir.join(format!("{stem}.xdmf"));

        // 1. Validate the arguments, locally and against the other ranks.
        let local = check_name(stem, "file stem").and_then(|()| check_mesh_local(mesh));
        let across = check_mesh_across(comm, mesh);
        comm.agree(local.and(across))?;

        // 2. Rank 0 creates the directory and probes that both files can be created, so a bad
        //    path is reported as a plain I/O error with the path instead of an MPI-IO failure.
        let prepared = if comm.is_root() {
            prepare(dir, &h5_path, &xdmf_path)
        } else {
            Ok(())
        };
        comm.agree(prepared)?;

        // 3. Collective file creation through MPI-IO.
        let raw = comm.world().as_raw();
        let file = File::with_options().with_fapl(|p| p.mpio(raw, None)).create(&h5_path);
        let file = comm.agree(file.map_err(|e| h5_error(&h5_path, "cannot create", e)))?;

        let mut w = Writer::with_file(file, h5_path, h5_name, mesh);
        // 4. The mesh datasets and the rank field.
        let written = w.write_mesh(comm, mesh);
        comm.agree(written)?;
        w.update_xdmf(comm, false)?;
        Ok(w)
    }

    /// The writer of an open file for `mesh`, with only the rank field recorded.
    fn with_file(file: File, h5_path: PathBuf, h5_name: String, mesh: &OutputMesh) -> Writer {
        let xdmf_path = h5_path.with_extension("xdmf");
        Writer {
            file: Some(file),
            h5_path,
            xdmf_path: xdmf_path.clone(),
            h5_name,
            gdim: mesh.gdim,
            cell_type: mesh.cell_type,
            num_points_global: mesh.num_points_global,
            num_cells_global: mesh.num_cells_global,
            point_offset: mesh.point_offset,
            cell_offset: mesh.cell_offset,
            num_points_local: mesh.points.len(),
            num_cells_local: mesh.connectivity.len() / mesh.cell_type.num_vertices(),
            p1: None,
            statics: vec![StaticField {
                spec: FieldSpec::cells(RANK_FIELD, 1),
                int32: true,
            }],
            dynamic: Vec::new(),
            steps: Vec::new(),
            xdmf: XdmfFile::new(xdmf_path),
        }
    }

    /// Collective: gives a writer on a P2 mesh the relation of its points to the P1 numbering
    /// ([`P1Map::from_elevated`]), so that fields of [`Space::P1`] can be written beside P2
    /// fields; sets up, once, the exchange that fetches the corner values owned elsewhere.
    pub fn set_p1_map(&mut self, comm: &Comm, map: &P1Map) -> Result<()> {
        let local = if self.cell_type.degree() == 2 {
            Ok(())
        } else {
            Err(Error::Output(format!(
                "{}: a P1 map is for a P2 mesh, not {:?} cells",
                self.h5_path.display(),
                self.cell_type
            )))
        };
        comm.agree(local)?;
        self.p1 = Some(P1Plan::new(comm, map, self.num_points_local)?);
        Ok(())
    }

    /// Collective: writes a scalar field constant in time (e.g. a coefficient) to
    /// `/static/NAME`; it is shown at every time step. `values` are this rank's owned entries
    /// (points or cells).
    pub fn write_static(&mut self, comm: &Comm, name: &str, center: Center, values: &[f64]) -> Result<()> {
        let spec = self.scalar_spec(name, center);
        self.write_static_field(comm, &spec, values)
    }

    /// Collective: writes a field constant in time, scalar or vector, to `/static/NAME`; it is
    /// shown at every time step. `values` are this rank's owned entries of the field's space,
    /// `spec.components` per entry.
    pub fn write_static_field(&mut self, comm: &Comm, spec: &FieldSpec, values: &[f64]) -> Result<()> {
        let local = self
            .check_field(comm, spec, values.len())
            .and_then(|()| self.check_unused(&spec.name, true));
        let mut h = Fnv::new();
        spec.hash_into(&mut h);
        let across = self.check_same(comm, "write_static_field", h.0);
        comm.agree(local.and(across))?;

        let path = format!("static/{}", spec.name);
        let values = self.on_grid(comm, spec, values);
        let written = self
            .write_field(&path, spec, &values, None)
            .and_then(|()| self.flush(&format!("writing /{path}")));
        comm.agree(written)?;
        self.statics.push(StaticField {
            spec: spec.clone(),
            int32: false,
        });
        // Earlier grids must show the new field too.
        self.xdmf.invalidate();
        self.update_xdmf(comm, false)
    }

    /// Collective: writes one snapshot at time `time` of several scalar fields to
    /// `/fields/NAME/K` (K = number of earlier snapshots) and appends it to the XDMF series;
    /// values are this rank's owned entries (points or cells). A field keeps the center it was
    /// first written with; fields may differ between snapshots.
    pub fn write_snapshot(&mut self, comm: &Comm, time: f64, fields: &[(&str, Center, &[f64])]) -> Result<()> {
        let specs: Vec<FieldSpec> = fields.iter().map(|&(n, c, _)| self.scalar_spec(n, c)).collect();
        let with: Vec<(&FieldSpec, &[f64])> = specs.iter().zip(fields).map(|(s, f)| (s, f.2)).collect();
        self.write_fields(comm, time, &with)
    }

    /// Collective: writes one snapshot at time `time` of several fields, scalar or vector, to
    /// `/fields/NAME/K` (K = number of earlier snapshots) and appends it to the XDMF series.
    /// `values` are this rank's owned entries of each field's space, `components` per entry
    /// (a P1 field on a P2 mesh: its owned P1 nodes, see [`Writer::set_p1_map`]). A field keeps
    /// the spec it was first written with; fields may differ between snapshots.
    pub fn write_fields(&mut self, comm: &Comm, time: f64, fields: &[(&FieldSpec, &[f64])]) -> Result<()> {
        let k = self.steps.len();
        let mut h = Fnv::new();
        h.u64(time.to_bits());
        let mut local = if time.is_finite() {
            Ok(())
        } else {
            Err(Error::Output(format!(
                "{}: snapshot time {time} is not finite",
                self.h5_path.display()
            )))
        };
        for (i, &(spec, values)) in fields.iter().enumerate() {
            spec.hash_into(&mut h);
            let repeated = fields[..i].iter().any(|f| f.0.name == spec.name);
            h.u64(u64::from(repeated));
            if local.is_ok() {
                local = self
                    .check_field(comm, spec, values.len())
                    .and_then(|()| self.check_unused(&spec.name, false))
                    .and_then(|()| self.check_spec(spec));
                if local.is_ok() && repeated {
                    local = Err(Error::Output(format!(
                        "{}: field '{}' given twice in one snapshot",
                        self.h5_path.display(),
                        spec.name
                    )));
                }
            }
        }
        let across = self.check_same(comm, "write_fields", h.0);
        comm.agree(local.and(across))?;

        let on_grid: Vec<Cow<[f64]>> = fields.iter().map(|&(s, v)| self.on_grid(comm, s, v)).collect();
        let with: Vec<(&FieldSpec, &[f64])> = fields.iter().zip(&on_grid).map(|(f, v)| (f.0, &v[..])).collect();
        let written = self.write_step(comm, k, time, &with);
        comm.agree(written)?;
        for &(spec, _) in fields {
            if !self.dynamic.iter().any(|d| d.name == spec.name) {
                self.dynamic.push(spec.clone());
            }
        }
        self.steps.push(Step {
            time,
            fields: fields.iter().map(|f| f.0.name.clone()).collect(),
        });
        self.update_xdmf(comm, false)
    }

    /// Path of the HDF5 file written.
    pub fn h5_path(&self) -> &Path {
        &self.h5_path
    }

    /// Path of the XDMF file written.
    pub fn xdmf_path(&self) -> &Path {
        &self.xdmf_path
    }

    /// Number of snapshots written so far (after [`Writer::reopen`], those of the earlier run
    /// included).
    pub fn num_snapshots(&self) -> usize {
        self.steps.len()
    }

    /// The time of every snapshot written so far.
    pub fn times(&self) -> Vec<f64> {
        self.steps.iter().map(|s| s.time).collect()
    }

    /// Collective: closes the HDF5 file and writes the final XDMF (rank 0 writes the XML).
    pub fn finish(mut self, comm: &Comm) -> Result<()> {
        let closed = match self.file.take() {
            Some(f) => f.close().map_err(|e| h5_error(&self.h5_path, "cannot close", e)),
            None => Ok(()),
        };
        comm.agree(closed)?;
        self.update_xdmf(comm, true)
    }

    // ---- collective HDF5 writes (errors are agreed on by the callers) ----

    fn file(&self) -> Result<&File> {
        self.file
            .as_ref()
            .ok_or_else(|| Error::Output(format!("{}: file already closed", self.h5_path.display())))
    }

    fn write_mesh(&self, comm: &Comm, mesh: &OutputMesh) -> Result<()> {
        let ctx = |e| h5_error(&self.h5_path, "writing the mesh", e);
        let file = self.file()?;
        let nv = self.cell_type.num_vertices();
        let (np, nc) = (to_usize(self.num_points_global)?, to_usize(self.num_cells_global)?);
        for g in ["mesh", "static", "fields"] {
            file.create_group(g).map_err(ctx)?;
        }

        let geometry: Vec<f64> = mesh
            .points
            .iter()
            .flat_map(|p| p[..self.gdim].iter().copied())
            .collect();
        let ds = new_dataset::<f64>(file, "mesh/geometry", &[np, self.gdim]).map_err(ctx)?;
        write_rows(&ds, self.point_offset, mesh.points.len(), &geometry).map_err(ctx)?;

        // Ids were checked to be below num_points_global, which fits in i64.
        let topology: Vec<i64> = mesh.connectivity.iter().map(|&v| v as i64).collect();
        let ds = new_dataset::<i64>(file, "mesh/topology", &[nc, nv]).map_err(ctx)?;
        write_rows(&ds, self.cell_offset, self.num_cells_local, &topology).map_err(ctx)?;

        let ranks = vec![comm.rank(); self.num_cells_local];
        let ds = new_dataset::<i32>(file, "static/rank", &[nc]).map_err(ctx)?;
        write_rows(&ds, self.cell_offset, self.num_cells_local, &ranks).map_err(ctx)?;

        let times = file
            .new_dataset::<f64>()
            .chunk(64)
            .shape(0..)
            .create("times")
            .map_err(ctx)?;
        drop((ds, times));
        file.flush().map_err(ctx)
    }

    /// Flushes the file: the one point where new objects become visible in it (see the module
    /// docs), and an `MPI_File_sync`, so the costly part of a snapshot.
    fn flush(&self, what: &str) -> Result<()> {
        self.file()?.flush().map_err(|e| h5_error(&self.h5_path, what, e))
    }

    /// Collective: `values` of `spec` as written on the grid: a P1 field on a P2 mesh
    /// interpolated to every P2 point, vectors padded to 3 components.
    fn on_grid<'v>(&self, comm: &Comm, spec: &FieldSpec, values: &'v [f64]) -> Cow<'v, [f64]> {
        let c = spec.components;
        let values: Cow<[f64]> = match (&self.p1, self.needs_p1(spec)) {
            (Some(plan), true) => Cow::Owned(plan.interpolate(comm, values, c)),
            _ => Cow::Borrowed(values),
        };
        if c == 1 || c == 3 {
            return values;
        }
        let mut padded = Vec::with_capacity(values.len() / c * 3);
        for v in values.chunks_exact(c) {
            padded.extend_from_slice(v);
            padded.extend(std::iter::repeat_n(0.0, 3 - c));
        }
        Cow::Owned(padded)
    }

    /// Creates `path` as a f64 dataset of the global size for `spec` (`N` for a scalar,
    /// `N × 3` for a vector), writes this rank's owned block of `values` (already on the grid),
    /// and records the spec as attributes; with `time`, attaches it as the attribute `time`.
    /// Does not flush.
    fn write_field(&self, path: &str, spec: &FieldSpec, values: &[f64], time: Option<f64>) -> Result<()> {
        let ctx = |e| h5_error(&self.h5_path, &format!("writing /{path}"), e);
        let file = self.file()?;
        let (n, offset, rows) = match spec.center {
            Center::Point => (self.num_points_global, self.point_offset, self.num_points_local),
            Center::Cell => (self.num_cells_global, self.cell_offset, self.num_cells_local),
        };
        let n = to_usize(n)?;
        let shape: &[usize] = if spec.components == 1 { &[n] } else { &[n, 3] };
        let ds = new_dataset::<f64>(file, path, shape).map_err(ctx)?;
        write_rows(&ds, offset, rows, values).map_err(ctx)?;
        if let Some(t) = time {
            write_attr(&ds, "time", &t).map_err(ctx)?;
        } else {
            write_spec_attrs(&ds, spec).map_err(ctx)?;
        }
        Ok(())
    }

    /// Registers snapshot `k` in one step: every field dataset, then `/times`, then a single
    /// flush, so that a run killed before the flush leaves none of the snapshot in the file and
    /// one killed after it leaves all of it (module docs). A flush per dataset would expose
    /// datasets that `/times` does not list yet.
    fn write_step(&self, comm: &Comm, k: usize, time: f64, fields: &[(&FieldSpec, &[f64])]) -> Result<()> {
        let what = format!("writing snapshot {k}");
        let ctx = |e| h5_error(&self.h5_path, &what, e);
        let file = self.file()?;
        for &(spec, values) in fields {
            if !self.dynamic.iter().any(|d| d.name == spec.name) {
                let g = file.create_group(&format!("fields/{}", spec.name)).map_err(ctx)?;
                write_spec_attrs(&g, spec).map_err(ctx)?;
            }
            self.write_field(&format!("fields/{}/{k}", spec.name), spec, values, Some(time))?;
        }
        let times = file.dataset("times").map_err(ctx)?;
        times.resize([k + 1]).map_err(ctx)?;
        let mine: &[f64] = if comm.is_root() { &[time] } else { &[] };
        write_rows(&times, k as u64, mine.len(), mine).map_err(ctx)?;
        drop(times);
        self.flush(&what)
    }

    // ---- argument checks (local; the callers agree on them) ----

    /// The spec of a scalar of the old interface: the mesh's own point space, or the cells.
    fn scalar_spec(&self, name: &str, center: Center) -> FieldSpec {
        match center {
            Center::Cell => FieldSpec::cells(name, 1),
            Center::Point if self.cell_type.degree() == 2 => FieldSpec::p2(name, 1),
            Center::Point => FieldSpec::p1(name, 1),
        }
    }

    /// Whether `spec` is a P1 field on this writer's P2 mesh.
    fn needs_p1(&self, spec: &FieldSpec) -> bool {
        spec.space == Space::P1 && self.cell_type.degree() == 2
    }

    /// The spec is valid, fits the mesh, and `len` values are this rank's share.
    fn check_field(&self, comm: &Comm, spec: &FieldSpec, len: usize) -> Result<()> {
        let err = |msg: String| Err(Error::Output(format!("{}: {msg}", self.h5_path.display())));
        if let Err(e) = spec.validate() {
            return err(e.to_string().trim_start_matches("output: ").to_string());
        }
        let (owned, what) = match spec.space {
            Space::Cells => (self.num_cells_local, "cells"),
            Space::P2 if self.cell_type.degree() != 2 => {
                return err(format!(
                    "field '{}' is P2 but the mesh has linear {:?} cells",
                    spec.name, self.cell_type
                ))
            }
            Space::P1 if self.needs_p1(spec) => match &self.p1 {
                Some(plan) => (plan.num_owned, "P1 nodes"),
                None => {
                    return err(format!(
                        "P1 field '{}' on a P2 mesh needs the P1 map (Writer::set_p1_map)",
                        spec.name
                    ))
                }
            },
            Space::P1 | Space::P2 => (self.num_points_local, "points"),
        };
        let want = owned * spec.components;
        if len != want {
            return err(format!(
                "field '{}' has {len} values on rank {}, which owns {owned} {what} ({} per entry)",
                spec.name,
                comm.rank(),
                spec.components
            ));
        }
        Ok(())
    }

    fn check_unused(&self, name: &str, is_static: bool) -> Result<()> {
        let clash = self.statics.iter().any(|s| s.spec.name == name)
            || (is_static && self.dynamic.iter().any(|d| d.name == name));
        if clash {
            let what = if name == RANK_FIELD {
                "is reserved for the owning rank"
            } else {
                "is already written"
            };
            let kind = if is_static { "static field" } else { "field" };
            return Err(Error::Output(format!(
                "{}: {kind} '{name}' {what}",
                self.h5_path.display()
            )));
        }
        Ok(())
    }

    /// A field keeps the spec it was first written with.
    fn check_spec(&self, spec: &FieldSpec) -> Result<()> {
        match self.dynamic.iter().find(|d| d.name == spec.name) {
            Some(d) if d != spec => Err(Error::Output(format!(
                "{}: field '{}' was written as {} and now as {}",
                self.h5_path.display(),
                spec.name,
                d.describe(),
                spec.describe()
            ))),
            _ => Ok(()),
        }
    }

    /// Collective: checks that every rank called with the same names, specs and time.
    fn check_same(&self, comm: &Comm, what: &str, hash: u64) -> Result<()> {
        if same_everywhere(comm, hash) {
            Ok(())
        } else {
            Err(Error::Output(format!(
                "{}: {what} called with different field names, specs or time on different ranks",
                self.h5_path.display()
            )))
        }
    }

    // ---- XDMF ----

    /// Collective: rank 0 brings the XDMF file up to date (after the HDF5 flush, so it never
    /// lists a snapshot that `/times` does not), `last` for the final file without reserve;
    /// all ranks agree on the outcome.
    fn update_xdmf(&mut self, comm: &Comm, last: bool) -> Result<()> {
        let r = if comm.is_root() { self.write_xdmf(last) } else { Ok(()) };
        comm.agree(r)
    }

    /// Rank 0: appends the last snapshot's grid in place when the file on disk lists all the
    /// others, else rewrites the file (see [`xdmf`] for why either is safe to interrupt).
    fn write_xdmf(&mut self, last: bool) -> Result<()> {
        let n = self.steps.len();
        // With one snapshot, the file still shows the placeholder grid: rewrite it.
        if !last && n >= 2 {
            let mut grid = String::new();
            self.grid_xml(&mut grid, Some(n - 1));
            if self.xdmf.append(&grid, n - 1)? {
                return Ok(());
            }
        }
        let mut grids = String::new();
        if n == 0 {
            self.grid_xml(&mut grids, None);
        }
        for k in 0..n {
            self.grid_xml(&mut grids, Some(k));
        }
        self.xdmf.rewrite(&grids, n, !last)
    }

    /// Appends the uniform grid of snapshot `k` (or, with `None`, the placeholder grid at time 0
    /// holding only the static fields).
    fn grid_xml(&self, out: &mut String, k: Option<usize>) {
        let h5 = xml_escape(&self.h5_name);
        let (np, nc, nv) = (
            self.num_points_global,
            self.num_cells_global,
            self.cell_type.num_vertices(),
        );
        let time = k.map_or(0.0, |k| self.steps[k].time);
        let nodes = if self.cell_type == CellType::Line {
            " NodesPerElement=\"2\""
        } else {
            ""
        };
        let geom = if self.gdim == 2 { "XY" } else { "XYZ" };
        let _ = write!(
            out,
            "      <Grid Name=\"mesh\" GridType=\"Uniform\">\n        <Time Value=\"{time:?}\"/>\n        \
             <Topology TopologyType=\"{}\" NumberOfElements=\"{nc}\"{nodes}>\n          \
             <DataItem Dimensions=\"{nc} {nv}\" NumberType=\"Int\" Precision=\"8\" Format=\"HDF\">{h5}:/mesh/topology</DataItem>\n        \
             </Topology>\n        <Geometry GeometryType=\"{geom}\">\n          \
             <DataItem Dimensions=\"{np} {}\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">{h5}:/mesh/geometry</DataItem>\n        \
             </Geometry>\n",
            self.cell_type.xdmf_name(),
            self.gdim
        );
        let mut attribute = |spec: &FieldSpec, int32: bool, path: String| {
            let n = match spec.center {
                Center::Point => np,
                Center::Cell => nc,
            };
            let (ty, prec) = if int32 { ("Int", 4) } else { ("Float", 8) };
            let (kind, dims) = if spec.components == 1 {
                ("Scalar", format!("{n}"))
            } else {
                ("Vector", format!("{n} 3"))
            };
            let name = xml_escape(&spec.name);
            let _ = write!(
                out,
                "        <Attribute Name=\"{name}\" AttributeType=\"{kind}\" Center=\"{}\">\n          \
                 <DataItem Dimensions=\"{dims}\" NumberType=\"{ty}\" Precision=\"{prec}\" Format=\"HDF\">{h5}:{}</DataItem>\n        \
                 </Attribute>\n",
                spec.center.xdmf(),
                xml_escape(&path)
            );
        };
        for s in &self.statics {
            attribute(&s.spec, s.int32, format!("/static/{}", s.spec.name));
        }
        if let Some(k) = k {
            for name in &self.steps[k].fields {
                if let Some(spec) = self.dynamic.iter().find(|d| &d.name == name) {
                    attribute(spec, false, format!("/fields/{name}/{k}"));
                }
            }
        }
        out.push_str("      </Grid>\n");
    }
}

/// Records `spec` as the attributes `center`, `space` and `components` of `loc`.
fn write_spec_attrs(loc: &Location, spec: &FieldSpec) -> hdf5::Result<()> {
    write_attr_str(loc, "center", spec.center.code())?;
    write_attr_str(loc, "space", spec.space.code())?;
    write_attr(loc, "components", &(spec.components as u64))
}

/// Rank 0's pre-flight: the directory exists (created if needed) and both files can be created.
fn prepare(dir: &Path, h5: &Path, xdmf: &Path) -> Result<()> {
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| Error::Io { path, source }
    };
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Output(format!(
            "{}: exists and is not a directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if !dir.is_dir() {
        return Err(Error::Output(format!("{}: not a directory", dir.display())));
    }
    for p in [h5, xdmf] {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(p)
            .map_err(io(p))?;
    }
    Ok(())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

//! Parallel HDF5 + XDMF output: one `.h5` file per run written collectively by all ranks through
//! MPI-IO, and a `.xdmf` file beside it describing the time series.
//!
//! Layout of the HDF5 file (global numbering; each rank writes the rows it owns):
//!
//! | path                  | type | shape       | contents                                       |
//! |-----------------------|------|-------------|------------------------------------------------|
//! | `/mesh/geometry`      | f64  | `N × gdim`  | point coordinates                              |
//! | `/mesh/topology`      | i64  | `M × nv`    | cell nodes (global point ids; XDMF node order) |
//! | `/static/rank`        | i32  | `M`         | owning rank of each cell                       |
//! | `/static/NAME`        | f64  | `N` or `M`  | fields constant in time ([`Writer::write_static`]) |
//! | `/fields/NAME/K`      | f64  | `N` or `M`  | field NAME at snapshot K (attribute `time`)    |
//! | `/times`              | f64  | `K`         | the time of every snapshot, in order           |
//!
//! Quadratic cells (P2) are written with the XDMF topologies `Triangle_6` / `Tetrahedron_10`
//! (VTK node order), their edge midpoints among the points; meshio reads them back as
//! `triangle6` / `tetra10` in the tests.
//!
//! The XDMF file is a temporal collection with one uniform grid per snapshot; every grid refers
//! to the same `/mesh` datasets and to its own `/fields/NAME/K` datasets, plus all static fields.
//!
//! # Interrupted runs
//!
//! `/times` is the registry of snapshots: a reader takes `len(/times)` snapshots, and every
//! `/fields/NAME/K` with `K < len(/times)` exists and is complete. A run killed at any point
//! (outside the few metadata writes of one HDF5 flush) leaves a file that obeys this rule, with
//! exactly one `/fields/NAME/K` per registered snapshot and none beyond, and an XDMF that lists
//! either the registered snapshots or, when killed between the HDF5 flush and the XDMF update,
//! all but the last one (never a snapshot that is not registered).
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
//! None of this covers a crash of the machine, which may lose writes out of order.

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::mesh::CellType;
use hdf5::dataset::FillTime;
use hdf5::{Dataset, Dataspace, Datatype, File, H5Type, Selection};
use hdf5_sys::h5d::H5Dwrite;
use hdf5_sys::h5p::{H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio, H5P_CLS_DATASET_XFER};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use xdmf::XdmfFile;

mod xdmf;

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

/// Where a field lives: on the points (XDMF `Node`) or on the cells (XDMF `Cell`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Center {
    /// One value per point.
    Point,
    /// One value per cell.
    Cell,
}

impl Center {
    fn xdmf(self) -> &'static str {
        match self {
            Center::Point => "Node",
            Center::Cell => "Cell",
        }
    }
    fn word(self) -> &'static str {
        match self {
            Center::Point => "points",
            Center::Cell => "cells",
        }
    }
}

/// A static field as recorded for the XDMF: name, center and whether it is the i32 rank field.
#[derive(Clone, Debug)]
struct StaticField {
    name: String,
    center: Center,
    int32: bool,
}

/// One snapshot as recorded for the XDMF.
#[derive(Clone, Debug)]
struct Step {
    time: f64,
    fields: Vec<(String, Center)>,
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
    statics: Vec<StaticField>,
    /// Center of every time-dependent field written so far (a name keeps its center).
    dynamic: Vec<(String, Center)>,
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
        let nv = mesh.cell_type.num_vertices();
        let num_cells_local = mesh.connectivity.len() / nv;

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

        let mut w = Writer {
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
            num_cells_local,
            statics: vec![StaticField {
                name: RANK_FIELD.to_string(),
                center: Center::Cell,
                int32: true,
            }],
            dynamic: Vec::new(),
            steps: Vec::new(),
            xdmf: XdmfFile::new(xdmf_path),
        };

        // 4. The mesh datasets and the rank field.
        let written = w.write_mesh(comm, mesh);
        comm.agree(written)?;
        w.update_xdmf(comm, false)?;
        Ok(w)
    }

    /// Collective: writes a field constant in time (e.g. a coefficient) to `/static/NAME`; it is
    /// shown at every time step. `values` are this rank's owned entries (points or cells).
    pub fn write_static(&mut self, comm: &Comm, name: &str, center: Center, values: &[f64]) -> Result<()> {
        let local = check_name(name, "field name")
            .and_then(|()| self.check_unused(name, true))
            .and_then(|()| self.check_len(comm, name, center, values.len()));
        let mut h = Fnv::new();
        h.str(name);
        h.center(center);
        let across = self.check_same(comm, "write_static", h.0);
        comm.agree(local.and(across))?;

        let written = self
            .write_field(&format!("static/{name}"), center, values, None)
            .and_then(|()| self.flush(&format!("writing /static/{name}")));
        comm.agree(written)?;
        self.statics.push(StaticField {
            name: name.to_string(),
            center,
            int32: false,
        });
        // Earlier grids must show the new field too.
        self.xdmf.invalidate();
        self.update_xdmf(comm, false)
    }

    /// Collective: writes one snapshot at time `time` of several fields to `/fields/NAME/K`
    /// (K = number of earlier snapshots) and appends it to the XDMF series; values are this
    /// rank's owned entries (points or cells). A field keeps the center it was first written
    /// with; fields may differ between snapshots.
    pub fn write_snapshot(&mut self, comm: &Comm, time: f64, fields: &[(&str, Center, &[f64])]) -> Result<()> {
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
        for (i, &(name, center, values)) in fields.iter().enumerate() {
            h.str(name);
            h.center(center);
            h.u64(u64::from(fields[..i].iter().any(|f| f.0 == name)));
            if local.is_ok() {
                local = check_name(name, "field name")
                    .and_then(|()| self.check_unused(name, false))
                    .and_then(|()| self.check_center(name, center))
                    .and_then(|()| self.check_len(comm, name, center, values.len()));
                if local.is_ok() && fields[..i].iter().any(|f| f.0 == name) {
                    local = Err(Error::Output(format!(
                        "{}: field '{name}' given twice in one snapshot",
                        self.h5_path.display()
                    )));
                }
            }
        }
        let across = self.check_same(comm, "write_snapshot", h.0);
        comm.agree(local.and(across))?;

        let written = self.write_step(comm, k, time, fields);
        comm.agree(written)?;
        for &(name, center, _) in fields {
            if !self.dynamic.iter().any(|d| d.0 == name) {
                self.dynamic.push((name.to_string(), center));
            }
        }
        self.steps.push(Step {
            time,
            fields: fields.iter().map(|&(n, c, _)| (n.to_string(), c)).collect(),
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

    /// Number of snapshots written so far.
    pub fn num_snapshots(&self) -> usize {
        self.steps.len()
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

    /// Creates `path` as a 1-D f64 dataset of the global size for `center` and writes this
    /// rank's owned block; with `time`, attaches it as the attribute `time`. Does not flush.
    fn write_field(&self, path: &str, center: Center, values: &[f64], time: Option<f64>) -> Result<()> {
        let ctx = |e| h5_error(&self.h5_path, &format!("writing /{path}"), e);
        let file = self.file()?;
        let (n, offset) = match center {
            Center::Point => (self.num_points_global, self.point_offset),
            Center::Cell => (self.num_cells_global, self.cell_offset),
        };
        let ds = new_dataset::<f64>(file, path, &[to_usize(n)?]).map_err(ctx)?;
        write_rows(&ds, offset, values.len(), values).map_err(ctx)?;
        if let Some(t) = time {
            let attr = ds.new_attr::<f64>().create("time").map_err(ctx)?;
            attr.write_scalar(&t).map_err(ctx)?;
        }
        Ok(())
    }

    /// Registers snapshot `k` in one step: every field dataset, then `/times`, then a single
    /// flush, so that a run killed before the flush leaves none of the snapshot in the file and
    /// one killed after it leaves all of it (module docs). A flush per dataset would expose
    /// datasets that `/times` does not list yet.
    fn write_step(&self, comm: &Comm, k: usize, time: f64, fields: &[(&str, Center, &[f64])]) -> Result<()> {
        let what = format!("writing snapshot {k}");
        let ctx = |e| h5_error(&self.h5_path, &what, e);
        let file = self.file()?;
        for &(name, center, values) in fields {
            if !self.dynamic.iter().any(|d| d.0 == name) {
                file.create_group(&format!("fields/{name}")).map_err(ctx)?;
            }
            self.write_field(&format!("fields/{name}/{k}"), center, values, Some(time))?;
        }
        let times = file.dataset("times").map_err(ctx)?;
        times.resize([k + 1]).map_err(ctx)?;
        let mine: &[f64] = if comm.is_root() { &[time] } else { &[] };
        write_rows(&times, k as u64, mine.len(), mine).map_err(ctx)?;
        drop(times);
        self.flush(&what)
    }

    // ---- argument checks (local; the callers agree on them) ----

    fn check_unused(&self, name: &str, is_static: bool) -> Result<()> {
        let clash =
            self.statics.iter().any(|s| s.name == name) || (is_static && self.dynamic.iter().any(|d| d.0 == name));
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

    fn check_center(&self, name: &str, center: Center) -> Result<()> {
        match self.dynamic.iter().find(|d| d.0 == name) {
            Some(&(_, c)) if c != center => Err(Error::Output(format!(
                "{}: field '{name}' was written on {} and now on {}",
                self.h5_path.display(),
                c.word(),
                center.word()
            ))),
            _ => Ok(()),
        }
    }

    fn check_len(&self, comm: &Comm, name: &str, center: Center, len: usize) -> Result<()> {
        let owned = match center {
            Center::Point => self.num_points_local,
            Center::Cell => self.num_cells_local,
        };
        if len != owned {
            return Err(Error::Output(format!(
                "{}: field '{name}' has {len} values on rank {}, which owns {owned} {}",
                self.h5_path.display(),
                comm.rank(),
                center.word()
            )));
        }
        Ok(())
    }

    /// Collective: checks that every rank called with the same names, centers and time.
    fn check_same(&self, comm: &Comm, what: &str, hash: u64) -> Result<()> {
        if same_everywhere(comm, hash) {
            Ok(())
        } else {
            Err(Error::Output(format!(
                "{}: {what} called with different field names, centers or time on different ranks",
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
        let mut attribute = |name: &str, center: Center, int32: bool, path: String| {
            let n = match center {
                Center::Point => np,
                Center::Cell => nc,
            };
            let (ty, prec) = if int32 { ("Int", 4) } else { ("Float", 8) };
            let name = xml_escape(name);
            let _ = write!(
                out,
                "        <Attribute Name=\"{name}\" AttributeType=\"Scalar\" Center=\"{}\">\n          \
                 <DataItem Dimensions=\"{n}\" NumberType=\"{ty}\" Precision=\"{prec}\" Format=\"HDF\">{h5}:{}</DataItem>\n        \
                 </Attribute>\n",
                center.xdmf(),
                xml_escape(&path)
            );
        };
        for s in &self.statics {
            attribute(&s.name, s.center, s.int32, format!("/static/{}", s.name));
        }
        if let Some(k) = k {
            for (name, center) in &self.steps[k].fields {
                attribute(name, *center, false, format!("/fields/{name}/{k}"));
            }
        }
        out.push_str("      </Grid>\n");
    }
}

/// Collective: writes this rank's `rows` rows (`data` holds them row-major) at row `offset` of
/// `ds`, with a collective MPI-IO transfer. A rank with no rows takes part with an empty
/// selection, as collective transfers require.
fn write_rows<T: H5Type>(ds: &Dataset, offset: u64, rows: usize, data: &[T]) -> hdf5::Result<()> {
    let space = ds.space()?;
    let (file_sel, mem_space) = if rows == 0 {
        // Zero points select nothing (H5Sselect_none).
        let f = space.select(Selection::Points(ndarray::Array2::zeros((0, space.ndim()))))?;
        let m = f.copy();
        (f, m)
    } else {
        let lo = usize::try_from(offset).map_err(|_| hdf5::Error::from("offset too large"))?;
        let hi = lo + rows;
        let f = if space.ndim() == 1 {
            space.select(lo..hi)?
        } else {
            space.select(Selection::try_from(ndarray::s![lo..hi, ..])?)?
        };
        if f.selection_size() != data.len() {
            return Err(hdf5::Error::from(format!(
                "{} values for {} selected elements",
                data.len(),
                f.selection_size()
            )));
        }
        (f, Dataspace::try_new([data.len()])?)
    };
    let dtype = Datatype::from_type::<T>()?;
    let rc = hdf5::sync::sync(|| {
        // SAFETY: all ids are live handles owned above; `data` outlives the call and holds as
        // many elements of type T as the memory space selects (checked above, or none).
        unsafe {
            let dxpl = H5Pcreate(*H5P_CLS_DATASET_XFER);
            if dxpl < 0 {
                return -1;
            }
            let mut rc = H5Pset_dxpl_mpio(dxpl, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE);
            if rc >= 0 {
                rc = H5Dwrite(
                    ds.id(),
                    dtype.id(),
                    mem_space.id(),
                    file_sel.id(),
                    dxpl,
                    data.as_ptr().cast(),
                );
            }
            H5Pclose(dxpl);
            rc
        }
    });
    if rc < 0 {
        return Err(hdf5::Error::from("collective H5Dwrite failed"));
    }
    Ok(())
}

/// Creates a contiguous dataset of `shape`, with no fill (every element is written).
fn new_dataset<T: H5Type>(file: &File, path: &str, shape: &[usize]) -> hdf5::Result<Dataset> {
    file.new_dataset::<T>()
        .fill_time(FillTime::Never)
        .shape(shape)
        .create(path)
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

fn h5_error(path: &Path, what: &str, e: hdf5::Error) -> Error {
    Error::Output(format!("{}: {what}: {e}", path.display()))
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::Output(format!("size {n} does not fit in memory indices")))
}

/// Names become HDF5 link names and XDMF references: ASCII letters, digits and `_-+.`, not
/// starting with `.`.
fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-+.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Output(format!(
            "{what} '{name}': use ASCII letters, digits and _-+. (not starting with .)"
        )))
    }
}

fn check_mesh_local(mesh: &OutputMesh) -> Result<()> {
    let err = |msg: String| Err(Error::Output(format!("output mesh: {msg}")));
    if !(2..=3).contains(&mesh.gdim) || mesh.cell_type.dim() > mesh.gdim {
        return err(format!(
            "gdim {} does not fit cells of type {:?}",
            mesh.gdim, mesh.cell_type
        ));
    }
    let nv = mesh.cell_type.num_vertices();
    if mesh.connectivity.len() % nv != 0 {
        return err(format!(
            "connectivity length {} is not a multiple of {nv}",
            mesh.connectivity.len()
        ));
    }
    let nc = (mesh.connectivity.len() / nv) as u64;
    let np = mesh.points.len() as u64;
    if mesh
        .point_offset
        .checked_add(np)
        .is_none_or(|e| e > mesh.num_points_global)
    {
        return err(format!(
            "points {}..{}+{np} exceed the {} global points",
            mesh.point_offset, mesh.point_offset, mesh.num_points_global
        ));
    }
    if mesh
        .cell_offset
        .checked_add(nc)
        .is_none_or(|e| e > mesh.num_cells_global)
    {
        return err(format!(
            "cells {}..{}+{nc} exceed the {} global cells",
            mesh.cell_offset, mesh.cell_offset, mesh.num_cells_global
        ));
    }
    if mesh.num_points_global > i64::MAX as u64 {
        return err(format!("{} points is too many", mesh.num_points_global));
    }
    if let Some(&v) = mesh.connectivity.iter().find(|&&v| v >= mesh.num_points_global) {
        return err(format!(
            "point id {v} is out of range (only {} points)",
            mesh.num_points_global
        ));
    }
    Ok(())
}

/// Collective: the ranks agree on the global description and their blocks tile the global
/// point and cell ranges.
fn check_mesh_across(comm: &Comm, mesh: &OutputMesh) -> Result<()> {
    let nv = mesh.cell_type.num_vertices().max(1);
    let mut h = Fnv::new();
    h.u64(mesh.gdim as u64);
    h.str(mesh.cell_type.xdmf_name());
    h.u64(mesh.num_points_global);
    h.u64(mesh.num_cells_global);
    let same = same_everywhere(comm, h.0);
    let tiles = |what: &str, offset: u64, count: u64, global: u64| -> Result<()> {
        let offsets = comm.all_gather_u64(offset);
        let counts = comm.all_gather_u64(count);
        let mut blocks: Vec<(u64, u64)> = offsets.into_iter().zip(counts).filter(|b| b.1 > 0).collect();
        blocks.sort_unstable();
        let mut next = 0u64;
        for (o, c) in blocks {
            if o != next {
                return Err(Error::Output(format!(
                    "output mesh: owned {what} blocks leave a gap or overlap at global id {next}"
                )));
            }
            next = o.saturating_add(c);
        }
        if next != global {
            return Err(Error::Output(format!(
                "output mesh: owned {what} add up to {next}, expected {global}"
            )));
        }
        Ok(())
    };
    let points = tiles(
        "point",
        mesh.point_offset,
        mesh.points.len() as u64,
        mesh.num_points_global,
    );
    let cells = tiles(
        "cell",
        mesh.cell_offset,
        (mesh.connectivity.len() / nv) as u64,
        mesh.num_cells_global,
    );
    if !same {
        return Err(Error::Output(
            "output mesh: ranks disagree on gdim, cell type or global sizes".to_string(),
        ));
    }
    points.and(cells)
}

/// Collective: whether `h` is the same on every rank.
fn same_everywhere(comm: &Comm, h: u64) -> bool {
    let mine = [h, !h];
    let mut min = [0u64; 2];
    comm.world()
        .all_reduce_into(&mine[..], &mut min[..], SystemOperation::min());
    min[0] == h && !min[1] == h
}

/// FNV-1a, to compare call arguments across ranks cheaply.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn u64(&mut self, x: u64) {
        self.bytes(&x.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }
    fn center(&mut self, c: Center) {
        self.u64(c as u64);
    }
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

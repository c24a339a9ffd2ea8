//! Checkpoints: everything a run needs to continue (fields, time, step, dt history, options),
//! in one HDF5 file that a restart reads on any number of ranks.
//!
//! Fields are stored by input-mesh id (the unknowns' `mesh_id`: cell ids for FD, point ids for
//! P1/P2), not in the partition's numbering, so a reader on another rank count takes each
//! entity's value by its id: every rank reads an even block of rows (one hyperslab) and one
//! all-to-all brings the values to their owners; the writer does the reverse.
//!
//! A checkpoint is written collectively (MPI-IO) to `PATH.tmp`, closed, and only after every
//! rank agreed that all went well does rank 0 sync it and rename it to `PATH`: a run killed
//! mid-write leaves the previous checkpoint intact (and a `PATH.tmp` that the next write
//! replaces).
//!
//! Layout (format version [`VERSION`]):
//!
//! | path             | type | contents                                                    |
//! |------------------|------|-------------------------------------------------------------|
//! | `/` attributes   |      | `format` = `ddkit-checkpoint`, `version`, `step`, `time`, `mesh_points`, `mesh_cells`, `mesh_hash` ([`Fingerprint`]), `checksum` (of the header: all but the fields) |
//! | `/dt_history`    | f64  | the time steps taken so far                                 |
//! | `/options`       | u8   | the run's parameters as JSON text                           |
//! | `/series`        | f64  | optional: a [`Series`] (rows × columns); attributes `columns` (comma-separated names), `checksum` (of names and values) |
//! | `/fields/NAME`   | f64  | `n` or `n × components` rows in mesh-id order; attributes `center`, `space`, `components`, `checksum` (of the values) |
//!
//! `/series` is outside the header's checksum, so a build that does not know it reads the file
//! as before (and continues without the table).
//!
//! Reading validates all of it and gives one clear error on every rank for a missing file, a
//! truncated or damaged one, another format version, another mesh, a missing field or one of
//! the wrong spec or length; the caller compares the stored options ([`check_options`]).

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::exchange::{even_starts, IdExchange};
use crate::io::h5::{
    h5_error, mix64, new_dataset, read_attr, read_attr_str, read_rows, row_hash, same_everywhere, sum_wrapping,
    to_usize, write_attr, write_attr_str, write_rows, Fnv,
};
use crate::io::{Center, FieldSpec, Space};
use crate::mesh::Mesh;
use crate::partition::LocalMesh;
use hdf5::File;
use std::path::{Path, PathBuf};

/// The `format` attribute of a checkpoint file.
pub const FORMAT: &str = "ddkit-checkpoint";
/// The layout version this build writes and reads.
pub const VERSION: u64 = 1;

/// What identifies a mesh for a restart: its counts and a hash of its coordinates and
/// connectivity in mesh-id order (independent of partition and rank count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// Number of points.
    pub num_points: u64,
    /// Number of cells.
    pub num_cells: u64,
    /// Hash of dimension, cell type, coordinates (bitwise) and connectivity.
    pub hash: u64,
}

impl Fingerprint {
    /// Local: the fingerprint of the (replicated) mesh.
    pub fn of(mesh: &Mesh) -> Fingerprint {
        let mut h = mix64(mesh.gdim as u64);
        for b in mesh.cell_type.xdmf_name().bytes() {
            h = mix64(h ^ u64::from(b));
        }
        for p in &mesh.points {
            for x in p {
                h = mix64(h ^ x.to_bits());
            }
        }
        for &v in &mesh.cells {
            h = mix64(h ^ u64::from(v));
        }
        Fingerprint {
            num_points: mesh.num_points() as u64,
            num_cells: mesh.num_cells() as u64,
            hash: h,
        }
    }
}

/// One space of a [`CheckpointMesh`]: its entities carry mesh ids `0..num_ids`, of which this
/// rank owns `owned`.
#[derive(Clone, Copy, Debug)]
struct SpaceIds<'a> {
    space: Space,
    num_ids: u64,
    owned: &'a [u32],
}

/// What a checkpoint needs of the mesh: its fingerprint and, per space, the input-mesh ids of
/// the entities this rank owns, in the order of its field values.
#[derive(Clone, Debug)]
pub struct CheckpointMesh<'a> {
    /// Identifies the mesh; a checkpoint of another mesh is refused.
    pub fingerprint: Fingerprint,
    spaces: Vec<SpaceIds<'a>>,
}

impl<'a> CheckpointMesh<'a> {
    /// A description with no space yet.
    pub fn new(fingerprint: Fingerprint) -> Self {
        CheckpointMesh {
            fingerprint,
            spaces: Vec::new(),
        }
    }

    /// Adds (or replaces) a space whose entities carry mesh ids `0..num_ids` (rows of the
    /// stored fields; ids nobody owns are stored as NaN), of which this rank owns `owned`.
    /// For a P1 field on a P2 mesh: `Space::P1`, the number of points of the linear mesh, and
    /// the owned points of the linear mesh distributed with the same partition (corners keep
    /// their ids when a mesh is elevated).
    pub fn with(mut self, space: Space, num_ids: u64, owned: &'a [u32]) -> Self {
        self.spaces.retain(|s| s.space != space);
        self.spaces.push(SpaceIds { space, num_ids, owned });
        self
    }

    /// The usual description of a distributed mesh: its cells and its own points (P2 nodes
    /// for a quadratic mesh, else P1), owned as `lm` says.
    pub fn from_local(mesh: &Mesh, lm: &'a LocalMesh) -> Self {
        let points = if mesh.cell_type.degree() == 2 {
            Space::P2
        } else {
            Space::P1
        };
        CheckpointMesh::new(Fingerprint::of(mesh))
            .with(Space::Cells, mesh.num_cells() as u64, &lm.cell_orig[..lm.cells.n_owned])
            .with(points, mesh.num_points() as u64, &lm.point_orig[..lm.points.n_owned])
    }

    fn space(&self, space: Space) -> Option<&SpaceIds<'a>> {
        self.spaces.iter().find(|s| s.space == space)
    }
}

/// Everything needed to continue a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The number of steps taken.
    pub step: u64,
    /// The simulated time reached.
    pub time: f64,
    /// Every time step taken so far (adaptive steppers continue from it).
    pub dt_history: Vec<f64>,
    /// The run's parameters as JSON, compared on restart ([`check_options`]).
    pub options: String,
    /// The fields, each with this rank's owned values (`components` per entity, in the order
    /// of the [`CheckpointMesh`]'s owned ids of its space).
    pub fields: Vec<(FieldSpec, Vec<f64>)>,
    /// A table the run keeps over its steps (a monitor's time series), the same on every rank.
    pub series: Option<Series>,
}

/// A table that every rank holds whole and that a restart continues, such as the drag and lift
/// recorded at every step: a maximum or a frequency taken at the end of a restarted run then
/// covers the whole run, not only its part after the restart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The column names (ASCII without commas; joined with commas at most
    /// [`SERIES_COLUMNS_MAX`] bytes).
    pub columns: Vec<String>,
    /// The rows, row-major: `columns.len()` values each.
    pub rows: Vec<f64>,
}

/// The longest comma-joined column list of a [`Series`] (an HDF5 attribute of fixed size).
pub const SERIES_COLUMNS_MAX: usize = crate::io::h5::ATTR_STR;

impl Series {
    /// The column names joined with commas, as stored.
    fn joined(&self) -> String {
        self.columns.join(",")
    }

    /// The checksum of names and values, stored with them.
    fn hash(&self) -> u64 {
        let mut h = Fnv::new();
        h.str(&self.joined());
        h.u64(self.rows.len() as u64);
        for v in &self.rows {
            h.u64(v.to_bits());
        }
        h.0
    }

    /// Why this table cannot be stored, if it cannot.
    fn check(&self) -> std::result::Result<(), String> {
        let joined = self.joined();
        if self.columns.is_empty() || self.columns.iter().any(|c| c.is_empty() || c.contains(',')) {
            return Err(format!(
                "series columns {:?}: names must be non-empty and without commas",
                self.columns
            ));
        }
        if !joined.is_ascii() || joined.len() > SERIES_COLUMNS_MAX {
            return Err(format!(
                "series columns '{joined}': at most {SERIES_COLUMNS_MAX} ASCII bytes"
            ));
        }
        if self.rows.len() % self.columns.len() != 0 {
            return Err(format!(
                "series of {} values is not a whole number of rows of {} columns",
                self.rows.len(),
                self.columns.len()
            ));
        }
        Ok(())
    }
}

/// The temporary file a checkpoint is written to before it is renamed to `path`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

impl Checkpoint {
    /// The values of field `name`, if present.
    pub fn field(&self, name: &str) -> Option<&[f64]> {
        self.fields.iter().find(|f| f.0.name == name).map(|f| &f.1[..])
    }

    /// Collective: writes the checkpoint to `PATH.tmp` (creating the directory if needed) and,
    /// once every rank has written and closed it, renames it to `path`; an existing `path`
    /// stays intact until then. Errors (bad arguments on any rank, ranks that disagree on the
    /// header, an unwritable directory) are the same on every rank.
    pub fn write(&self, comm: &Comm, path: &Path, mesh: &CheckpointMesh) -> Result<()> {
        let fail = |msg: String| Error::Output(format!("checkpoint {}: {msg}", path.display()));
        comm.agree(self.check_local(comm, mesh).map_err(fail))?;
        let mut h = Fnv::new();
        h.u64(self.header_hash(&mesh.fingerprint));
        for (spec, _) in &self.fields {
            spec.hash_into(&mut h);
        }
        h.u64(self.series.as_ref().map_or(0, Series::hash));
        h.str(&path.to_string_lossy());
        let same = if same_everywhere(comm, h.0) {
            Ok(())
        } else {
            Err(fail(
                "ranks disagree on the path, step, time, options, series or fields".into(),
            ))
        };
        comm.agree(same)?;

        // Move every field to the even row blocks, and checksum them.
        let me = comm.rank() as usize;
        let mut blocks = Vec::with_capacity(self.fields.len());
        let mut partial = Vec::with_capacity(self.fields.len());
        let mut plans: Vec<(Space, Vec<u64>, IdExchange)> = Vec::new();
        for (spec, values) in &self.fields {
            let s = mesh.space(spec.space).expect("checked");
            if !plans.iter().any(|p| p.0 == spec.space) {
                let starts = even_starts(s.num_ids, comm.size() as usize);
                let ids: Vec<u64> = s.owned.iter().map(|&i| u64::from(i)).collect();
                let x = IdExchange::new(comm, &starts, &ids).map_err(|e| fail(e.to_string()))?;
                let twice = x.repeated_row().map(|r| {
                    fail(format!(
                        "mesh id {} of space {} is owned by more than one rank",
                        starts[me] + r as u64,
                        spec.space.code()
                    ))
                });
                comm.agree(twice.map_or(Ok(()), Err))?;
                plans.push((spec.space, starts, x));
            }
            let (_, starts, x) = plans.iter().find(|p| p.0 == spec.space).expect("just added");
            let c = spec.components;
            let block = x.to_blocks(comm, values, c, f64::NAN);
            partial.push(checksum(starts[me], &block, c));
            blocks.push((starts[me], block));
        }
        let sums = sum_wrapping(comm, &partial);

        // Write PATH.tmp collectively, close it, then rename.
        let tmp = tmp_path(path);
        let prepared = if comm.is_root() { prepare_dir(path) } else { Ok(()) };
        comm.agree(prepared)?;
        let raw = mpi::raw::AsRaw::as_raw(comm.world());
        let file = File::with_options().with_fapl(|p| p.mpio(raw, None)).create(&tmp);
        let file = comm.agree(file.map_err(|e| h5_error(&tmp, "cannot create", e)))?;
        let written = self.write_contents(comm, &file, mesh, &blocks, &sums);
        let written = written.map_err(|e| h5_error(&tmp, "writing", e));
        comm.agree(written)?;
        let closed = file.close().map_err(|e| h5_error(&tmp, "cannot close", e));
        comm.agree(closed)?;
        let renamed = if comm.is_root() { commit(&tmp, path) } else { Ok(()) };
        comm.agree(renamed)
    }

    /// Local: the arguments make sense on this rank.
    fn check_local(&self, comm: &Comm, mesh: &CheckpointMesh) -> std::result::Result<(), String> {
        if let Some(series) = &self.series {
            series.check()?;
        }
        for (i, (spec, values)) in self.fields.iter().enumerate() {
            spec.validate().map_err(|e| e.to_string())?;
            if self.fields[..i].iter().any(|f| f.0.name == spec.name) {
                return Err(format!("field '{}' given twice", spec.name));
            }
            let Some(s) = mesh.space(spec.space) else {
                return Err(format!(
                    "field '{}' is in space {}, which the checkpoint mesh does not describe",
                    spec.name,
                    spec.space.code()
                ));
            };
            if let Some(i) = s.owned.iter().find(|&&i| u64::from(i) >= s.num_ids) {
                return Err(format!(
                    "mesh id {i} owned by rank {} is out of range for the {} ids of space {}",
                    comm.rank(),
                    s.num_ids,
                    spec.space.code()
                ));
            }
            if values.len() != s.owned.len() * spec.components {
                return Err(format!(
                    "field '{}' has {} values on rank {}, which owns {} entities of space {} ({} per entity)",
                    spec.name,
                    values.len(),
                    comm.rank(),
                    s.owned.len(),
                    spec.space.code(),
                    spec.components
                ));
            }
        }
        Ok(())
    }

    /// Collective HDF5 writes of the header and the field blocks.
    fn write_contents(
        &self,
        comm: &Comm,
        file: &File,
        mesh: &CheckpointMesh,
        blocks: &[(u64, Vec<f64>)],
        sums: &[u64],
    ) -> hdf5::Result<()> {
        let fp = mesh.fingerprint;
        write_attr_str(file, "format", FORMAT)?;
        write_attr(file, "version", &VERSION)?;
        write_attr(file, "step", &self.step)?;
        write_attr(file, "time", &self.time)?;
        write_attr(file, "mesh_points", &fp.num_points)?;
        write_attr(file, "mesh_cells", &fp.num_cells)?;
        write_attr(file, "mesh_hash", &fp.hash)?;
        write_attr(file, "checksum", &self.header_hash(&fp))?;
        let root = comm.is_root();
        let dt = new_dataset::<f64>(file, "dt_history", &[self.dt_history.len()])?;
        let n = if root { self.dt_history.len() } else { 0 };
        write_rows(&dt, 0, n, &self.dt_history[..n])?;
        let opts = new_dataset::<u8>(file, "options", &[self.options.len()])?;
        let n = if root { self.options.len() } else { 0 };
        write_rows(&opts, 0, n, &self.options.as_bytes()[..n])?;
        if let Some(series) = &self.series {
            let cols = series.columns.len();
            let rows = series.rows.len() / cols;
            let ds = new_dataset::<f64>(file, "series", &[rows, cols])?;
            let n = if root { rows } else { 0 };
            write_rows(&ds, 0, n, &series.rows[..n * cols])?;
            write_attr_str(&ds, "columns", &series.joined())?;
            write_attr(&ds, "checksum", &series.hash())?;
        }
        file.create_group("fields")?;
        for (((spec, _), (offset, block)), &sum) in self.fields.iter().zip(blocks).zip(sums) {
            let rows = mesh.space(spec.space).map_or(0, |s| s.num_ids);
            let rows = usize::try_from(rows).map_err(|_| hdf5::Error::from("too many rows"))?;
            let c = spec.components;
            let shape: &[usize] = if c == 1 { &[rows] } else { &[rows, c] };
            let ds = new_dataset::<f64>(file, &format!("fields/{}", spec.name), shape)?;
            write_rows(&ds, *offset, block.len() / c, block)?;
            write_attr_str(&ds, "center", spec.center.code())?;
            write_attr_str(&ds, "space", spec.space.code())?;
            write_attr(&ds, "components", &(c as u64))?;
            write_attr(&ds, "checksum", &sum)?;
        }
        Ok(())
    }

    /// The checksum of the header: everything but the fields, which carry their own.
    fn header_hash(&self, fp: &Fingerprint) -> u64 {
        let mut h = Fnv::new();
        h.str(FORMAT);
        h.u64(VERSION);
        h.u64(self.step);
        h.u64(self.time.to_bits());
        h.u64(self.dt_history.len() as u64);
        for dt in &self.dt_history {
            h.u64(dt.to_bits());
        }
        h.str(&self.options);
        h.u64(fp.num_points);
        h.u64(fp.num_cells);
        h.u64(fp.hash);
        h.0
    }

    /// Collective: reads the checkpoint at `path` for this run's `mesh`, with the fields
    /// `fields` (others in the file are ignored), each rank getting the values of the entities
    /// it owns. Refused with the same error on every rank: no such file, a file HDF5 cannot
    /// open (truncated, not HDF5), not a checkpoint, another format version, a damaged header or
    /// field (checksums), another mesh (fingerprint), a missing field, a field of another spec
    /// or length. The options are returned as stored, for the caller to compare.
    pub fn read(comm: &Comm, path: &Path, mesh: &CheckpointMesh, fields: &[FieldSpec]) -> Result<Checkpoint> {
        let fail = |msg: String| Error::Input(format!("checkpoint {}: {msg}", path.display()));
        let local = read_local(comm, path, mesh, fields).map_err(fail);
        let (mut ck, blocks) = comm.agree(local)?;

        let partial: Vec<u64> = blocks.iter().map(|b| b.partial).collect();
        let sums = sum_wrapping(comm, &partial);
        if let Some((spec, _)) = fields
            .iter()
            .zip(blocks.iter().zip(&sums))
            .find(|(_, (b, &s))| b.stored != s)
        {
            let e = fail(format!(
                "field '{}' is damaged (its values do not match their checksum)",
                spec.name
            ));
            return comm.agree(Err(e));
        }

        let mut plans: Vec<(Space, IdExchange)> = Vec::new();
        for (spec, b) in fields.iter().zip(&blocks) {
            let s = mesh.space(spec.space).expect("checked");
            if !plans.iter().any(|p| p.0 == spec.space) {
                let starts = even_starts(s.num_ids, comm.size() as usize);
                let ids: Vec<u64> = s.owned.iter().map(|&i| u64::from(i)).collect();
                let x = IdExchange::new(comm, &starts, &ids).map_err(|e| fail(e.to_string()))?;
                plans.push((spec.space, x));
            }
            let (_, x) = plans.iter().find(|p| p.0 == spec.space).expect("just added");
            let values = x.fetch(comm, &b.rows, spec.components);
            ck.fields.push((spec.clone(), values));
        }
        Ok(ck)
    }
}

/// This rank's even block of a stored field.
struct Block {
    /// Its rows, `components` values each.
    rows: Vec<f64>,
    /// The checksum of these rows.
    partial: u64,
    /// The checksum of the whole field, as stored.
    stored: u64,
}

/// Local: opens and validates the file (header first, then the fields asked for), and reads
/// this rank's even block of each requested field.
fn read_local(
    comm: &Comm,
    path: &Path,
    mesh: &CheckpointMesh,
    fields: &[FieldSpec],
) -> std::result::Result<(Checkpoint, Vec<Block>), String> {
    let (file, ck) = read_header(path, mesh)?;
    let group = file.group("fields").map_err(damaged)?;
    let blocks = fields
        .iter()
        .map(|spec| read_block(comm, &group, mesh, spec))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((ck, blocks))
}

/// The error text of an HDF5 failure inside a file that opened: the file is damaged.
fn damaged(e: hdf5::Error) -> String {
    format!("damaged: {e}")
}

/// Local: opens the file and reads its header (everything but the fields, in a [`Checkpoint`]
/// with no fields), checking the format, the version, the header's checksum and that it was
/// written for `mesh`.
fn read_header(path: &Path, mesh: &CheckpointMesh) -> std::result::Result<(File, Checkpoint), String> {
    if !path.exists() {
        return Err("no such file".into());
    }
    let file = File::open(path).map_err(|e| format!("HDF5 cannot open it (truncated, damaged or not HDF5): {e}"))?;
    let format = read_attr_str(&file, "format").map_err(|_| "not a ddkit checkpoint (no format attribute)")?;
    if format != FORMAT {
        return Err(format!("not a ddkit checkpoint (format '{format}')"));
    }
    let version: u64 = read_attr(&file, "version").map_err(damaged)?;
    if version != VERSION {
        return Err(format!("format version {version}, this build reads version {VERSION}"));
    }
    let fp = Fingerprint {
        num_points: read_attr(&file, "mesh_points").map_err(damaged)?,
        num_cells: read_attr(&file, "mesh_cells").map_err(damaged)?,
        hash: read_attr(&file, "mesh_hash").map_err(damaged)?,
    };
    let options = file
        .dataset("options")
        .and_then(|d| d.read_raw::<u8>())
        .map_err(damaged)?;
    let ck = Checkpoint {
        step: read_attr(&file, "step").map_err(damaged)?,
        time: read_attr(&file, "time").map_err(damaged)?,
        dt_history: file.dataset("dt_history").and_then(|d| d.read_raw()).map_err(damaged)?,
        options: String::from_utf8(options).map_err(|_| "damaged: the options are not UTF-8".to_string())?,
        fields: Vec::new(),
        series: read_series(&file)?,
    };
    let saved: u64 = read_attr(&file, "checksum").map_err(damaged)?;
    if ck.header_hash(&fp) != saved {
        return Err("damaged: the header (step, time, dt history, options, mesh) does not match its checksum".into());
    }
    let mine = mesh.fingerprint;
    if fp != mine {
        return Err(format!(
            "written for another mesh ({} points, {} cells, hash {:016x}) than this run's ({} points, {} cells, hash {:016x})",
            fp.num_points, fp.num_cells, fp.hash, mine.num_points, mine.num_cells, mine.hash
        ));
    }
    Ok((file, ck))
}

/// Local: the file's [`Series`], if it holds one, checked against its checksum.
fn read_series(file: &File) -> std::result::Result<Option<Series>, String> {
    let Ok(ds) = file.dataset("series") else {
        return Ok(None);
    };
    let columns: Vec<String> = read_attr_str(&ds, "columns")
        .map_err(damaged)?
        .split(',')
        .map(str::to_string)
        .collect();
    let shape = ds.shape();
    if shape.len() != 2 || shape[1] != columns.len() {
        return Err(format!(
            "damaged: the series has shape {shape:?} for columns {columns:?}"
        ));
    }
    let series = Series {
        columns,
        rows: ds.read_raw().map_err(damaged)?,
    };
    if series.hash() != read_attr::<u64>(&ds, "checksum").map_err(damaged)? {
        return Err("damaged: the series does not match its checksum".into());
    }
    Ok(Some(series))
}

/// Local: checks the stored field `spec.name` against `spec` and `mesh` (spec, space, shape,
/// this rank's ids in range) and reads this rank's even block of its rows.
fn read_block(
    comm: &Comm,
    group: &hdf5::Group,
    mesh: &CheckpointMesh,
    spec: &FieldSpec,
) -> std::result::Result<Block, String> {
    let name = &spec.name;
    let me = comm.rank() as usize;
    let Ok(ds) = group.dataset(name) else {
        let have = group.member_names().unwrap_or_default();
        return Err(format!("has no field '{name}' (it holds {have:?})"));
    };
    let stored = stored_spec(&ds, name)?;
    if stored != *spec {
        return Err(format!(
            "field '{name}' is {} in the checkpoint, this run expects {}",
            stored.describe(),
            spec.describe()
        ));
    }
    let Some(ids) = mesh.space(spec.space) else {
        return Err(format!(
            "field '{name}' is in space {}, which this run's checkpoint mesh does not describe",
            spec.space.code()
        ));
    };
    let c = spec.components;
    let shape = ds.shape();
    let cols_ok = if c == 1 {
        shape.len() == 1
    } else {
        shape.len() == 2 && shape[1] == c
    };
    if !cols_ok || shape[0] as u64 != ids.num_ids {
        return Err(format!(
            "field '{name}' has shape {shape:?}, this run's mesh needs {} rows (entities of space {}) of {c}",
            ids.num_ids,
            spec.space.code()
        ));
    }
    if let Some(i) = ids.owned.iter().find(|&&i| u64::from(i) >= ids.num_ids) {
        return Err(format!(
            "mesh id {i} owned by rank {me} is out of range for the {} ids of space {}",
            ids.num_ids,
            spec.space.code()
        ));
    }
    let starts = even_starts(ids.num_ids, comm.size() as usize);
    let count = to_usize(starts[me + 1] - starts[me]).map_err(|e| e.to_string())?;
    let rows: Vec<f64> = read_rows(&ds, starts[me], count).map_err(damaged)?;
    Ok(Block {
        partial: checksum(starts[me], &rows, c),
        rows,
        stored: read_attr(&ds, "checksum").map_err(damaged)?,
    })
}

/// The spec of the stored field `name`, from its attributes.
fn stored_spec(ds: &hdf5::Dataset, name: &str) -> std::result::Result<FieldSpec, String> {
    let code = |key: &str| read_attr_str(ds, key).map_err(damaged);
    Ok(FieldSpec {
        name: name.to_string(),
        center: Center::from_code(&code("center")?).ok_or_else(|| format!("damaged: field '{name}': center"))?,
        space: Space::from_code(&code("space")?).ok_or_else(|| format!("damaged: field '{name}': space"))?,
        components: read_attr::<u64>(ds, "components").map_err(damaged)? as usize,
    })
}

/// The partial checksum of rows `offset..` holding `block` (`comps` per row).
fn checksum(offset: u64, block: &[f64], comps: usize) -> u64 {
    block
        .chunks_exact(comps)
        .enumerate()
        .fold(0u64, |s, (i, row)| s.wrapping_add(row_hash(offset + i as u64, row)))
}

/// Rank 0: the checkpoint's directory exists (created if needed).
fn prepare_dir(path: &Path) -> Result<()> {
    if path.file_name().is_none() {
        return Err(Error::Output(format!("checkpoint {}: not a file path", path.display())));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        }),
        _ => Ok(()),
    }
}

/// Rank 0: makes the closed `tmp` durable and puts it in place of `path` in one rename, then
/// syncs the directory so the rename itself is durable.
fn commit(tmp: &Path, path: &Path) -> Result<()> {
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| Error::Io { path, source }
    };
    std::fs::File::open(tmp).and_then(|f| f.sync_all()).map_err(io(tmp))?;
    std::fs::rename(tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Not every file system can sync a directory; the rename is done either way.
        let _ = std::fs::File::open(dir).and_then(|f| f.sync_all());
    }
    Ok(())
}

/// Compares the options a checkpoint was written with (`stored`, JSON) with this run's
/// (`current`) at the keys that must not change (dotted paths into the JSON objects, e.g.
/// `"mesh"` or `"solver.tol"`); a key absent on one side counts as `null`. The first key that
/// differs is an [`Error::Input`] naming both values.
pub fn check_options(stored: &str, current: &str, keys: &[&str]) -> Result<()> {
    let parse = |text: &str, whose: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| Error::input(format!("checkpoint: the {whose} options are not JSON: {e}")))
    };
    let (a, b) = (parse(stored, "stored")?, parse(current, "current")?);
    for key in keys {
        let pointer = format!("/{}", key.replace('.', "/"));
        let null = serde_json::Value::Null;
        let (x, y) = (
            a.pointer(&pointer).unwrap_or(&null),
            b.pointer(&pointer).unwrap_or(&null),
        );
        if x != y {
            return Err(Error::input(format!(
                "the checkpoint was written with {key} = {x}, this run has {key} = {y}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_differ_only_where_asked() {
        let a = r#"{"mesh": "8x8", "dt": 0.1, "solver": {"tol": 1e-8, "name": "cg"}}"#;
        let b = r#"{"mesh": "8x8", "dt": 0.2, "solver": {"tol": 1e-8, "name": "gmres"}}"#;
        assert!(check_options(a, b, &["mesh", "solver.tol"]).is_ok());
        let e = check_options(a, b, &["mesh", "solver.name"]).unwrap_err().to_string();
        assert!(e.contains("solver.name = \"cg\"") && e.contains("\"gmres\""), "{e}");
        let e = check_options(a, b, &["missing", "dt"]).unwrap_err().to_string();
        assert!(e.contains("dt = 0.1"), "{e}");
        assert!(check_options("not json", b, &[]).is_err());
    }

    #[test]
    fn fingerprints_tell_meshes_apart() {
        let a = Mesh::structured(&[4, 4], true).unwrap();
        let mut b = a.clone();
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
        b.points[3][0] += 1e-12;
        assert_ne!(Fingerprint::of(&a).hash, Fingerprint::of(&b).hash);
        let c = Mesh::structured(&[4, 4], false).unwrap();
        assert_ne!(Fingerprint::of(&a), Fingerprint::of(&c));
    }

    #[test]
    fn checksums_do_not_depend_on_the_split() {
        let v: Vec<f64> = (0..30).map(|i| (i as f64).sin()).collect();
        let whole = checksum(0, &v, 3);
        let split = checksum(0, &v[..12], 3).wrapping_add(checksum(4, &v[12..], 3));
        assert_eq!(whole, split);
        let mut w = v.clone();
        w.swap(0, 3);
        assert_ne!(whole, checksum(0, &w, 3));
    }
}

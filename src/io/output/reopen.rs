//! Continuing and reading back a series: [`Writer::reopen`] picks up the file of an earlier run
//! (a restart) and appends after its registered snapshots; [`read_field`] reads one field of
//! one snapshot back, by rows of the file's numbering or by input-mesh id.

use super::checks::{check_mesh_across, check_mesh_local};
use super::{Center, FieldSpec, OutputMesh, Space, StaticField, Step, Writer, RANK_FIELD};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::exchange::{even_starts, IdExchange};
use crate::io::h5::{h5_error, read_attr, read_attr_str, read_rows, same_everywhere, to_usize, Fnv};
use hdf5::{Dataset, File, Location};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::path::Path;

/// What a reopened file holds beyond the mesh, as read by every rank.
struct Structure {
    times: Vec<f64>,
    statics: Vec<FieldSpec>,
    /// Registered time-dependent fields, with the snapshots that hold them.
    dynamic: Vec<(FieldSpec, Vec<usize>)>,
    /// Objects beyond the registered snapshots (left by a killed run), to delete.
    leftovers: Vec<String>,
}

impl Writer {
    /// Collective: reopens the HDF5 file of an earlier run to continue its series: snapshots
    /// are appended after the `len(/times)` registered ones, none of which is changed, and any
    /// `/fields/NAME/K` with `K >= len(/times)` (left by a run killed mid-snapshot) is deleted
    /// first. The static fields and field specs are read from the file; the XDMF beside it is
    /// rewritten.
    ///
    /// `mesh` is this run's description, which must be the file's: the same global mesh and
    /// the same owned blocks (a restart on the same partition, e.g. the same number of ranks);
    /// a file with another mesh or another partition gives an error on every rank (continue in
    /// a new file then). A P1 map must be given again ([`Writer::set_p1_map`]).
    pub fn reopen(comm: &Comm, h5_path: &Path, mesh: &OutputMesh) -> Result<Writer> {
        let exists = if h5_path.is_file() {
            Ok(())
        } else {
            Err(Error::Output(format!("{}: no such file to reopen", h5_path.display())))
        };
        let local = exists.and_then(|()| check_mesh_local(mesh));
        let across = check_mesh_across(comm, mesh);
        comm.agree(local.and(across))?;

        let raw = comm.world().as_raw();
        let file = File::with_options().with_fapl(|p| p.mpio(raw, None)).open_rw(h5_path);
        let file = comm.agree(file.map_err(|e| h5_error(h5_path, "cannot reopen", e)))?;
        let h5_name = h5_path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut w = Writer::with_file(file, h5_path.to_path_buf(), h5_name, mesh);

        let read = w.check_mesh_in_file(comm, mesh).and_then(|()| w.read_structure());
        let s = comm.agree(read)?;
        let mut h = Fnv::new();
        h.u64(s.times.len() as u64);
        for spec in s.statics.iter().chain(s.dynamic.iter().map(|d| &d.0)) {
            spec.hash_into(&mut h);
        }
        for l in &s.leftovers {
            h.str(l);
        }
        let same = if same_everywhere(comm, h.0) {
            Ok(())
        } else {
            Err(Error::Output(format!(
                "{}: ranks read different contents (is the file changing?)",
                h5_path.display()
            )))
        };
        comm.agree(same)?;

        // Collective metadata changes: every rank deletes the same objects in the same order.
        let cleaned = w.delete(&s.leftovers);
        comm.agree(cleaned)?;

        for spec in s.statics {
            w.statics.push(StaticField { spec, int32: false });
        }
        for (k, &time) in s.times.iter().enumerate() {
            let fields = s
                .dynamic
                .iter()
                .filter(|d| d.1.binary_search(&k).is_ok())
                .map(|d| d.0.name.clone())
                .collect();
            w.steps.push(Step { time, fields });
        }
        w.dynamic = s.dynamic.into_iter().map(|d| d.0).collect();
        w.xdmf.invalidate();
        w.update_xdmf(comm, false)?;
        Ok(w)
    }

    /// Local: the file's mesh has this run's sizes, and its rows in this rank's blocks are this
    /// rank's points and cells.
    fn check_mesh_in_file(&self, comm: &Comm, mesh: &OutputMesh) -> Result<()> {
        let ctx = |e| h5_error(&self.h5_path, "reading the mesh", e);
        let file = self.file()?;
        let geometry = file.dataset("mesh/geometry").map_err(ctx)?;
        let topology = file.dataset("mesh/topology").map_err(ctx)?;
        let nv = self.cell_type.num_vertices();
        let (np, nc) = (to_usize(self.num_points_global)?, to_usize(self.num_cells_global)?);
        if geometry.shape() != [np, self.gdim] || topology.shape() != [nc, nv] {
            return Err(Error::Output(format!(
                "{}: holds a mesh of {:?} coordinates and {:?} cell nodes, this run's is [{np}, {}] and [{nc}, {nv}]",
                self.h5_path.display(),
                geometry.shape(),
                topology.shape(),
                self.gdim
            )));
        }
        let xyz: Vec<f64> = read_rows(&geometry, self.point_offset, self.num_points_local).map_err(ctx)?;
        let conn: Vec<i64> = read_rows(&topology, self.cell_offset, self.num_cells_local).map_err(ctx)?;
        let same_points = mesh
            .points
            .iter()
            .flat_map(|p| &p[..self.gdim])
            .zip(&xyz)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        let same_cells = mesh.connectivity.iter().zip(&conn).all(|(&a, &b)| a as i64 == b);
        if !same_points || !same_cells {
            return Err(Error::Output(format!(
                "{}: the mesh differs from this run's in the rows rank {} owns: another mesh, or \
                 another partition (a series continues only on the partition that wrote it; write a new file)",
                self.h5_path.display(),
                comm.rank()
            )));
        }
        Ok(())
    }

    /// Local: the registered snapshots, the static and time-dependent fields with their specs,
    /// and the objects beyond the registered snapshots.
    fn read_structure(&self) -> Result<Structure> {
        let ctx = |e| h5_error(&self.h5_path, "reading the series", e);
        let file = self.file()?;
        let times: Vec<f64> = file.dataset("times").and_then(|d| d.read_raw()).map_err(ctx)?;
        let n = times.len();
        let mut statics = Vec::new();
        let static_group = file.group("static").map_err(ctx)?;
        for name in static_group.member_names().map_err(ctx)? {
            if name == RANK_FIELD {
                continue;
            }
            let ds = static_group.dataset(&name).map_err(ctx)?;
            statics.push(self.spec_of(&name, &ds, &ds)?);
        }
        let mut dynamic: Vec<(FieldSpec, Vec<usize>)> = Vec::new();
        let mut leftovers = Vec::new();
        let fields = file.group("fields").map_err(ctx)?;
        for name in fields.member_names().map_err(ctx)? {
            let g = fields.group(&name).map_err(ctx)?;
            let mut registered = Vec::new();
            for m in g.member_names().map_err(ctx)? {
                match m.parse::<usize>() {
                    Ok(k) if k < n => registered.push(k),
                    Ok(_) => leftovers.push(format!("fields/{name}/{m}")),
                    Err(_) => {}
                }
            }
            registered.sort_unstable();
            let Some(&first) = registered.first() else {
                // Only unregistered snapshots: the whole group is a leftover.
                leftovers.retain(|l| !l.starts_with(&format!("fields/{name}/")));
                leftovers.push(format!("fields/{name}"));
                continue;
            };
            let ds = g.dataset(&first.to_string()).map_err(ctx)?;
            dynamic.push((self.spec_of(&name, &g, &ds)?, registered));
        }
        // The order the fields first appeared in (names break ties).
        dynamic.sort_by(|a, b| (a.1[0], &a.0.name).cmp(&(b.1[0], &b.0.name)));
        Ok(Structure {
            times,
            statics,
            dynamic,
            leftovers,
        })
    }

    /// The spec recorded on `loc` (attributes), or for files without them, inferred from the
    /// shape of `ds`.
    fn spec_of(&self, name: &str, loc: &Location, ds: &Dataset) -> Result<FieldSpec> {
        if let Some(spec) = read_spec(name, loc) {
            return Ok(spec);
        }
        let shape = ds.shape();
        let comps = if shape.len() == 2 { 3 } else { 1 };
        let rows = shape.first().copied().unwrap_or(0) as u64;
        let (np, nc) = (self.num_points_global, self.num_cells_global);
        match (rows == np, rows == nc) {
            (true, false) => Ok(FieldSpec {
                space: if self.cell_type.degree() == 2 {
                    Space::P2
                } else {
                    Space::P1
                },
                ..FieldSpec::p1(name, comps)
            }),
            (false, true) => Ok(FieldSpec::cells(name, comps)),
            _ => Err(Error::Output(format!(
                "{}: cannot tell whether field '{name}' ({rows} rows) lives on the {np} points or the {nc} cells",
                self.h5_path.display()
            ))),
        }
    }

    /// Collective: unlinks `paths` and flushes.
    fn delete(&self, paths: &[String]) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let file = self.file()?;
        for p in paths {
            file.unlink(p)
                .map_err(|e| h5_error(&self.h5_path, &format!("deleting the leftover /{p}"), e))?;
        }
        self.flush("deleting leftovers of an interrupted run")
    }
}

/// The spec recorded as attributes on `loc`, if complete and valid.
fn read_spec(name: &str, loc: &Location) -> Option<FieldSpec> {
    let center = Center::from_code(&read_attr_str(loc, "center").ok()?)?;
    let space = Space::from_code(&read_attr_str(loc, "space").ok()?)?;
    let components = read_attr::<u64>(loc, "components").ok()? as usize;
    let spec = FieldSpec {
        name: name.to_string(),
        center,
        components,
        space,
    };
    spec.validate().ok().map(|()| spec)
}

/// Which rows of a field [`read_field`] returns to this rank.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// Rows `offset..offset + count` of the file's numbering: the rank's owned block, for a run
    /// on the partition that wrote the file.
    Range {
        /// First row.
        offset: u64,
        /// Number of rows.
        count: usize,
    },
    /// The entities with these input-mesh ids (any order), looked up through the file's
    /// `/static/mesh_id` (written by `problems::setup::create_writer` for the center of the
    /// unknowns): works on any partition and any number of ranks.
    MeshIds(&'a [u32]),
}

/// Collective: reads field `name` of snapshot `snapshot` (`/fields/NAME/K`), or the static
/// field with `None` (`/static/NAME`), from a closed output file, for the rows this rank asks
/// for. Returns the field's spec as written and `components` values per row, in the order of
/// `rows` (vectors without the padding of 2D vectors). Every rank opens the file on its own
/// (read-only, no MPI-IO); an error anywhere (no such file, field or snapshot, an unregistered
/// snapshot, a mesh id the file does not hold) is an error on every rank.
pub fn read_field(
    comm: &Comm,
    h5_path: &Path,
    name: &str,
    snapshot: Option<usize>,
    rows: Rows,
) -> Result<(FieldSpec, Vec<f64>)> {
    let what = match snapshot {
        Some(k) => format!("/fields/{name}/{k}"),
        None => format!("/static/{name}"),
    };
    let opened = open_field(h5_path, name, snapshot, &what);
    let (file, ds, spec) = comm.agree(opened)?;
    let stored = ds.shape().get(1).copied().unwrap_or(1);
    let n = ds.shape()[0] as u64;
    let ctx = |e| h5_error(h5_path, &format!("reading {what}"), e);
    let raw = match rows {
        Rows::Range { offset, count } => comm.agree(read_rows::<f64>(&ds, offset, count).map_err(ctx))?,
        Rows::MeshIds(ids) => read_by_mesh_id(comm, h5_path, &file, &ds, n, stored, ids)?,
    };
    let c = spec.components;
    let values = if stored == c {
        raw
    } else {
        raw.chunks_exact(stored).flat_map(|r| &r[..c]).copied().collect()
    };
    Ok((spec, values))
}

/// Local: opens the file and the dataset of one field, with its spec.
fn open_field(h5_path: &Path, name: &str, snapshot: Option<usize>, what: &str) -> Result<(File, Dataset, FieldSpec)> {
    let ctx = |e| h5_error(h5_path, &format!("reading {what}"), e);
    if !h5_path.is_file() {
        return Err(Error::Output(format!("{}: no such file", h5_path.display())));
    }
    let file = File::open(h5_path).map_err(|e| h5_error(h5_path, "cannot open", e))?;
    if let Some(k) = snapshot {
        let n = file.dataset("times").map_err(ctx)?.shape()[0];
        if k >= n {
            return Err(Error::Output(format!(
                "{}: snapshot {k} is not registered (the file holds {n})",
                h5_path.display()
            )));
        }
    }
    let (ds, recorded) = match snapshot {
        Some(k) => {
            let g = file
                .group(&format!("fields/{name}"))
                .map_err(|_| no_field(h5_path, name))?;
            let ds = g.dataset(&k.to_string()).map_err(ctx)?;
            let recorded = read_spec(name, &g);
            (ds, recorded)
        }
        None => {
            let ds = file
                .dataset(&format!("static/{name}"))
                .map_err(|_| no_field(h5_path, name))?;
            let recorded = read_spec(name, &ds);
            (ds, recorded)
        }
    };
    let stored = ds.shape().get(1).copied().unwrap_or(1);
    let spec = match recorded {
        Some(spec) => spec,
        None => {
            // A file written before specs were recorded: cells if the row count says so.
            let cells = file.dataset("mesh/topology").map_err(ctx)?.shape()[0];
            let points = file.dataset("mesh/geometry").map_err(ctx)?.shape()[0];
            let rows = ds.shape().first().copied().unwrap_or(0);
            if rows == cells && rows != points {
                FieldSpec::cells(name, stored)
            } else {
                FieldSpec::p1(name, stored)
            }
        }
    };
    if ds.shape().len() > 2 || (stored != 1 && stored != 3) || spec.components > stored {
        return Err(Error::Output(format!(
            "{}: {what} has shape {:?}, not that of {}",
            h5_path.display(),
            ds.shape(),
            spec.describe()
        )));
    }
    Ok((file, ds, spec))
}

fn no_field(h5_path: &Path, name: &str) -> Error {
    Error::Output(format!("{}: no field '{name}'", h5_path.display()))
}

/// Collective: the rows of `ds` (`n` rows of `comps` values) of the entities with mesh ids
/// `ids`: each rank reads an even block of rows and of `/static/mesh_id`, the values move to
/// an even split of the id range and from there to the ranks that asked.
fn read_by_mesh_id(
    comm: &Comm,
    h5_path: &Path,
    file: &File,
    ds: &Dataset,
    n: u64,
    comps: usize,
    ids: &[u32],
) -> Result<Vec<f64>> {
    let size = comm.size() as usize;
    let rows = even_starts(n, size);
    let me = comm.rank() as usize;
    let (lo, count) = (rows[me], (rows[me + 1] - rows[me]) as usize);
    let read = || -> Result<(Vec<u64>, Vec<f64>)> {
        let ctx = |e| h5_error(h5_path, "reading /static/mesh_id", e);
        let id_ds = file.dataset("static/mesh_id").map_err(ctx)?;
        if id_ds.shape() != [n as usize] {
            return Err(Error::Output(format!(
                "{}: /static/mesh_id numbers {:?} entities, the field has {n} rows (mesh ids are \
                 stored for the center of the unknowns only)",
                h5_path.display(),
                id_ds.shape()
            )));
        }
        let mine: Vec<f64> = read_rows(&id_ds, lo, count).map_err(ctx)?;
        let block_ids = mine
            .iter()
            .map(|&x| {
                if x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) {
                    Ok(x as u64)
                } else {
                    Err(Error::Output(format!(
                        "{}: /static/mesh_id holds {x}",
                        h5_path.display()
                    )))
                }
            })
            .collect::<Result<Vec<u64>>>()?;
        let values = read_rows(ds, lo, count).map_err(|e| h5_error(h5_path, "reading the field", e))?;
        Ok((block_ids, values))
    };
    let (block_ids, values) = comm.agree(read())?;

    // The id range: one past the largest id in the file or asked for.
    let top = block_ids
        .iter()
        .copied()
        .chain(ids.iter().map(|&i| u64::from(i)))
        .map(|i| i + 1)
        .max()
        .unwrap_or(0);
    let mut n_ids = 0u64;
    comm.world().all_reduce_into(&top, &mut n_ids, SystemOperation::max());
    let starts = even_starts(n_ids, size);
    let stored = IdExchange::new(comm, &starts, &block_ids)?;
    let repeated = match stored.repeated_row() {
        Some(r) => Err(Error::Output(format!(
            "{}: /static/mesh_id holds id {} twice",
            h5_path.display(),
            starts[me] + r as u64
        ))),
        None => Ok(()),
    };
    comm.agree(repeated)?;
    let by_id = stored.to_blocks(comm, &values, comps, f64::NAN);
    let present: Vec<f64> = stored.named_rows().iter().map(|&p| if p { 1.0 } else { 0.0 }).collect();
    let wanted: Vec<u64> = ids.iter().map(|&i| u64::from(i)).collect();
    let asked = IdExchange::new(comm, &starts, &wanted)?;
    let out = asked.fetch(comm, &by_id, comps);
    let found = asked.fetch(comm, &present, 1);
    let missing = match found.iter().position(|&p| p == 0.0) {
        Some(j) => Err(Error::Output(format!(
            "{}: mesh id {} is not in /static/mesh_id",
            h5_path.display(),
            ids[j]
        ))),
        None => Ok(()),
    };
    comm.agree(missing)?;
    Ok(out)
}

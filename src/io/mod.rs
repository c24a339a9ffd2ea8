//! Output (temporary stub until the HDF5 writer lands).
#![allow(missing_docs, dead_code, unused_variables)]
use crate::comm::Comm;
use crate::error::Result;
use crate::mesh::CellType;
use std::path::Path;
pub struct OutputMesh<'a> { pub gdim: usize, pub cell_type: CellType, pub num_points_global: u64, pub point_offset: u64, pub points: &'a [[f64; 3]], pub num_cells_global: u64, pub cell_offset: u64, pub connectivity: &'a [u64] }
#[derive(Clone, Copy, Debug)]
pub enum Center { Point, Cell }
pub struct Writer;
impl Writer {
    pub fn create(comm: &Comm, dir: &Path, stem: &str, mesh: &OutputMesh) -> Result<Writer> { Ok(Writer) }
    pub fn write_snapshot(&mut self, comm: &Comm, time: f64, fields: &[(&str, Center, &[f64])]) -> Result<()> { Ok(()) }
    pub fn finish(self, comm: &Comm) -> Result<()> { Ok(()) }
}

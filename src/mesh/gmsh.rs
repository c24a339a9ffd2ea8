//! Gmsh MSH reader (placeholder until the reader lands).
use super::Mesh;
use crate::error::{Error, Result};
/// Reads a Gmsh MSH 2.2 or 4.1 ASCII file.
pub fn read(path: &std::path::Path) -> Result<Mesh> {
    Err(Error::mesh(path.display().to_string(), "reader not implemented yet"))
}

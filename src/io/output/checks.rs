//! Argument checks of the writer's mesh description: local consistency, and agreement and
//! tiling across the ranks.

use super::OutputMesh;
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::h5::{same_everywhere, Fnv};

/// Local: dimensions, connectivity length and ranges of one rank's description.
pub(super) fn check_mesh_local(mesh: &OutputMesh) -> Result<()> {
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
pub(super) fn check_mesh_across(comm: &Comm, mesh: &OutputMesh) -> Result<()> {
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

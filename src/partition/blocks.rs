//! Cartesian block decomposition of a structured grid: px×py(×pz) blocks of nearly equal size,
//! the process grid chosen to minimize the cut surface unless given.

use crate::error::{Error, Result};
use crate::mesh::Mesh;

/// The process grid for `n_parts` blocks of a grid with `n` cells per direction that cuts the
/// fewest cell faces (ties broken towards more blocks along the first axis, the contiguous one).
pub fn block_dims(n: &[usize], n_parts: usize) -> Result<Vec<usize>> {
    let mut best: Option<(usize, Vec<usize>)> = None;
    let mut try_dims = |p: Vec<usize>| {
        if p.iter().zip(n).any(|(pi, ni)| pi > ni) {
            return;
        }
        // Faces cut by the p_i - 1 planes normal to axis i, each of prod_{j != i} n_j faces.
        let cut: usize = (0..n.len())
            .map(|i| {
                (p[i] - 1)
                    * n.iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &v)| v)
                        .product::<usize>()
            })
            .sum();
        if best.as_ref().is_none_or(|(c, _)| cut <= *c) {
            best = Some((cut, p));
        }
    };
    for px in (1..=n_parts).filter(|d| n_parts % d == 0) {
        let rest = n_parts / px;
        if n.len() == 2 {
            try_dims(vec![px, rest]);
        } else {
            for py in (1..=rest).filter(|d| rest % d == 0) {
                try_dims(vec![px, py, rest / py]);
            }
        }
    }
    best.map(|(_, p)| p)
        .ok_or_else(|| Error::Partition(format!("{n_parts} blocks do not fit a grid of {n:?} cells")))
}

/// First cell index of block `b` of `p` blocks along an axis of `n` cells.
pub(crate) fn block_start(n: usize, p: usize, b: usize) -> usize {
    b * n / p
}

/// Block parts for a structured mesh.
pub(super) fn partition(mesh: &Mesh, n_parts: usize, dims: Option<&[usize]>) -> Result<Vec<u32>> {
    let grid = mesh.grid.as_ref().ok_or_else(|| {
        Error::Partition(
            "the blocks partitioner needs a structured grid (--grid); use --partitioner metis for meshes".into(),
        )
    })?;
    let n = &grid.n[..grid.dim];
    let p = match dims {
        Some(d) => {
            if d.len() != grid.dim
                || d.iter().product::<usize>() != n_parts
                || d.iter().zip(n).any(|(pi, ni)| *pi == 0 || pi > ni)
            {
                return Err(Error::Partition(format!(
                    "process grid {d:?} does not give {n_parts} non-empty blocks of a {n:?} grid"
                )));
            }
            d.to_vec()
        }
        None => block_dims(n, n_parts)?,
    };
    // Per-axis lookup: block index of every cell coordinate.
    let axis_block = |axis: usize| -> Vec<u32> {
        let mut v = vec![0u32; n[axis]];
        for b in 0..p[axis] {
            for x in &mut v[block_start(n[axis], p[axis], b)..block_start(n[axis], p[axis], b + 1)] {
                *x = b as u32;
            }
        }
        v
    };
    let bx = axis_block(0);
    let by = axis_block(1);
    let bz = if grid.dim == 3 { axis_block(2) } else { vec![0] };
    let (px, py) = (p[0] as u32, p[1] as u32);
    let mut parts = Vec::with_capacity(mesh.num_cells());
    for &bk in &bz {
        for &bj in &by {
            for &bi in &bx {
                // Simplices of one grid cell stay together.
                for _ in 0..grid.cells_per_grid_cell {
                    parts.push(bi + px * (bj + py * bk));
                }
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_minimize_cut() {
        assert_eq!(block_dims(&[64, 64], 4).unwrap(), vec![2, 2]);
        assert_eq!(block_dims(&[256, 16], 4).unwrap(), vec![4, 1]);
        assert_eq!(block_dims(&[32, 32, 32], 8).unwrap(), vec![2, 2, 2]);
        assert_eq!(block_dims(&[64, 64], 3).unwrap(), vec![3, 1]);
        assert!(block_dims(&[2, 2], 5).is_err());
    }

    #[test]
    fn blocks_are_balanced() {
        let m = Mesh::structured(&[12, 8], false).unwrap();
        let parts = partition(&m, 6, None).unwrap();
        let mut sizes = [0; 6];
        for p in parts {
            sizes[p as usize] += 1;
        }
        assert_eq!(sizes, [16; 6]);
        // Uneven splits differ by at most one cell per axis.
        let m = Mesh::structured(&[10, 7], false).unwrap();
        let parts = partition(&m, 6, Some(&[3, 2])).unwrap();
        let mut sizes = [0; 6];
        for p in parts {
            sizes[p as usize] += 1;
        }
        assert_eq!(sizes, [9, 9, 12, 12, 12, 16]);
    }
}

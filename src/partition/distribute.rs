//! Distribution: from the replicated mesh and a partition, each rank extracts its owned cells,
//! `layers` ghost-cell layers grown through a cell graph, the points they touch, and a global
//! renumbering in which each rank's owned cells and owned points form contiguous ranges (what
//! the collective HDF5 writes and the [`Layout`]s need). A point is owned by the lowest part
//! among the cells that contain it.

use super::Partition;
use crate::comm::Layout;
use crate::error::{Error, Result};
use crate::mesh::{CellType, Graph, Mesh};

/// One rank's share of the mesh: owned entities first, then ghosts, each with a [`Layout`].
#[derive(Clone, Debug)]
pub struct LocalMesh {
    /// The cell type.
    pub cell_type: CellType,
    /// Geometric dimension.
    pub gdim: usize,
    /// Cell layout: owned cells are global ids `offset..offset+n_owned` of the renumbering.
    pub cells: Layout,
    /// Original mesh cell id of each local cell.
    pub cell_orig: Vec<u32>,
    /// Ghost layer (1, 2, ...) of each ghost cell.
    pub ghost_layer: Vec<u8>,
    /// Point layout: owned points first, then the other points of local cells.
    pub points: Layout,
    /// Original mesh point id of each local point.
    pub point_orig: Vec<u32>,
    /// Connectivity of every local cell in local point indices.
    pub conn: Vec<u32>,
}

impl LocalMesh {
    /// Local point indices of local cell `c`.
    pub fn cell(&self, c: usize) -> &[u32] {
        let nv = self.cell_type.num_vertices();
        &self.conn[c * nv..(c + 1) * nv]
    }
    /// Number of local (owned + ghost) cells.
    pub fn num_local_cells(&self) -> usize {
        self.cell_orig.len()
    }
    /// Global (renumbered) point ids of the owned cells, for output.
    pub fn owned_connectivity_global(&self) -> Vec<u64> {
        let nv = self.cell_type.num_vertices();
        self.conn[..self.cells.n_owned * nv]
            .iter()
            .map(|&p| self.points.global(p as usize))
            .collect()
    }
}

/// Renumbers entities part by part: entity `e` with part `part[e]` gets the global id
/// `offset[part] + (its position among that part's entities)`; entities with an out-of-range
/// part keep `u32::MAX`. Also returns the offsets (`n_parts + 1` entries).
fn renumber(part: impl Iterator<Item = u32>, n_parts: usize) -> (Vec<u32>, Vec<u64>) {
    let part: Vec<u32> = part.collect();
    let mut counts = vec![0u64; n_parts + 1];
    for &p in &part {
        if (p as usize) < n_parts {
            counts[p as usize + 1] += 1;
        }
    }
    for i in 0..n_parts {
        counts[i + 1] += counts[i];
    }
    let mut next = counts.clone();
    let ids = part
        .iter()
        .map(|&p| {
            if (p as usize) < n_parts {
                next[p as usize] += 1;
                (next[p as usize] - 1) as u32
            } else {
                u32::MAX
            }
        })
        .collect();
    (ids, counts)
}

/// The part owning each mesh point: the lowest part among the cells containing it (`u32::MAX`
/// for points in no cell, which are skipped).
fn point_owners(mesh: &Mesh, part: &Partition) -> Vec<u32> {
    let mut owner = vec![u32::MAX; mesh.num_points()];
    for c in 0..mesh.num_cells() {
        for &v in mesh.cell(c) {
            owner[v as usize] = owner[v as usize].min(part.parts[c]);
        }
    }
    owner
}

/// The global id of every mesh point in the distributed numbering (the ids of
/// [`LocalMesh::points`] on every rank, so of the rows of point-based matrices); `u32::MAX` for
/// points in no cell. Needs no communication, like [`distribute`].
pub fn point_numbering(mesh: &Mesh, part: &Partition) -> Vec<u32> {
    renumber(point_owners(mesh, part).into_iter(), part.n_parts).0
}

/// Builds this rank's [`LocalMesh`] with `layers` ghost layers grown through `graph` (the facet
/// graph for FD stencils, the vertex graph for P1 rows). Needs no communication: mesh and
/// partition are the same on every rank.
pub fn distribute(rank: usize, mesh: &Mesh, part: &Partition, graph: &Graph, layers: usize) -> Result<LocalMesh> {
    if rank >= part.n_parts {
        return Err(Error::Partition(format!(
            "rank {rank} has no part among {} parts",
            part.n_parts
        )));
    }
    let nc = mesh.num_cells();
    let (cell_id, cell_off) = renumber(part.parts.iter().copied(), part.n_parts);
    let owner = point_owners(mesh, part);
    let (point_id, point_off) = renumber(owner.iter().copied(), part.n_parts);

    let (cell_orig, ghost_layer) = local_cells(rank, nc, part, graph, layers, &cell_id);
    let n_owned_cells = cell_orig.len() - ghost_layer.len();
    let (point_orig, n_owned_points) = local_points(rank, mesh, &owner, &point_id, &cell_orig);
    let mut plocal = vec![u32::MAX; mesh.num_points()];
    for (l, &p) in point_orig.iter().enumerate() {
        plocal[p as usize] = l as u32;
    }
    let conn = cell_orig
        .iter()
        .flat_map(|&c| mesh.cell(c as usize))
        .map(|&v| plocal[v as usize])
        .collect();

    let ghosts_of = |orig: &[u32], ids: &[u32], who: &dyn Fn(u32) -> u32| -> (Vec<u64>, Vec<i32>) {
        orig.iter().map(|&e| (ids[e as usize] as u64, who(e) as i32)).unzip()
    };
    let (cg, co) = ghosts_of(&cell_orig[n_owned_cells..], &cell_id, &|c| part.parts[c as usize]);
    let (pg, po) = ghosts_of(&point_orig[n_owned_points..], &point_id, &|p| owner[p as usize]);
    Ok(LocalMesh {
        cell_type: mesh.cell_type,
        gdim: mesh.gdim,
        cells: Layout {
            offset: cell_off[rank],
            n_owned: n_owned_cells,
            n_global: nc as u64,
            ghosts: cg,
            ghost_owners: co,
        },
        cell_orig,
        ghost_layer,
        points: Layout {
            offset: point_off[rank],
            n_owned: n_owned_points,
            n_global: point_off[part.n_parts],
            ghosts: pg,
            ghost_owners: po,
        },
        point_orig,
        conn,
    })
}

/// This rank's cells (of `nc`) as original ids: the owned ones in original order (= renumbered order),
/// then `layers` ghost layers grown by BFS through `graph`, each layer in renumbered order;
/// with the layer (1, 2, ...) of each ghost.
fn local_cells(
    rank: usize,
    nc: usize,
    part: &Partition,
    graph: &Graph,
    layers: usize,
    cell_id: &[u32],
) -> (Vec<u32>, Vec<u8>) {
    let mut local_of = vec![u32::MAX; nc];
    let mut cell_orig: Vec<u32> = (0..nc as u32)
        .filter(|&c| part.parts[c as usize] as usize == rank)
        .collect();
    for (l, &c) in cell_orig.iter().enumerate() {
        local_of[c as usize] = l as u32;
    }
    let mut ghost_layer = Vec::new();
    let mut front = 0..cell_orig.len();
    for layer in 1..=layers {
        let mut new: Vec<u32> = Vec::new();
        for l in front.clone() {
            for &d in graph.neighbours(cell_orig[l] as usize) {
                if local_of[d as usize] == u32::MAX {
                    local_of[d as usize] = 0; // mark; the real index is set below
                    new.push(d);
                }
            }
        }
        new.sort_by_key(|&c| cell_id[c as usize]);
        let start = cell_orig.len();
        for &c in &new {
            local_of[c as usize] = cell_orig.len() as u32;
            cell_orig.push(c);
            ghost_layer.push(layer as u8);
        }
        front = start..cell_orig.len();
    }
    (cell_orig, ghost_layer)
}

/// This rank's points as original ids: the owned ones in original order, then the ghosts of
/// the local cells `cell_orig` by global id; with the number of owned points.
fn local_points(rank: usize, mesh: &Mesh, owner: &[u32], point_id: &[u32], cell_orig: &[u32]) -> (Vec<u32>, usize) {
    let mut point_orig: Vec<u32> = (0..mesh.num_points() as u32)
        .filter(|&p| owner[p as usize] as usize == rank)
        .collect();
    let n_owned_points = point_orig.len();
    let mut ghost_points: Vec<u32> = Vec::new();
    let mut seen = vec![false; mesh.num_points()];
    for &c in cell_orig {
        for &v in mesh.cell(c as usize) {
            if owner[v as usize] as usize != rank && !seen[v as usize] {
                seen[v as usize] = true;
                ghost_points.push(v);
            }
        }
    }
    ghost_points.sort_by_key(|&p| point_id[p as usize]);
    point_orig.extend_from_slice(&ghost_points);
    (point_orig, n_owned_points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Adjacency;
    use crate::partition::{partition, Method};

    /// Every cell is owned exactly once, owned ranges tile the global numbering, and ghost
    /// layer k holds exactly the cells at graph distance k from the owned set.
    #[test]
    fn ownership_and_ghost_layers() {
        let m = Mesh::structured(&[12, 9], true).unwrap();
        let dual = m.cell_graph(Adjacency::Facet);
        let p = partition(&m, &dual, 4, &Method::MetisKway).unwrap();
        let mut owned_by = vec![0; m.num_cells()];
        let mut next_offset = 0;
        for r in 0..4 {
            let lm = distribute(r, &m, &p, &dual, 2).unwrap();
            assert_eq!(lm.cells.offset, next_offset);
            next_offset += lm.cells.n_owned as u64;
            for &c in &lm.cell_orig[..lm.cells.n_owned] {
                owned_by[c as usize] += 1;
                assert_eq!(p.parts[c as usize] as usize, r);
            }
            // Graph distance from the owned set, by BFS, must equal the recorded layer.
            let mut dist = vec![usize::MAX; m.num_cells()];
            let mut q: std::collections::VecDeque<usize> =
                lm.cell_orig[..lm.cells.n_owned].iter().map(|&c| c as usize).collect();
            for &c in &q {
                dist[c] = 0;
            }
            while let Some(c) = q.pop_front() {
                for &d in dual.neighbours(c) {
                    if dist[d as usize] == usize::MAX {
                        dist[d as usize] = dist[c] + 1;
                        q.push_back(d as usize);
                    }
                }
            }
            let expect: Vec<u32> = (0..m.num_cells() as u32)
                .filter(|&c| (1..=2).contains(&dist[c as usize]))
                .collect();
            let mut got: Vec<u32> = lm.cell_orig[lm.cells.n_owned..].to_vec();
            for (k, &c) in got.iter().enumerate() {
                assert_eq!(lm.ghost_layer[k] as usize, dist[c as usize]);
                assert_eq!(lm.cells.ghost_owners[k], p.parts[c as usize] as i32);
            }
            got.sort();
            assert_eq!(got, expect);
            // Local connectivity maps back to the original cells.
            for (l, &c) in lm.cell_orig.iter().enumerate() {
                let orig: Vec<u32> = lm.cell(l).iter().map(|&v| lm.point_orig[v as usize]).collect();
                assert_eq!(orig, m.cell(c as usize));
            }
        }
        assert!(owned_by.iter().all(|&k| k == 1));
        assert_eq!(next_offset, m.num_cells() as u64);
    }

    #[test]
    fn points_are_owned_once() {
        let m = Mesh::structured(&[7, 5], false).unwrap();
        let dual = m.cell_graph(Adjacency::Facet);
        let p = partition(&m, &dual, 3, &Method::Blocks(None)).unwrap();
        let mut count = vec![0; m.num_points()];
        let mut total = 0;
        for r in 0..3 {
            let lm = distribute(r, &m, &p, &dual, 1).unwrap();
            assert_eq!(lm.points.offset, total);
            total += lm.points.n_owned as u64;
            for &q in &lm.point_orig[..lm.points.n_owned] {
                count[q as usize] += 1;
            }
            assert_eq!(lm.points.n_global, m.num_points() as u64);
        }
        assert!(count.iter().all(|&k| k == 1));
    }
}

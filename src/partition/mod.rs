//! Partitioning: assigns every cell of a [`Mesh`] to a part (one part per MPI rank), with METIS
//! on the dual graph or Cartesian blocks on a structured grid, and checks the result before
//! anything is built on it. [`distribute`] then turns a partition into each rank's
//! [`LocalMesh`].

mod blocks;
mod distribute;

pub use blocks::block_dims;
pub use distribute::{distribute, point_numbering, LocalMesh};

use crate::error::{Error, Result};
use crate::mesh::{Graph, Mesh};

/// How cells are assigned to parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// METIS multilevel k-way on the dual graph (the default for meshes).
    MetisKway,
    /// METIS multilevel recursive bisection on the dual graph.
    MetisRecursive,
    /// Cartesian blocks of a structured grid; `Some(dims)` fixes px×py(×pz).
    Blocks(Option<Vec<usize>>),
}

impl Method {
    /// Parses `metis`, `metis-rb` or `blocks`, with an optional process grid for blocks.
    pub fn parse(name: &str, proc_grid: Option<Vec<usize>>) -> Result<Method> {
        if let (Some(d), false) = (&proc_grid, name == "blocks") {
            return Err(Error::input(format!(
                "--proc-grid {} applies to the blocks partitioner only, not to '{name}'",
                d.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("x")
            )));
        }
        match name {
            "metis" | "metis-kway" => Ok(Method::MetisKway),
            "metis-rb" | "metis-recursive" => Ok(Method::MetisRecursive),
            "blocks" => Ok(Method::Blocks(proc_grid)),
            other => Err(Error::input(format!(
                "unknown partitioner '{other}' (expected metis, metis-rb or blocks)"
            ))),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::MetisKway => write!(f, "METIS k-way"),
            Method::MetisRecursive => write!(f, "METIS recursive bisection"),
            Method::Blocks(None) => write!(f, "Cartesian blocks"),
            Method::Blocks(Some(d)) => write!(f, "Cartesian blocks {d:?}"),
        }
    }
}

/// The part of every cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Part index per cell.
    pub parts: Vec<u32>,
    /// Number of parts.
    pub n_parts: usize,
}

/// Quality figures of a partition, printed by `ddkit partition` and stored in run reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Number of parts.
    pub parts: usize,
    /// Number of cells.
    pub cells: usize,
    /// Cells per part.
    pub cells_per_part: Vec<usize>,
    /// Number of dual-graph edges (shared facets) between different parts.
    pub edge_cut: usize,
    /// Largest part size over the average part size.
    pub imbalance: f64,
    /// Number of neighbouring parts of each part.
    pub neighbours_per_part: Vec<usize>,
    /// Connected components of each part (1 when the part is connected).
    pub components_per_part: Vec<usize>,
}

impl Report {
    /// Parts made of more than one connected piece.
    pub fn disconnected_parts(&self) -> Vec<usize> {
        (0..self.parts).filter(|&p| self.components_per_part[p] > 1).collect()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let min = self.cells_per_part.iter().min().copied().unwrap_or(0);
        let max = self.cells_per_part.iter().max().copied().unwrap_or(0);
        let nb_max = self.neighbours_per_part.iter().max().copied().unwrap_or(0);
        let nb_avg = self.neighbours_per_part.iter().sum::<usize>() as f64 / self.parts.max(1) as f64;
        writeln!(f, "parts           {}", self.parts)?;
        writeln!(f, "cells           {} (per part: min {min}, max {max})", self.cells)?;
        writeln!(f, "edge cut        {}", self.edge_cut)?;
        writeln!(f, "imbalance       {:.4} (max/avg)", self.imbalance)?;
        writeln!(f, "neighbours      avg {nb_avg:.2}, max {nb_max}")?;
        let disc = self.disconnected_parts();
        if disc.is_empty() {
            write!(f, "connectivity    every part connected")
        } else {
            let list: Vec<String> = disc
                .iter()
                .map(|&p| format!("part {p}: {} components", self.components_per_part[p]))
                .collect();
            write!(
                f,
                "connectivity    {} disconnected part(s): {}",
                disc.len(),
                list.join(", ")
            )
        }
    }
}

/// Partitions `mesh` (whose facet dual graph is `dual`) into `n_parts` parts and validates the
/// result: more parts than cells and empty parts are errors.
pub fn partition(mesh: &Mesh, dual: &Graph, n_parts: usize, method: &Method) -> Result<Partition> {
    let n = mesh.num_cells();
    if n_parts == 0 {
        return Err(Error::Partition("the number of parts must be positive".into()));
    }
    if n_parts > n {
        return Err(Error::Partition(format!("more parts ({n_parts}) than cells ({n})")));
    }
    let parts = match method {
        // Blocks go through their own checks even for one part, so that a process grid or a
        // mesh that blocks cannot use is refused on one rank too instead of ignored.
        Method::MetisKway | Method::MetisRecursive if n_parts == 1 => vec![0; n],
        Method::Blocks(dims) => blocks::partition(mesh, n_parts, dims.as_deref())?,
        Method::MetisKway | Method::MetisRecursive => metis_partition(dual, n_parts, method == &Method::MetisKway)?,
    };
    let p = Partition { parts, n_parts };
    let sizes = p.sizes();
    if let Some(empty) = sizes.iter().position(|&s| s == 0) {
        return Err(Error::Partition(format!(
            "part {empty} of {n_parts} is empty ({n} cells); use fewer parts or another partitioner"
        )));
    }
    Ok(p)
}

/// METIS k-way (`kway`) or recursive bisection of a graph into `n_parts` parts (no checks).
pub fn metis_partition(dual: &Graph, n_parts: usize, kway: bool) -> Result<Vec<u32>> {
    let to_idx =
        |x: usize| metis::Idx::try_from(x).map_err(|_| Error::Partition("graph too large for 32-bit METIS".into()));
    let xadj: Vec<metis::Idx> = dual.xadj.iter().map(|&x| to_idx(x)).collect::<Result<_>>()?;
    let adj: Vec<metis::Idx> = dual.adj.iter().map(|&x| to_idx(x as usize)).collect::<Result<_>>()?;
    let mut part = vec![0 as metis::Idx; dual.len()];
    let graph = metis::Graph::new(1, to_idx(n_parts)?, &xadj, &adj)
        .map_err(|e| Error::Partition(format!("METIS rejected the graph: {e:?}")))?;
    let res = if kway {
        graph.part_kway(&mut part)
    } else {
        graph.part_recursive(&mut part)
    };
    res.map_err(|e| Error::Partition(format!("METIS failed: {e:?}")))?;
    Ok(part.into_iter().map(|p| p as u32).collect())
}

impl Partition {
    /// Number of cells in each part.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![0; self.n_parts];
        for &p in &self.parts {
            s[p as usize] += 1;
        }
        s
    }

    /// Computes the quality report on the dual graph.
    pub fn report(&self, dual: &Graph) -> Report {
        let sizes = self.sizes();
        let mut cut = 0;
        let mut nb: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); self.n_parts];
        for c in 0..dual.len() {
            let pc = self.parts[c];
            for &d in dual.neighbours(c) {
                let pd = self.parts[d as usize];
                if pd != pc {
                    nb[pc as usize].insert(pd);
                    if (d as usize) > c {
                        cut += 1;
                    }
                }
            }
        }
        let avg = dual.len() as f64 / self.n_parts as f64;
        Report {
            parts: self.n_parts,
            cells: dual.len(),
            imbalance: sizes.iter().copied().max().unwrap_or(0) as f64 / avg,
            cells_per_part: sizes,
            edge_cut: cut,
            neighbours_per_part: nb.iter().map(|s| s.len()).collect(),
            components_per_part: self.components(dual),
        }
    }

    /// Connected components of each part in the dual graph (breadth-first search).
    fn components(&self, dual: &Graph) -> Vec<usize> {
        let mut comp = vec![0usize; self.n_parts];
        let mut seen = vec![false; dual.len()];
        let mut queue = std::collections::VecDeque::new();
        for s in 0..dual.len() {
            if seen[s] {
                continue;
            }
            let p = self.parts[s];
            comp[p as usize] += 1;
            seen[s] = true;
            queue.push_back(s);
            while let Some(c) = queue.pop_front() {
                for &d in dual.neighbours(c) {
                    let d = d as usize;
                    if !seen[d] && self.parts[d] == p {
                        seen[d] = true;
                        queue.push_back(d);
                    }
                }
            }
        }
        comp
    }
}

/// METIS may leave parts empty when asked for nearly as many parts as vertices (e.g. 16 parts of
/// a 16-vertex graph); each empty part takes one vertex from the currently largest part, so any
/// part count up to the number of vertices works.
pub fn fill_empty_parts(mut parts: Vec<u32>, k: usize) -> Vec<u32> {
    let mut sizes = vec![0usize; k];
    for &p in &parts {
        sizes[p as usize] += 1;
    }
    for empty in 0..k {
        if sizes[empty] > 0 {
            continue;
        }
        let largest = (0..k).max_by_key(|&p| (sizes[p], std::cmp::Reverse(p))).unwrap_or(0);
        if let Some(row) = parts.iter().rposition(|&p| p as usize == largest) {
            parts[row] = empty as u32;
            sizes[largest] -= 1;
            sizes[empty] = 1;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Adjacency;

    #[test]
    fn metis_parts_cover_every_cell_once() {
        let m = Mesh::structured(&[16, 16], true).unwrap();
        let g = m.cell_graph(Adjacency::Facet);
        for method in [Method::MetisKway, Method::MetisRecursive] {
            let p = partition(&m, &g, 5, &method).unwrap();
            assert_eq!(p.parts.len(), m.num_cells());
            assert_eq!(p.sizes().iter().sum::<usize>(), m.num_cells());
            let r = p.report(&g);
            assert!(r.imbalance < 1.1, "imbalance {}", r.imbalance);
            assert!(r.edge_cut > 0 && r.edge_cut < 200);
        }
    }

    #[test]
    fn too_many_parts_is_an_error() {
        let m = Mesh::structured(&[2, 2], false).unwrap();
        let g = m.cell_graph(Adjacency::Facet);
        let e = partition(&m, &g, 5, &Method::MetisKway).unwrap_err();
        assert!(e.to_string().contains("more parts (5) than cells (4)"), "{e}");
    }

    #[test]
    fn disconnected_part_is_reported() {
        let m = Mesh::structured(&[3, 1], false).unwrap();
        let g = m.cell_graph(Adjacency::Facet);
        let p = Partition {
            parts: vec![0, 1, 0],
            n_parts: 2,
        };
        let r = p.report(&g);
        assert_eq!(r.components_per_part, vec![2, 1]);
        assert_eq!(r.edge_cut, 2);
        assert!(r.to_string().contains("part 0: 2 components"));
    }
}

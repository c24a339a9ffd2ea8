//! Cell adjacency graphs in CSR form: the dual graph (cells sharing a facet) that METIS
//! partitions, and the vertex-adjacency graph that ghost layers for P1 assembly follow.

use super::Mesh;

/// Which cells count as neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjacency {
    /// Cells sharing a facet (edge in 2D, face in 3D): the dual graph, and FD stencils.
    Facet,
    /// Cells sharing at least one vertex: what P1 rows of owned vertices need.
    Vertex,
}

/// A symmetric graph on cells in compressed sparse row form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// Offsets: neighbours of cell `c` are `adj[xadj[c]..xadj[c + 1]]`.
    pub xadj: Vec<usize>,
    /// Concatenated, sorted neighbour lists.
    pub adj: Vec<u32>,
}

impl Graph {
    /// Neighbours of `c`.
    pub fn neighbours(&self, c: usize) -> &[u32] {
        &self.adj[self.xadj[c]..self.xadj[c + 1]]
    }
    /// Number of graph vertices (cells).
    pub fn len(&self) -> usize {
        self.xadj.len() - 1
    }
    /// Whether the graph has no vertex.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The subgraph induced by `nodes` (ascending), renumbered `0..nodes.len()`.
    pub fn induced(&self, nodes: &[u32]) -> Graph {
        let mut xadj = Vec::with_capacity(nodes.len() + 1);
        let mut adj = Vec::new();
        xadj.push(0);
        for &c in nodes {
            adj.extend(
                self.neighbours(c as usize)
                    .iter()
                    .filter_map(|n| nodes.binary_search(n).ok().map(|k| k as u32)),
            );
            xadj.push(adj.len());
        }
        Graph { xadj, adj }
    }
}

impl Mesh {
    /// Vertex → cells incidence in CSR form.
    pub fn vertex_to_cells(&self) -> (Vec<usize>, Vec<u32>) {
        let mut off = vec![0usize; self.num_points() + 1];
        for &v in &self.cells {
            off[v as usize + 1] += 1;
        }
        for i in 0..self.num_points() {
            off[i + 1] += off[i];
        }
        let mut pos = off.clone();
        let mut cells = vec![0u32; self.cells.len()];
        let nv = self.cell_type.num_vertices();
        for (k, &v) in self.cells.iter().enumerate() {
            cells[pos[v as usize]] = (k / nv) as u32;
            pos[v as usize] += 1;
        }
        (off, cells)
    }

    /// The cell graph for `adjacency`, built through the vertex → cells map (no hashing: each
    /// candidate is counted by how many vertices it shares with the cell).
    pub fn cell_graph(&self, adjacency: Adjacency) -> Graph {
        let (off, v2c) = self.vertex_to_cells();
        let need = match adjacency {
            Adjacency::Facet => self.cell_type.facet_vertices(),
            Adjacency::Vertex => 1,
        };
        let n = self.num_cells();
        let mut xadj = Vec::with_capacity(n + 1);
        xadj.push(0);
        let mut adj = Vec::new();
        let mut count = vec![0u8; n];
        let mut touched = Vec::new();
        for c in 0..n {
            for &v in self.cell(c) {
                for &d in &v2c[off[v as usize]..off[v as usize + 1]] {
                    if d as usize != c {
                        if count[d as usize] == 0 {
                            touched.push(d);
                        }
                        count[d as usize] += 1;
                    }
                }
            }
            touched.sort_unstable();
            for &d in &touched {
                if count[d as usize] as usize >= need {
                    adj.push(d);
                }
                count[d as usize] = 0;
            }
            touched.clear();
            xadj.push(adj.len());
        }
        Graph { xadj, adj }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_dual_graph() {
        let m = Mesh::structured(&[3, 2], false).unwrap();
        let g = m.cell_graph(Adjacency::Facet);
        assert_eq!(g.neighbours(0), &[1, 3]);
        assert_eq!(g.neighbours(4), &[1, 3, 5]);
        let gv = m.cell_graph(Adjacency::Vertex);
        assert_eq!(gv.neighbours(0), &[1, 3, 4]);
        assert_eq!(gv.neighbours(4), &[0, 1, 2, 3, 5]);
    }

    #[test]
    fn tet_dual_graph_is_symmetric() {
        let m = Mesh::structured(&[2, 2, 2], true).unwrap();
        let g = m.cell_graph(Adjacency::Facet);
        for c in 0..g.len() {
            assert!(g.neighbours(c).len() <= 4);
            for &d in g.neighbours(c) {
                assert!(g.neighbours(d as usize).contains(&(c as u32)));
            }
        }
    }
}

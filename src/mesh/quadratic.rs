//! Quadratic meshes for P2 elements: [`Mesh::elevate`] adds a node at the midpoint of every edge
//! of a triangle or tetrahedron mesh, in cells and in tagged boundary facets. The cells keep
//! their order and corners, so a partition computed on the linear mesh applies unchanged, and the
//! distribution then gives the P2 unknowns (all nodes) owners, ghosts and a global numbering
//! exactly as it does for vertices.

use super::{CellType, Mesh};
use crate::error::{Error, Result};

impl Mesh {
    /// The quadratic mesh with the same cells: corners keep their indices, and the midpoint of the
    /// `k`-th distinct edge in order of its sorted vertex pair gets index `num_points() + k`, so the
    /// numbering depends on the mesh alone (not on ranks or partition). Cells become
    /// [`CellType::Triangle6`] / [`CellType::Tetrahedron10`], boundary facets three- / six-node
    /// facets with their tags. Edges stay straight (midpoints are averages of the ends).
    pub fn elevate(&self) -> Result<Mesh> {
        let (Some(cell_type), Some(facet_type)) = (
            self.cell_type.quadratic(),
            self.cell_type.facet_type().and_then(CellType::quadratic),
        ) else {
            return Err(Error::input(format!(
                "P2 elements need a triangle or tetrahedron mesh, not {:?} cells",
                self.cell_type
            )));
        };
        if self.cell_type.degree() == 2 {
            return Ok(self.clone());
        }
        let dim = self.cell_type.dim();
        let cell_edges = CellType::simplex_edges(dim);
        let key = |a: u32, b: u32| if a < b { (a, b) } else { (b, a) };
        let mut edges: Vec<(u32, u32)> = (0..self.num_cells())
            .flat_map(|c| {
                let v = self.cell(c);
                cell_edges.iter().map(move |e| key(v[e[0]], v[e[1]]))
            })
            .collect();
        edges.sort_unstable();
        edges.dedup();
        let n0 = self.num_points();
        if (n0 + edges.len()) as u64 > u32::MAX as u64 {
            return Err(Error::input("the quadratic mesh has too many nodes"));
        }
        let midpoint = |a: u32, b: u32| edges.binary_search(&key(a, b)).map(|k| (n0 + k) as u32);

        let mut points = self.points.clone();
        points.extend(edges.iter().map(|&(a, b)| {
            let (p, q) = (self.points[a as usize], self.points[b as usize]);
            std::array::from_fn(|k| 0.5 * (p[k] + q[k]))
        }));
        let extend = |corners: &[u32], edge_list: &[[usize; 2]], out: &mut Vec<u32>| -> Option<()> {
            out.extend_from_slice(corners);
            for e in edge_list {
                out.push(midpoint(corners[e[0]], corners[e[1]]).ok()?);
            }
            Some(())
        };
        let mut cells = Vec::with_capacity(self.num_cells() * cell_type.num_vertices());
        for c in 0..self.num_cells() {
            // Every edge of a cell is in the list by construction.
            extend(self.cell(c), cell_edges, &mut cells);
        }
        let facet_edges = CellType::simplex_edges(dim - 1);
        let mut facets = Vec::with_capacity(self.num_facets() * facet_type.num_vertices());
        for f in 0..self.num_facets() {
            if extend(self.facet(f), facet_edges, &mut facets).is_none() {
                return Err(Error::mesh(
                    "mesh",
                    format!(
                        "boundary facet {f} (tag {}) has an edge that belongs to no cell",
                        self.facet_tags[f]
                    ),
                ));
            }
        }
        Ok(Mesh {
            gdim: self.gdim,
            points,
            cell_type,
            cells,
            cell_tags: self.cell_tags.clone(),
            facets,
            facet_tags: self.facet_tags.clone(),
            names: self.names.clone(),
            grid: self.grid.clone(),
        })
    }
}

impl Mesh {
    /// The linear cells and facets on the corners of a quadratic mesh, over the same points (edge
    /// nodes stay, in no cell): point ids are the quadratic mesh's, so a P1 field on the
    /// corners (a Taylor–Hood pressure) is numbered by [`crate::partition::point_numbering`]
    /// of this mesh with the quadratic mesh's partition. A linear mesh is returned as it is.
    pub fn corners_only(&self) -> Mesh {
        if self.cell_type.degree() == 1 {
            return self.clone();
        }
        let dim = self.cell_type.dim();
        let corners = |conn: &[u32], nv: usize, k: usize| -> Vec<u32> {
            conn.chunks_exact(nv).flat_map(|c| c[..k].iter().copied()).collect()
        };
        Mesh {
            gdim: self.gdim,
            points: self.points.clone(),
            cell_type: self.cell_type.linear(),
            cells: corners(&self.cells, self.cell_type.num_vertices(), dim + 1),
            cell_tags: self.cell_tags.clone(),
            facets: corners(&self.facets, self.cell_type.facet_vertices(), dim),
            facet_tags: self.facet_tags.clone(),
            names: self.names.clone(),
            grid: self.grid.clone(),
        }
    }

    /// The linear mesh on the corners of a quadratic one (P1 and FD run on it): [`Mesh::corners_only`]
    /// without the edge nodes, corners renumbered `0..` in their order; cells, facets and tags
    /// keep theirs, so a partition of one applies to the other.
    pub fn linear(&self) -> Mesh {
        let mut m = self.corners_only();
        if self.cell_type.degree() == 1 {
            return m;
        }
        let mut new_id = vec![u32::MAX; m.num_points()];
        for &v in &m.cells {
            new_id[v as usize] = 0;
        }
        let mut points = Vec::new();
        for (old, id) in new_id.iter_mut().enumerate() {
            if *id == 0 {
                *id = points.len() as u32;
                points.push(m.points[old]);
            }
        }
        m.points = points;
        for v in m.cells.iter_mut().chain(m.facets.iter_mut()) {
            *v = new_id[*v as usize];
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Adjacency;

    /// Euler's formula: a triangulated square has V + F − 1 edges, so as many midpoints.
    #[test]
    fn midpoints_are_shared_and_counted_once() {
        let m = Mesh::structured(&[4, 3], true).unwrap();
        let q = m.elevate().unwrap();
        let (v, f) = (m.num_points(), m.num_cells());
        assert_eq!(q.num_points(), v + (v + f - 1));
        assert_eq!(q.cell_type, CellType::Triangle6);
        assert_eq!(q.num_facets(), m.num_facets());
        assert_eq!(q.facet_tags, m.facet_tags);
        // The boundary has as many edges as facets: its midpoints are exactly the facet nodes 2.
        let mut on_boundary: Vec<u32> = (0..q.num_facets()).map(|f| q.facet(f)[2]).collect();
        on_boundary.sort_unstable();
        on_boundary.dedup();
        assert_eq!(on_boundary.len(), m.num_facets());
        // Every node of a cell is a corner or the midpoint of the corners the order says.
        for c in 0..q.num_cells() {
            let n = q.cell(c);
            assert_eq!(&n[..3], m.cell(c));
            for (k, e) in CellType::simplex_edges(2).iter().enumerate() {
                let (a, b, mid) = (
                    q.points[n[e[0]] as usize],
                    q.points[n[e[1]] as usize],
                    q.points[n[3 + k] as usize],
                );
                for d in 0..3 {
                    assert!((mid[d] - 0.5 * (a[d] + b[d])).abs() < 1e-15);
                }
            }
        }
        // Neighbours across facets share 3 nodes, and the graphs are the linear mesh's.
        assert_eq!(q.cell_graph(Adjacency::Facet), m.cell_graph(Adjacency::Facet));
        assert_eq!(q.cell_graph(Adjacency::Vertex), m.cell_graph(Adjacency::Vertex));
    }

    #[test]
    fn tetrahedra_and_boundary_triangles() {
        let m = Mesh::structured(&[2, 2, 2], true).unwrap();
        let q = m.elevate().unwrap();
        assert_eq!(q.cell_type, CellType::Tetrahedron10);
        assert_eq!(q.cell_type.facet_type(), Some(CellType::Triangle6));
        // Nodes of a 2-cell-per-side P2 mesh form the 5³ lattice of the half-size grid.
        assert_eq!(q.num_points(), 125);
        assert_eq!(q.cell_graph(Adjacency::Facet), m.cell_graph(Adjacency::Facet));
        // Facet midpoints are midpoints of cell edges lying on the boundary.
        for f in 0..q.num_facets() {
            for &n in &q.facet(f)[3..] {
                let x = q.points[n as usize];
                assert!(x.iter().any(|&c| c == 0.0 || c == 1.0), "{x:?}");
            }
        }
        // Elevating twice changes nothing.
        assert_eq!(q.elevate().unwrap().points, q.points);
    }

    #[test]
    fn refuses_quadrilaterals() {
        let m = Mesh::structured(&[2, 2], false).unwrap();
        let e = m.elevate().unwrap_err().to_string();
        assert!(e.contains("triangle or tetrahedron"), "{e}");
    }
}

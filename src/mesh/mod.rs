//! Meshes: the first stage of the data flow. A [`Mesh`] is the global, replicated description of
//! cells, vertices and tags, produced by the structured box generator ([`Mesh::structured`]) or the
//! Gmsh reader ([`gmsh::read`], ASCII and binary, first or second order); the partitioner and the
//! distribution consume it. P2 elements run on quadratic meshes: read from a second-order file
//! (curved edges), or derived from a linear one by [`Mesh::elevate`] (straight edges);
//! [`Mesh::linear`] gives P1 the corners of a quadratic one.

pub mod gmsh;
pub mod graph;
pub mod quadratic;
pub mod structured;

pub use graph::{Adjacency, Graph};
pub use structured::GridInfo;

/// The kinds of cell ddkit knows; a mesh holds cells of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CellType {
    /// Two-vertex segment (boundary facets of 2D meshes).
    Line,
    /// Three-vertex triangle.
    Triangle,
    /// Four-vertex quadrilateral, counter-clockwise.
    Quadrilateral,
    /// Four-vertex tetrahedron.
    Tetrahedron,
    /// Eight-vertex hexahedron in VTK/XDMF order.
    Hexahedron,
    /// Three-node segment: the two ends, then the midpoint (facets of [`CellType::Triangle6`]).
    Line3,
    /// Six-node triangle: corners, then the midpoints of edges 01, 12, 20 (Gmsh, VTK and XDMF
    /// agree on this order).
    Triangle6,
    /// Ten-node tetrahedron: corners, then the midpoints of edges 01, 12, 20, 03, 13, 23 — the
    /// VTK/XDMF order that the output needs (Gmsh swaps the last two).
    Tetrahedron10,
}

impl CellType {
    /// Number of nodes of one cell (its vertices, plus edge midpoints for quadratic cells).
    pub fn num_vertices(self) -> usize {
        match self {
            CellType::Line => 2,
            CellType::Triangle | CellType::Line3 => 3,
            CellType::Quadrilateral | CellType::Tetrahedron => 4,
            CellType::Triangle6 => 6,
            CellType::Hexahedron => 8,
            CellType::Tetrahedron10 => 10,
        }
    }
    /// Topological dimension.
    pub fn dim(self) -> usize {
        match self {
            CellType::Line | CellType::Line3 => 1,
            CellType::Triangle | CellType::Quadrilateral | CellType::Triangle6 => 2,
            CellType::Tetrahedron | CellType::Hexahedron | CellType::Tetrahedron10 => 3,
        }
    }
    /// Number of nodes two cells must share to be neighbours across a facet.
    pub fn facet_vertices(self) -> usize {
        self.facet_type().map_or(1, CellType::num_vertices)
    }
    /// The facet cell type (the boundary element of this cell type).
    pub fn facet_type(self) -> Option<CellType> {
        match self {
            CellType::Line | CellType::Line3 => None,
            CellType::Triangle | CellType::Quadrilateral => Some(CellType::Line),
            CellType::Tetrahedron => Some(CellType::Triangle),
            CellType::Hexahedron => Some(CellType::Quadrilateral),
            CellType::Triangle6 => Some(CellType::Line3),
            CellType::Tetrahedron10 => Some(CellType::Triangle6),
        }
    }
    /// Polynomial degree of the cell's geometry: 2 for the quadratic types, else 1.
    pub fn degree(self) -> usize {
        match self {
            CellType::Line3 | CellType::Triangle6 | CellType::Tetrahedron10 => 2,
            _ => 1,
        }
    }
    /// Whether the cell is a simplex (segment, triangle or tetrahedron, of either degree).
    pub fn is_simplex(self) -> bool {
        !matches!(self, CellType::Quadrilateral | CellType::Hexahedron)
    }
    /// Number of corner vertices (the first nodes of every cell).
    pub fn num_corners(self) -> usize {
        match self {
            CellType::Line3 | CellType::Triangle6 | CellType::Tetrahedron10 => self.dim() + 1,
            _ => self.num_vertices(),
        }
    }
    /// The simplex with the same corners and quadratic edges (`None` for quadrilaterals and
    /// hexahedra); quadratic types map to themselves.
    pub fn quadratic(self) -> Option<CellType> {
        match self {
            CellType::Line | CellType::Line3 => Some(CellType::Line3),
            CellType::Triangle | CellType::Triangle6 => Some(CellType::Triangle6),
            CellType::Tetrahedron | CellType::Tetrahedron10 => Some(CellType::Tetrahedron10),
            CellType::Quadrilateral | CellType::Hexahedron => None,
        }
    }
    /// The first-order type with the same corners (quadratic types to linear ones; others map
    /// to themselves).
    pub fn linear(self) -> CellType {
        match self {
            CellType::Line3 => CellType::Line,
            CellType::Triangle6 => CellType::Triangle,
            CellType::Tetrahedron10 => CellType::Tetrahedron,
            other => other,
        }
    }
    /// Edges of a simplex as pairs of corner indices, in the order quadratic cells store their
    /// edge midpoints.
    pub fn simplex_edges(dim: usize) -> &'static [[usize; 2]] {
        match dim {
            1 => &[[0, 1]],
            2 => &[[0, 1], [1, 2], [2, 0]],
            _ => &[[0, 1], [1, 2], [2, 0], [0, 3], [1, 3], [2, 3]],
        }
    }
    /// The XDMF topology name.
    pub fn xdmf_name(self) -> &'static str {
        match self {
            CellType::Line => "Polyline",
            CellType::Triangle => "Triangle",
            CellType::Quadrilateral => "Quadrilateral",
            CellType::Tetrahedron => "Tetrahedron",
            CellType::Hexahedron => "Hexahedron",
            CellType::Line3 => "Edge_3",
            CellType::Triangle6 => "Triangle_6",
            CellType::Tetrahedron10 => "Tetrahedron_10",
        }
    }
}

/// A named Gmsh physical group (or a named side of a structured box).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhysicalName {
    /// Dimension of the entities it tags (cell dimension for regions, one less for boundaries).
    pub dim: usize,
    /// The integer tag carried by cells or facets.
    pub tag: i32,
    /// The name given in the `.geo` file.
    pub name: String,
}

/// A global (replicated) mesh of one cell type, with region tags on cells and boundary tags on
/// facets.
#[derive(Clone, Debug)]
pub struct Mesh {
    /// Geometric dimension (2 or 3); points always carry three coordinates, z = 0 in 2D.
    pub gdim: usize,
    /// Vertex coordinates.
    pub points: Vec<[f64; 3]>,
    /// The cell type.
    pub cell_type: CellType,
    /// Cell connectivity, `cell_type.num_vertices()` vertex indices per cell.
    pub cells: Vec<u32>,
    /// Region tag per cell (the Gmsh physical group; 0 when untagged).
    pub cell_tags: Vec<i32>,
    /// Boundary facet connectivity, `facet_type.num_vertices()` per facet.
    pub facets: Vec<u32>,
    /// Boundary tag per facet.
    pub facet_tags: Vec<i32>,
    /// Names of the physical groups.
    pub names: Vec<PhysicalName>,
    /// Present when the mesh is a structured box: the grid sizes that FD stencils need.
    pub grid: Option<GridInfo>,
}

impl Mesh {
    /// Number of cells.
    pub fn num_cells(&self) -> usize {
        self.cells.len() / self.cell_type.num_vertices()
    }
    /// Number of vertices.
    pub fn num_points(&self) -> usize {
        self.points.len()
    }
    /// Vertex indices of cell `c`.
    pub fn cell(&self, c: usize) -> &[u32] {
        let nv = self.cell_type.num_vertices();
        &self.cells[c * nv..(c + 1) * nv]
    }
    /// Number of boundary facets.
    pub fn num_facets(&self) -> usize {
        match self.cell_type.facet_type() {
            Some(ft) => self.facets.len() / ft.num_vertices(),
            None => 0,
        }
    }
    /// Vertex indices of boundary facet `f`.
    pub fn facet(&self, f: usize) -> &[u32] {
        let nv = self.cell_type.facet_type().map_or(1, CellType::num_vertices);
        &self.facets[f * nv..(f + 1) * nv]
    }
    /// The tag of the physical group called `name` at dimension `dim`, if any.
    pub fn tag_of(&self, dim: usize, name: &str) -> Option<i32> {
        self.names
            .iter()
            .find(|p| p.dim == dim && p.name == name)
            .map(|p| p.tag)
    }
    /// The name of tag `tag` at dimension `dim`, or the tag as text when it has no name.
    pub fn name_of(&self, dim: usize, tag: i32) -> String {
        self.names
            .iter()
            .find(|p| p.dim == dim && p.tag == tag)
            .map_or_else(|| tag.to_string(), |p| p.name.clone())
    }
    /// Centroid of cell `c`.
    pub fn centroid(&self, c: usize) -> [f64; 3] {
        let vs = self.cell(c);
        let mut x = [0.0; 3];
        for &v in vs {
            for (xi, pi) in x.iter_mut().zip(self.points[v as usize]) {
                *xi += pi;
            }
        }
        x.map(|xi| xi / vs.len() as f64)
    }
}

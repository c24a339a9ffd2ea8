//! What the writer and the checkpoints hold: [`FieldSpec`] (name, centring, components, space),
//! and the map that lets a P1 field be written beside P2 fields on the P2 grid ([`P1Map`], and
//! the exchange plan built from it once per writer).

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::exchange::{gathered_starts, IdExchange};
use crate::io::h5::{check_name, Fnv};
use crate::mesh::{CellType, Mesh};
use crate::partition::{point_numbering, LocalMesh, Partition};

/// Where a field lives: on the points (XDMF `Node`) or on the cells (XDMF `Cell`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Center {
    /// One value per point.
    Point,
    /// One value per cell.
    Cell,
}

impl Center {
    pub(crate) fn xdmf(self) -> &'static str {
        match self {
            Center::Point => "Node",
            Center::Cell => "Cell",
        }
    }
    /// The plural used in messages.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Center::Point => "points",
            Center::Cell => "cells",
        }
    }
    /// The name stored in files (attribute `center`).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Center::Point => "point",
            Center::Cell => "cell",
        }
    }
    pub(crate) fn from_code(s: &str) -> Option<Center> {
        match s {
            "point" => Some(Center::Point),
            "cell" => Some(Center::Cell),
            _ => None,
        }
    }
}

/// The discrete space a field's values belong to, which says which entities carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    /// One value per cell (finite-difference unknowns, cell-wise coefficients).
    Cells,
    /// One value per vertex of the linear mesh: the points of a linear (or quadrilateral /
    /// hexahedral) mesh, the corners of a P2 mesh.
    P1,
    /// One value per node of a quadratic mesh: corners and edge midpoints.
    P2,
}

impl Space {
    /// The name stored in files (attribute `space`) and shown in messages.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Space::Cells => "cells",
            Space::P1 => "p1",
            Space::P2 => "p2",
        }
    }
    pub(crate) fn from_code(s: &str) -> Option<Space> {
        match s {
            "cells" => Some(Space::Cells),
            "p1" => Some(Space::P1),
            "p2" => Some(Space::P2),
            _ => None,
        }
    }
}

/// A field as the writer and the checkpoints know it: name, centring, number of components
/// (1: scalar; 2 or 3: vector, interleaved per entity) and space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    /// Name: ASCII letters, digits and `_-+.`, not starting with `.`.
    pub name: String,
    /// Points or cells; must agree with `space` (cells for [`Space::Cells`], points otherwise).
    pub center: Center,
    /// 1 for a scalar, 2 or 3 for a vector (values interleaved: `x0 y0 x1 y1 ...`).
    pub components: usize,
    /// The space of the values, which says which entities they belong to.
    pub space: Space,
}

impl FieldSpec {
    /// A cell field (one value or vector per cell).
    pub fn cells(name: &str, components: usize) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            center: Center::Cell,
            components,
            space: Space::Cells,
        }
    }
    /// A P1 point field (one value or vector per vertex of the linear mesh).
    pub fn p1(name: &str, components: usize) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            center: Center::Point,
            components,
            space: Space::P1,
        }
    }
    /// A P2 point field (one value or vector per node of the quadratic mesh).
    pub fn p2(name: &str, components: usize) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            center: Center::Point,
            components,
            space: Space::P2,
        }
    }

    /// Local: the name is usable, 1 to 3 components, centring and space agree.
    pub fn validate(&self) -> Result<()> {
        check_name(&self.name, "field name")?;
        let err = |msg: String| Err(Error::Output(format!("field '{}': {msg}", self.name)));
        if !(1..=3).contains(&self.components) {
            return err(format!("{} components (1, 2 or 3 supported)", self.components));
        }
        if (self.center == Center::Cell) != (self.space == Space::Cells) {
            return err(format!(
                "centred on the {} but in space {}",
                self.center.word(),
                self.space.code()
            ));
        }
        Ok(())
    }

    /// For messages: e.g. `a p2 vector (3 components) on the points`.
    pub fn describe(&self) -> String {
        let kind = if self.components == 1 {
            "scalar".to_string()
        } else {
            format!("vector ({} components)", self.components)
        };
        format!("a {} {kind} on the {}", self.space.code(), self.center.word())
    }

    pub(crate) fn hash_into(&self, h: &mut Fnv) {
        h.str(&self.name);
        h.str(self.center.code());
        h.str(self.space.code());
        h.u64(self.components as u64);
    }
}

/// How the nodes of a P2 mesh relate to the P1 numbering of its corners, so that a P1 field
/// (e.g. a Taylor–Hood pressure) is written beside P2 fields on the P2 grid: each P2 node takes
/// the value of its corner, or the mean of its edge's two corners (linear interpolation, exact
/// for P1). Given once to a writer ([`super::Writer::set_p1_map`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P1Map {
    /// Number of P1 nodes over all ranks.
    pub num_global: u64,
    /// First global P1 id owned by this rank: a P1 field's values are those of P1 nodes
    /// `offset..offset + num_owned`, in order (the owned ranges tile `0..num_global` in rank
    /// order).
    pub offset: u64,
    /// Number of P1 nodes owned by this rank.
    pub num_owned: usize,
    /// Per owned point of the P2 output mesh, in order: the global P1 ids of its edge's two
    /// corners, or twice its own P1 id for a corner.
    pub nodes: Vec<[u64; 2]>,
}

impl P1Map {
    /// Local: the map of a mesh elevated with [`Mesh::elevate`] and distributed with the
    /// partition `part` of its cells (as `problems::setup::prepare` does for P2). The P1
    /// numbering is [`point_numbering`] of the linear mesh with the same partition, so the P1
    /// owned nodes of a rank are the owned points of the linear mesh distributed with `part`,
    /// in the same order.
    pub fn from_elevated(mesh: &Mesh, part: &Partition, lm: &LocalMesh) -> Result<P1Map> {
        if mesh.cell_type.degree() != 2 {
            return Err(Error::input(format!(
                "a P1 map needs a quadratic mesh, not {:?} cells",
                mesh.cell_type
            )));
        }
        let linear_type = mesh.cell_type.linear();
        let corners = linear_type.num_vertices();
        // The linear mesh: the same points (edge nodes belong to no cell and get no P1 id).
        let linear = mesh.corners_only();
        let p1 = point_numbering(&linear, part);
        let n_owned = lm.points.n_owned;
        let mut nodes = vec![[u64::MAX; 2]; n_owned];
        let (mut offset, mut num_owned) = (u64::MAX, 0);
        for (l, node) in nodes.iter_mut().enumerate() {
            let g = p1[lm.point_orig[l] as usize];
            if g != u32::MAX {
                *node = [u64::from(g), u64::from(g)];
                offset = offset.min(u64::from(g));
                num_owned += 1;
            }
        }
        let edges = CellType::simplex_edges(linear_type.dim());
        for c in 0..lm.num_local_cells() {
            let n = lm.cell(c);
            for (k, e) in edges.iter().enumerate() {
                let mid = n[corners + k] as usize;
                if mid < n_owned && nodes[mid][0] == u64::MAX {
                    let end = |i: usize| u64::from(p1[lm.point_orig[n[e[i]] as usize] as usize]);
                    nodes[mid] = [end(0), end(1)];
                }
            }
        }
        if let Some(l) = nodes.iter().position(|n| n[0] == u64::MAX || n[1] == u64::MAX) {
            return Err(Error::input(format!(
                "P1 map: point {} of the P2 mesh is neither a corner nor an edge midpoint of a local cell",
                lm.point_orig[l]
            )));
        }
        let num_global = p1.iter().filter(|&&g| g != u32::MAX).count() as u64;
        Ok(P1Map {
            num_global,
            offset: if num_owned == 0 { 0 } else { offset },
            num_owned,
            nodes,
        })
    }
}

/// The writer's plan for P1 fields on a P2 grid: which P1 values each owned P2 point needs,
/// fetched by one all-to-all per field (set up once).
#[derive(Debug)]
pub(crate) struct P1Plan {
    exchange: IdExchange,
    /// Per owned P2 point: positions of its two corners among the fetched values.
    nodes: Vec<[usize; 2]>,
    /// Number of P1 nodes this rank owns (the length of a P1 scalar).
    pub(crate) num_owned: usize,
}

impl P1Plan {
    /// Collective: the plan for `map` on a writer whose rank owns `num_points` P2 points.
    pub(crate) fn new(comm: &Comm, map: &P1Map, num_points: usize) -> Result<P1Plan> {
        let local = if map.nodes.len() != num_points {
            Err(Error::Output(format!(
                "P1 map: {} nodes on rank {}, which owns {num_points} points",
                map.nodes.len(),
                comm.rank()
            )))
        } else {
            Ok(())
        };
        let starts = gathered_starts(comm, map.offset, map.num_owned as u64, map.num_global)
            .map_err(|e| Error::Output(format!("P1 map: {e}")));
        let starts = comm.agree(local.and(starts))?;
        let mut ids: Vec<u64> = map.nodes.iter().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let at = |g: u64| ids.binary_search(&g).unwrap_or(0);
        let nodes = map.nodes.iter().map(|n| [at(n[0]), at(n[1])]).collect();
        let exchange = IdExchange::new(comm, &starts, &ids)?;
        Ok(P1Plan {
            exchange,
            nodes,
            num_owned: map.num_owned,
        })
    }

    /// Collective: the P1 field `values` (`comps` per owned P1 node) at every owned P2 point.
    pub(crate) fn interpolate(&self, comm: &Comm, values: &[f64], comps: usize) -> Vec<f64> {
        let v = self.exchange.fetch(comm, values, comps);
        let mut out = Vec::with_capacity(self.nodes.len() * comps);
        for &[a, b] in &self.nodes {
            for k in 0..comps {
                let (x, y) = (v[a * comps + k], v[b * comps + k]);
                out.push(if a == b { x } else { 0.5 * (x + y) });
            }
        }
        out
    }
}

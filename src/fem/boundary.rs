//! Boundary facets seen from one rank: the exterior facets of the global mesh (shared by no
//! other cell) that touch an owned node, with their nodes in the facet element's order, tag,
//! measure and outward normal. Both the explicit heat operator and the assembled systems derive
//! Dirichlet rows and natural-boundary loads from them, and Robin terms their boundary matrix;
//! boundaries without a physical group get tag 0 (Dirichlet by default). With P2 a facet carries
//! its edge midpoints too, so Dirichlet data are interpolated at them and facet integrals use
//! the quadratic facet basis.

use super::element::{Lagrange, MAX_NODES};
use crate::fem::simplex::{facet_normal, map_point};
use crate::mesh::Mesh;
use crate::partition::LocalMesh;
use crate::pde::{BcKind, HeatData};
use std::collections::HashMap;

/// One exterior facet touching an owned node.
#[derive(Clone, Debug)]
pub struct BoundaryFacet {
    /// Local point indices of its nodes: corners, then (P2) edge midpoints.
    pub points: Vec<u32>,
    /// Its boundary tag (0 when untagged).
    pub tag: i32,
    /// Length (2D) or area (3D).
    pub measure: f64,
    /// Outward unit normal.
    pub normal: [f64; 3],
}

fn sorted_key(vs: &[u32]) -> [u32; 3] {
    let mut k = [u32::MAX; 3];
    k[..vs.len()].copy_from_slice(vs);
    k.sort_unstable();
    k
}

/// Exterior facets of `mesh` touching an owned node of `lm` (which must hold one
/// vertex-adjacency ghost layer, so every cell around an owned node is local). Facets are found
/// and tagged by their corners; a P2 midpoint may be owned where neither corner is, so
/// ownership is tested on all facet nodes.
pub fn boundary_facets(mesh: &Mesh, lm: &LocalMesh, points: &[[f64; 3]]) -> Vec<BoundaryFacet> {
    let dim = mesh.cell_type.dim();
    let Some(el) = Lagrange::for_cell(mesh.cell_type) else {
        return Vec::new();
    };
    let n_owned = lm.points.n_owned;
    let tags: HashMap<[u32; 3], i32> = (0..mesh.num_facets())
        .map(|f| (sorted_key(&mesh.facet(f)[..dim]), mesh.facet_tags[f]))
        .collect();
    let (off, v2c) = mesh.vertex_to_cells();
    let mut out = Vec::new();
    for c in 0..lm.num_local_cells() {
        let vs = lm.cell(c);
        if vs.iter().all(|&v| v as usize >= n_owned) {
            continue;
        }
        let cx: Vec<[f64; 3]> = vs[..=dim].iter().map(|&v| points[v as usize]).collect();
        let centroid = map_point(&cx, &[1.0 / (dim + 1) as f64; 4]);
        for skip in 0..=dim {
            let (local, nf) = el.facet_nodes(skip);
            let fl: Vec<u32> = local[..nf].iter().map(|&k| vs[k]).collect();
            if fl.iter().all(|&v| v as usize >= n_owned) {
                continue;
            }
            let fg: Vec<u32> = fl[..dim].iter().map(|&v| lm.point_orig[v as usize]).collect();
            let shared = v2c[off[fg[0] as usize]..off[fg[0] as usize + 1]]
                .iter()
                .filter(|&&d| fg.iter().all(|v| mesh.cell(d as usize).contains(v)))
                .count();
            if shared != 1 {
                continue;
            }
            let fx: Vec<[f64; 3]> = fl[..dim].iter().map(|&v| points[v as usize]).collect();
            let (measure, normal) = facet_normal(&fx, dim, &centroid);
            let tag = tags.get(&sorted_key(&fg)).copied().unwrap_or(0);
            out.push(BoundaryFacet {
                points: fl,
                tag,
                measure,
                normal,
            });
        }
    }
    out
}

/// Owned nodes lying on a Dirichlet facet.
pub fn dirichlet_points(facets: &[BoundaryFacet], n_owned: usize, data: &HeatData) -> Vec<bool> {
    let mut d = vec![false; n_owned];
    for f in facets.iter().filter(|f| data.bc(f.tag) == BcKind::Dirichlet) {
        for &v in &f.points {
            if (v as usize) < n_owned {
                d[v as usize] = true;
            }
        }
    }
    d
}

/// Natural-boundary load of owned nodes at unit time factor: `∫ g φ_v ds` with
/// `g = κ ∇S·n` on Neumann facets and `g = κ ∇S·n + α S` on Robin facets, by the facet element's
/// mass rule (`el` is the cell element).
pub fn natural_load(
    facets: &[BoundaryFacet],
    points: &[[f64; 3]],
    n_owned: usize,
    el: &Lagrange,
    data: &HeatData,
) -> Vec<f64> {
    let fe = el.facet();
    let rule = fe.mass_rule();
    let mut phi = [0.0; MAX_NODES];
    let mut load = vec![0.0; n_owned];
    for f in facets {
        let alpha = match data.bc(f.tag) {
            BcKind::Dirichlet => continue,
            kind => kind.robin_alpha(),
        };
        let fx: Vec<[f64; 3]> = f.points[..el.dim()].iter().map(|&v| points[v as usize]).collect();
        for (l, w) in rule {
            let x = map_point(&fx, l);
            let g = data.kappa * data.shape_normal_derivative(&x, &f.normal) + alpha * data.shape(&x);
            fe.values(l, &mut phi);
            for (k, &v) in f.points.iter().enumerate() {
                if (v as usize) < n_owned {
                    load[v as usize] += w * f.measure * phi[k] * g;
                }
            }
        }
    }
    load
}

/// The Robin boundary matrix `α ∫ φ_a φ_b ds` on the rows of owned nodes, as (local row, local
/// column, value). Every exterior facet touching an owned node is listed once per rank, so
/// each owned row receives each facet's contribution exactly once.
pub fn robin_entries(facets: &[BoundaryFacet], n_owned: usize, el: &Lagrange, data: &HeatData) -> Vec<(u32, u32, f64)> {
    let fe = el.facet();
    let mut out = Vec::new();
    for f in facets {
        let alpha = match data.bc(f.tag) {
            BcKind::Robin(a) if a > 0.0 => a,
            _ => continue,
        };
        let m = fe.straight_mass(f.measure);
        for (i, &a) in f.points.iter().enumerate().filter(|(_, &a)| (a as usize) < n_owned) {
            for (j, &b) in f.points.iter().enumerate() {
                out.push((a, b, alpha * m[i][j]));
            }
        }
    }
    out
}

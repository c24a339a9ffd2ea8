//! Boundary facets seen from one rank: the exterior facets of the global mesh (shared by no
//! other cell) that touch an owned point, with their tag, measure and outward normal. Both the
//! explicit heat operator and the assembled systems derive Dirichlet rows and Neumann loads from
//! them, and Robin terms their boundary matrix; boundaries without a physical group get tag 0
//! (Dirichlet by default).

use crate::fem::simplex::{degree2_rule, facet_normal, map_point};
use crate::mesh::Mesh;
use crate::partition::LocalMesh;
use crate::pde::{BcKind, HeatData};
use std::collections::HashMap;

/// One exterior facet touching an owned point.
#[derive(Clone, Debug)]
pub struct BoundaryFacet {
    /// Local point indices of its vertices.
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

/// Exterior facets of `mesh` touching an owned point of `lm` (which must hold one
/// vertex-adjacency ghost layer, so every cell around an owned point is local).
pub fn boundary_facets(mesh: &Mesh, lm: &LocalMesh, points: &[[f64; 3]]) -> Vec<BoundaryFacet> {
    let dim = mesh.cell_type.dim();
    let n_owned = lm.points.n_owned;
    let tags: HashMap<[u32; 3], i32> = (0..mesh.num_facets())
        .map(|f| (sorted_key(mesh.facet(f)), mesh.facet_tags[f]))
        .collect();
    let (off, v2c) = mesh.vertex_to_cells();
    let mut out = Vec::new();
    for c in 0..lm.num_local_cells() {
        let vs = lm.cell(c);
        if vs.iter().all(|&v| v as usize >= n_owned) {
            continue;
        }
        let cx: Vec<[f64; 3]> = vs.iter().map(|&v| points[v as usize]).collect();
        let centroid = map_point(&cx, &[1.0 / (dim + 1) as f64; 4]);
        for skip in 0..=dim {
            let fl: Vec<u32> = (0..=dim).filter(|&k| k != skip).map(|k| vs[k]).collect();
            if fl.iter().all(|&v| v as usize >= n_owned) {
                continue;
            }
            let fg: Vec<u32> = fl.iter().map(|&v| lm.point_orig[v as usize]).collect();
            let shared = v2c[off[fg[0] as usize]..off[fg[0] as usize + 1]]
                .iter()
                .filter(|&&d| fg.iter().all(|v| mesh.cell(d as usize).contains(v)))
                .count();
            if shared != 1 {
                continue;
            }
            let fx: Vec<[f64; 3]> = fl.iter().map(|&v| points[v as usize]).collect();
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

/// Owned points lying on a Dirichlet facet.
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

/// Natural-boundary load of owned points at unit time factor: `∫ g φ_v ds` with
/// `g = κ ∇S·n` on Neumann facets and `g = κ ∇S·n + α S` on Robin facets, by a degree-2 facet
/// rule.
pub fn natural_load(
    facets: &[BoundaryFacet],
    points: &[[f64; 3]],
    n_owned: usize,
    dim: usize,
    data: &HeatData,
) -> Vec<f64> {
    let rule = degree2_rule(dim - 1);
    let mut load = vec![0.0; n_owned];
    for f in facets {
        let alpha = match data.bc(f.tag) {
            BcKind::Dirichlet => continue,
            kind => kind.robin_alpha(),
        };
        let fx: Vec<[f64; 3]> = f.points.iter().map(|&v| points[v as usize]).collect();
        for (l, w) in &rule {
            let x = map_point(&fx, l);
            let g = data.kappa * data.shape_normal_derivative(&x, &f.normal) + alpha * data.shape(&x);
            for (k, &v) in f.points.iter().enumerate() {
                if (v as usize) < n_owned {
                    load[v as usize] += w * f.measure * l[k] * g;
                }
            }
        }
    }
    load
}

/// The Robin boundary matrix `α ∫ φ_a φ_b ds` on the rows of owned points, as (local row, local
/// column, value). Every exterior facet touching an owned point is listed once per rank, so
/// each owned row receives each facet's contribution exactly once.
pub fn robin_entries(facets: &[BoundaryFacet], n_owned: usize, dim: usize, data: &HeatData) -> Vec<(u32, u32, f64)> {
    let nf = dim as f64; // vertices of a facet
    let mut out = Vec::new();
    for f in facets {
        let alpha = match data.bc(f.tag) {
            BcKind::Robin(a) if a > 0.0 => a,
            _ => continue,
        };
        // Exact P1 facet mass on a simplex of nf vertices: |F| (1 + δ_ab) / (nf (nf + 1)).
        let m = alpha * f.measure / (nf * (nf + 1.0));
        for &a in f.points.iter().filter(|&&a| (a as usize) < n_owned) {
            for &b in &f.points {
                out.push((a, b, if a == b { 2.0 * m } else { m }));
            }
        }
    }
    out
}

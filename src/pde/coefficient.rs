//! The built-in high-contrast coefficient: κ = `kappa` on a background with thin channels and
//! small inclusions of κ = `contrast × kappa`, defined by each cell's centroid in the unit box so
//! the same pattern lands on structured grids (quadrilaterals, or split into simplices), on Gmsh
//! meshes and on their P2 elevations. It is the standard hard case for Schwarz preconditioners:
//! long high-κ channels crossing many subdomain interfaces, which one-level methods (and the
//! Nicolaides coarse space) handle poorly and GenEO-type coarse spaces are built for.
//!
//! # Geometry
//! Coordinates are in units of `1/32` of the unit box (`s = 32 x`); a cell belongs to a feature
//! when its centroid `s` satisfies `lo ≤ s < hi` along each listed axis. Every bound is a whole
//! multiple of `1/32`, so on grids of `32m` cells per direction (32², 64², 128², …) each feature
//! is a union of whole grid cells (no centroid lies on a bound), and the pattern is resolved
//! exactly; coarser or misaligned grids and unstructured meshes see it to within a cell.
//! - **Channels** (index `j + 4 l`): `1 ≤ s_x < 31` and `3 + 8j ≤ s_y < 4 + 8j` for
//!   `j = 0..4` — four horizontal strips of width 1/32 spanning 15/16 of the box in x, so each
//!   crosses every interface of a partition in x, but none touches the boundary (each floats in
//!   the κ = 1 background, the hard case for coarse spaces). In 3D also `3 + 8l ≤ s_z < 4 + 8l`
//!   for `l = 0..4`: sixteen square tubes along x.
//! - **Inclusions** (index `(i-1) + 3 (j-1) + 9 (k-1)`): squares (cubes in 3D) of side 1/16
//!   centred at `(i/4, j/4[, k/4])` for `i, j, k ∈ {1, 2, 3}`, i.e. `8i − 1 ≤ s_x < 8i + 1` and
//!   likewise in y (and z): nine (27) inclusions straddling the lines x, y (z) = 1/4, 1/2, 3/4
//!   where block partitions into 2, 4 and 8 parts per direction cut.
//!
//! Channels and inclusions are at least 3/32 apart, so the features are disjoint. In 2D the
//! channels cover 15/128 and the inclusions 9/256 of the box.

use super::HeatData;
use crate::error::{Error, Result};
use crate::mesh::Mesh;

/// Which feature of the built-in high-contrast pattern a point lies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// A high-κ channel (strip in 2D, tube in 3D) and its index.
    Channel(usize),
    /// A high-κ inclusion (square in 2D, cube in 3D) and its index.
    Inclusion(usize),
}

/// Units of the pattern per unit length: the bounds are integers in these units.
const UNITS: f64 = 32.0;
/// Number of channel bands per transverse axis.
const BANDS: usize = 4;

/// The feature of the high-contrast pattern holding the point `x` of the unit box in `dim`
/// dimensions (`None` for the κ = 1 background); see the module documentation for the geometry.
pub fn feature_at(x: &[f64; 3], dim: usize) -> Option<Feature> {
    let s = x.map(|xi| xi * UNITS);
    // The channel band of a transverse coordinate: 3 + 8j ≤ s < 4 + 8j.
    let band = |t: f64| {
        let j = ((t - 3.0) / 8.0).floor();
        (j >= 0.0 && (j as usize) < BANDS && t < 4.0 + 8.0 * j).then_some(j as usize)
    };
    if (1.0..31.0).contains(&s[0]) {
        let j = band(s[1]);
        let l = if dim == 3 { band(s[2]) } else { Some(0) };
        if let (Some(j), Some(l)) = (j, l) {
            return Some(Feature::Channel(j + BANDS * l));
        }
    }
    // The inclusion centre index of a coordinate: 8i − 1 ≤ s < 8i + 1 with i ∈ {1, 2, 3}.
    let centre = |t: f64| {
        let i = ((t + 1.0) / 8.0).floor();
        ((1.0..=3.0).contains(&i) && t < 8.0 * i + 1.0).then_some(i as usize - 1)
    };
    let mut index = 0;
    for (d, stride) in [1, 3, 9].into_iter().enumerate().take(dim) {
        index += stride * centre(s[d])?;
    }
    Some(Feature::Inclusion(index))
}

/// Centroid of the corners of mesh cell `c`: the same point for a linear cell and its P2
/// elevation (whose extra nodes would move it by rounding only, but could flip a tie).
fn corner_centroid(mesh: &Mesh, c: usize) -> [f64; 3] {
    let corners = &mesh.cell(c)[..mesh.cell_type.num_corners()];
    let mut x = [0.0; 3];
    for &v in corners {
        for (xi, pi) in x.iter_mut().zip(mesh.points[v as usize]) {
            *xi += pi;
        }
    }
    x.map(|xi| xi / corners.len() as f64)
}

impl HeatData {
    /// Sets the built-in high-contrast coefficient: cells whose centroid lies in a channel or an
    /// inclusion ([`feature_at`]) get `contrast × kappa`, the others keep `kappa` (so `--kappa`
    /// scales the whole coefficient and `contrast` is the ratio of its extremes). `contrast = 1`
    /// leaves κ uniform; above 1 it needs `exact` to be `None` (the built-in exact solutions
    /// assume a uniform κ) and cannot be combined with region values, which also set κ per cell.
    pub fn with_contrast(mut self, mesh: &Mesh, contrast: f64) -> Result<HeatData> {
        if !(contrast >= 1.0 && contrast.is_finite()) {
            return Err(Error::input(format!(
                "contrast must be a finite number >= 1 (1: uniform kappa), got {contrast}"
            )));
        }
        if contrast == 1.0 {
            return Ok(self);
        }
        if !self.cell_kappa.is_empty() {
            return Err(Error::input(
                "--contrast and --kappa-region both set kappa per cell: give one of them",
            ));
        }
        if self.exact.is_some() {
            return Err(Error::input(
                "a high-contrast kappa (--contrast above 1) needs --exact none: the built-in exact solutions assume a uniform kappa",
            ));
        }
        let high = contrast * self.kappa;
        if !high.is_finite() {
            return Err(Error::input(format!(
                "contrast × kappa = {contrast:e} × {:e} overflows",
                self.kappa
            )));
        }
        let dim = mesh.gdim;
        self.cell_kappa = (0..mesh.num_cells())
            .map(|c| match feature_at(&corner_centroid(mesh, c), dim) {
                Some(_) => high,
                None => self.kappa,
            })
            .collect();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn features_where_documented() {
        let p = |x: f64, y: f64| feature_at(&[x, y, 0.0], 2);
        assert_eq!(p(0.5, 3.5 / 32.0), Some(Feature::Channel(0)));
        assert_eq!(p(0.5, 27.5 / 32.0), Some(Feature::Channel(3)));
        assert_eq!(
            p(0.5 / 32.0, 3.5 / 32.0),
            None,
            "channels stop 1/32 short of the boundary"
        );
        assert_eq!(p(0.5, 4.5 / 32.0), None);
        assert_eq!(p(0.25, 0.25), Some(Feature::Inclusion(0)));
        assert_eq!(p(0.5 - 0.9 / 32.0, 0.5 + 0.9 / 32.0), Some(Feature::Inclusion(4)));
        assert_eq!(p(0.75, 0.75), Some(Feature::Inclusion(8)));
        assert_eq!(p(0.5 - 1.1 / 32.0, 0.5), None);
        assert_eq!(p(0.1, 0.2), None);
        let q = |x: f64, y: f64, z: f64| feature_at(&[x, y, z], 3);
        assert_eq!(q(0.5, 11.5 / 32.0, 19.5 / 32.0), Some(Feature::Channel(1 + 4 * 2)));
        assert_eq!(q(0.5, 11.5 / 32.0, 0.5), None, "a 3D channel is a tube, not a slab");
        assert_eq!(q(0.5, 0.5, 0.75), Some(Feature::Inclusion(4 + 9 * 2)));
    }

    /// On a 32² grid every feature is whole cells: 4 channels of 30 cells and 9 inclusions of
    /// 2 × 2; the split grid (P1) and its P2 elevation get the same κ per grid cell.
    #[test]
    fn pattern_is_resolved_by_a_32_grid_and_the_same_on_simplices() {
        let quads = Mesh::structured(&[32, 32], false).unwrap();
        let data = |m: &Mesh| {
            HeatData::new(m, 2.0, None, 1.0, &BTreeMap::new())
                .unwrap()
                .with_contrast(m, 1e6)
                .unwrap()
        };
        let k = data(&quads).cell_kappa;
        assert_eq!(k.iter().filter(|&&v| v == 2e6).count(), 4 * 30 + 9 * 4);
        assert_eq!(k.iter().filter(|&&v| v == 2.0).count(), 32 * 32 - 4 * 30 - 9 * 4);
        let tri = Mesh::structured(&[32, 32], true).unwrap();
        let kt = data(&tri).cell_kappa;
        assert!(kt.chunks(2).zip(&k).all(|(t, q)| t[0] == *q && t[1] == *q));
        assert_eq!(data(&tri.elevate().unwrap()).cell_kappa, kt);
    }

    #[test]
    fn refuses_bad_contrast_exact_solutions_and_regions() {
        let m = Mesh::structured(&[8, 8], false).unwrap();
        let d = HeatData::new(&m, 1.0, None, 1.0, &BTreeMap::new()).unwrap();
        assert!(d.clone().with_contrast(&m, 0.5).is_err());
        assert!(d.clone().with_contrast(&m, f64::NAN).is_err());
        assert!(d.clone().with_contrast(&m, 1.0).unwrap().cell_kappa.is_empty());
        let mut regions = d.clone();
        regions.cell_kappa = vec![1.0; 64];
        assert!(regions.with_contrast(&m, 10.0).is_err());
        let e = HeatData::new(&m, 1.0, Some(super::super::Exact::Mode), 0.0, &BTreeMap::new()).unwrap();
        assert!(e.clone().with_contrast(&m, 1.0).is_ok());
        let msg = e.with_contrast(&m, 10.0).unwrap_err().to_string();
        assert!(msg.contains("needs --exact none"), "{msg}");
    }
}

//! Problem data shared by the discretizations: the coefficient, boundary-condition kinds per
//! boundary tag, the source, and the built-in exact solutions used to measure errors. The
//! discretizations ([`crate::fd`], [`crate::fem`]) read it; the problem drivers build it. A κ that
//! varies per cell comes from region values ([`HeatData::with_kappa_regions`]) or the built-in
//! high-contrast pattern ([`coefficient`], [`HeatData::with_contrast`]).

pub mod coefficient;

use crate::error::{Error, Result};
use crate::mesh::Mesh;
use std::collections::BTreeMap;
use std::f64::consts::{FRAC_PI_4, PI};

/// Boundary condition kind on one boundary tag.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BcKind {
    /// Prescribed value (the exact solution's where one is known, else 0).
    Dirichlet,
    /// Prescribed outward normal derivative ∂u/∂n (the exact solution's, else 0).
    Neumann,
    /// `κ ∂u/∂n + α u = g` with the given `α ≥ 0` (`g` the exact solution's, else 0): a heat
    /// transfer coefficient towards a zero exterior value.
    Robin(f64),
}

impl BcKind {
    /// Parses `dirichlet`, `neumann` or `robin:ALPHA` (the spelling of `--bc NAME=KIND`).
    pub fn parse(text: &str) -> Result<BcKind> {
        match text.split_once(':') {
            None if text == "dirichlet" => Ok(BcKind::Dirichlet),
            None if text == "neumann" => Ok(BcKind::Neumann),
            Some(("robin", a)) => match a.parse::<f64>() {
                Ok(alpha) if alpha >= 0.0 && alpha.is_finite() => Ok(BcKind::Robin(alpha)),
                _ => Err(Error::input(format!(
                    "robin coefficient '{a}' must be a finite number >= 0"
                ))),
            },
            _ => Err(Error::input(format!(
                "unknown boundary condition '{text}' (expected dirichlet, neumann or robin:ALPHA)"
            ))),
        }
    }

    /// The Robin coefficient `α` (0 for the other kinds).
    pub fn robin_alpha(self) -> f64 {
        match self {
            BcKind::Robin(a) => a,
            _ => 0.0,
        }
    }
}

/// The built-in problems with a closed-form solution of `u_t = κΔu + f` valid in all of space,
/// so they can be posed on any mesh; Dirichlet and Neumann data are taken from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exact {
    /// Decaying mode `u = exp(-κπ²d t) Π sin(πx_i + π/4)` with `f = 0`.
    Mode,
    /// Growing manufactured solution `u = (1 + t) Π sin(πx_i + π/4)` with the matching source.
    Manufactured,
}

/// Everything a heat discretization needs besides the mesh.
#[derive(Clone, Debug)]
pub struct HeatData {
    /// Diffusion coefficient κ > 0.
    pub kappa: f64,
    /// Spatial dimension.
    pub dim: usize,
    /// The exact solution, when the problem has one.
    pub exact: Option<Exact>,
    /// A constant source added to the manufactured one (used when there is no exact solution).
    pub constant_source: f64,
    /// Boundary condition per boundary tag; tags not listed are Dirichlet.
    pub bcs: BTreeMap<i32, BcKind>,
    /// κ of each mesh cell when it varies by region (empty when κ is `kappa` everywhere).
    pub cell_kappa: Vec<f64>,
}

impl HeatData {
    /// Builds the data, resolving `bc` entries (boundary name → kind) against the mesh's names.
    pub fn new(
        mesh: &Mesh,
        kappa: f64,
        exact: Option<Exact>,
        constant_source: f64,
        bc: &BTreeMap<String, BcKind>,
    ) -> Result<HeatData> {
        if !(kappa > 0.0 && kappa.is_finite()) {
            return Err(Error::input(format!("kappa must be positive and finite, got {kappa}")));
        }
        if !constant_source.is_finite() {
            return Err(Error::input(format!("source must be finite, got {constant_source}")));
        }
        let bdim = mesh.cell_type.dim() - 1;
        let mut bcs = BTreeMap::new();
        for (name, kind) in bc {
            let tag = mesh.tag_of(bdim, name).or_else(|| name.parse().ok()).ok_or_else(|| {
                let known: Vec<&str> = mesh
                    .names
                    .iter()
                    .filter(|p| p.dim == bdim)
                    .map(|p| p.name.as_str())
                    .collect();
                Error::input(format!(
                    "no boundary named '{name}' in the mesh (boundaries: {})",
                    known.join(", ")
                ))
            })?;
            bcs.insert(tag, *kind);
        }
        Ok(HeatData {
            kappa,
            dim: mesh.gdim,
            exact,
            constant_source,
            bcs,
            cell_kappa: Vec::new(),
        })
    }

    /// Sets κ per cell region: cells whose region tag is named (or numbered) in `regions` get
    /// that value, the others keep `kappa`. A coefficient that varies needs `exact` to be `None`,
    /// since the built-in exact solutions solve the equation for a uniform κ only.
    pub fn with_kappa_regions(mut self, mesh: &Mesh, regions: &BTreeMap<String, f64>) -> Result<HeatData> {
        if regions.is_empty() {
            return Ok(self);
        }
        let cdim = mesh.cell_type.dim();
        let mut by_tag = BTreeMap::new();
        for (name, &value) in regions {
            if !(value > 0.0 && value.is_finite()) {
                return Err(Error::input(format!(
                    "kappa of region '{name}' must be positive and finite, got {value}"
                )));
            }
            let tag = mesh
                .tag_of(cdim, name)
                .or_else(|| name.parse().ok())
                .filter(|t| mesh.cell_tags.contains(t));
            let tag = tag.ok_or_else(|| {
                let known: Vec<&str> = mesh
                    .names
                    .iter()
                    .filter(|p| p.dim == cdim)
                    .map(|p| p.name.as_str())
                    .collect();
                let known = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                Error::input(format!("no cell region named '{name}' in the mesh (regions: {known})"))
            })?;
            by_tag.insert(tag, value);
        }
        if self.exact.is_some() && by_tag.values().any(|&v| v != self.kappa) {
            return Err(Error::input(
                "a kappa that varies by region needs --exact none: the built-in exact solutions assume a uniform kappa",
            ));
        }
        self.cell_kappa = mesh
            .cell_tags
            .iter()
            .map(|t| by_tag.get(t).copied().unwrap_or(self.kappa))
            .collect();
        Ok(self)
    }

    /// κ on mesh cell `cell` (its original index).
    pub fn kappa_at(&self, cell: u32) -> f64 {
        self.cell_kappa.get(cell as usize).copied().unwrap_or(self.kappa)
    }

    /// Whether κ varies per cell (region values or the high-contrast pattern are set).
    pub fn varies(&self) -> bool {
        !self.cell_kappa.is_empty()
    }

    /// The smallest κ over all cells.
    pub fn kappa_min(&self) -> f64 {
        match self.cell_kappa.iter().copied().reduce(f64::min) {
            Some(k) => k,
            None => self.kappa,
        }
    }

    /// The largest κ over all cells (the mesh is replicated, so every rank agrees without
    /// communication): it bounds the explicit step.
    pub fn kappa_max(&self) -> f64 {
        match self.cell_kappa.iter().copied().reduce(f64::max) {
            Some(k) => k,
            None => self.kappa,
        }
    }

    /// The condition on boundary tag `tag`.
    pub fn bc(&self, tag: i32) -> BcKind {
        self.bcs.get(&tag).copied().unwrap_or(BcKind::Dirichlet)
    }

    /// `S(x) = Π sin(πx_i + π/4)` and its gradient (no allocation: called per face and point).
    fn spatial(&self, x: &[f64; 3]) -> (f64, [f64; 3]) {
        let mut s = [1.0; 3];
        let mut c = [0.0; 3];
        for i in 0..self.dim {
            (s[i], c[i]) = (PI * x[i] + FRAC_PI_4).sin_cos();
        }
        let prod = s[0] * s[1] * s[2];
        let mut g = [0.0; 3];
        for i in 0..self.dim {
            g[i] = PI * c[i] * (0..self.dim).filter(|&j| j != i).map(|j| s[j]).product::<f64>();
        }
        (prod, g)
    }

    /// The time factor `T(t)` of the exact solution `u = T(t) S(x)` (0 when there is none): the
    /// boundary data are `T(t)` times a spatial factor that discretizations precompute.
    pub fn time_factor(&self, t: f64) -> f64 {
        match self.exact {
            Some(Exact::Mode) => (-self.kappa * PI * PI * self.dim as f64 * t).exp(),
            Some(Exact::Manufactured) => 1.0 + t,
            None => 0.0,
        }
    }

    /// The spatial factor `S(x)` of the exact solution (Dirichlet data are `T(t) S(x)`).
    pub fn shape(&self, x: &[f64; 3]) -> f64 {
        self.spatial(x).0
    }

    /// `∇S(x)`.
    pub fn shape_gradient(&self, x: &[f64; 3]) -> [f64; 3] {
        self.spatial(x).1
    }

    /// The Poisson source: `-κΔS = κπ²d S` when the problem has the manufactured solution, plus
    /// the constant source.
    pub fn poisson_source(&self, x: &[f64; 3]) -> f64 {
        let manufactured = if self.exact.is_some() {
            self.kappa * PI * PI * self.dim as f64 * self.shape(x)
        } else {
            0.0
        };
        manufactured + self.constant_source
    }

    /// `∇S(x)·n` (Neumann data ∂u/∂n are `T(t) ∇S·n`).
    pub fn shape_normal_derivative(&self, x: &[f64; 3], n: &[f64; 3]) -> f64 {
        let g = self.spatial(x).1;
        g[0] * n[0] + g[1] * n[1] + g[2] * n[2]
    }

    /// The exact solution at `x`, time `t` (0 when there is none); also the initial condition.
    pub fn exact_value(&self, x: &[f64; 3], t: f64) -> f64 {
        self.time_factor(t) * self.shape(x)
    }

    /// The source split as `f(x, t) = source_time(t) · source_space(x) + constant_source`;
    /// this is the spatial factor.
    pub fn source_space(&self, x: &[f64; 3]) -> f64 {
        match self.exact {
            Some(Exact::Manufactured) => self.spatial(x).0,
            _ => 0.0,
        }
    }

    /// Time factor of the source: for the manufactured solution `u_t - κΔu = S (1 + κπ²d(1+t))`.
    pub fn source_time(&self, t: f64) -> f64 {
        match self.exact {
            Some(Exact::Manufactured) => 1.0 + self.kappa * PI * PI * self.dim as f64 * (1.0 + t),
            _ => 0.0,
        }
    }

    /// Whether the problem has any source at all.
    pub fn has_source(&self) -> bool {
        self.exact == Some(Exact::Manufactured) || self.constant_source != 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manufactured pair satisfies u_t - κΔu = f, checked by finite differences.
    #[test]
    fn manufactured_source_matches() {
        let m = Mesh::structured(&[2, 2], false).unwrap();
        let d = HeatData::new(&m, 0.3, Some(Exact::Manufactured), 0.0, &BTreeMap::new()).unwrap();
        let (x, t, h) = ([0.3, 0.6, 0.0], 0.2, 1e-4);
        let u = |x: &[f64; 3], t| d.exact_value(x, t);
        let ut = (u(&x, t + h) - u(&x, t - h)) / (2.0 * h);
        let mut lap = 0.0;
        for i in 0..2 {
            let (mut xp, mut xm) = (x, x);
            xp[i] += h;
            xm[i] -= h;
            lap += (u(&xp, t) - 2.0 * u(&x, t) + u(&xm, t)) / (h * h);
        }
        let f = d.source_time(t) * d.source_space(&x);
        assert!((ut - 0.3 * lap - f).abs() < 1e-5, "{} vs {f}", ut - 0.3 * lap);
    }

    #[test]
    fn bad_kappa_and_unknown_boundary() {
        let m = Mesh::structured(&[2, 2], false).unwrap();
        assert!(HeatData::new(&m, 0.0, None, 0.0, &BTreeMap::new()).is_err());
        let bc = BTreeMap::from([("nowhere".to_string(), BcKind::Neumann)]);
        let e = HeatData::new(&m, 1.0, None, 0.0, &bc).unwrap_err().to_string();
        assert!(e.contains("xmin, xmax, ymin, ymax"), "{e}");
    }
}

/// Error norms of a computed solution against the exact one.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ErrorNorms {
    /// L2 norm of the error.
    pub l2: f64,
    /// Maximum nodal / cell error.
    pub linf: f64,
    /// L2 error over the L2 norm of the exact solution.
    pub l2_relative: f64,
}

impl ErrorNorms {
    /// Collective: combines this rank's squared sums and maximum into global norms.
    pub fn reduce(comm: &crate::comm::Comm, err2: f64, exact2: f64, max: f64) -> ErrorNorms {
        let e2 = comm.sum_f64(err2);
        let n2 = comm.sum_f64(exact2);
        let l2 = e2.sqrt();
        ErrorNorms {
            l2,
            linf: comm.max_f64(max),
            l2_relative: if n2 > 0.0 { l2 / n2.sqrt() } else { l2 },
        }
    }
}

/// The name of the heat equation's solution in snapshots and checkpoints.
pub const HEAT_FIELD: &str = "u";

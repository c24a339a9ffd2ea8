//! The bundled flows and their quantities of interest. The lid-driven cavity (unit square or
//! cube, lid `ymax` moving with speed 1 in x, other sides at rest): velocity profiles along the
//! centre lines, written as CSV (`x,y,u,v`, or `x,y,z,u,v,w` in 3D) and compared with Ghia, Ghia
//! & Shin (1982) where the Reynolds number is one of their tables'. The Taylor–Green vortex on
//! the unit square (exact velocity on the boundary): L2 errors of velocity and pressure.

use super::bc::taylor_green;
use super::scheme::FlowState;
use super::spaces::Spaces;
use crate::comm::Comm;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A bundled case or a user mesh.
#[derive(Clone, Debug, PartialEq)]
pub enum Case {
    /// Lid-driven cavity.
    Cavity,
    /// Taylor–Green vortex ([`taylor_green`]) on the unit square, started from the exact
    /// solution, with its velocity on the boundary.
    TaylorGreen,
    /// Any mesh with conditions by boundary name (no quantities of interest yet).
    Custom,
}

impl Case {
    /// The stem of the output files.
    pub fn stem(&self) -> &'static str {
        match self {
            Case::Cavity => "cavity",
            Case::TaylorGreen => "taylor-green",
            Case::Custom => "flow",
        }
    }

    /// Collective: the case's quantities of interest at Reynolds number `re` as JSON, files
    /// (written by rank 0 into `out`) appended to `files`.
    pub fn quantities(
        &self,
        comm: &Comm,
        (s, st): (&mut Spaces, &FlowState),
        (re, nu): (f64, f64),
        out: Option<&Path>,
        files: &mut Vec<PathBuf>,
    ) -> Result<serde_json::Value> {
        match self {
            Case::Cavity => cavity_quantities(comm, (s, st), re, out, files),
            Case::TaylorGreen => {
                let (eu, nu_, ep, np) = flow_errors(comm, s, st, |x, t| taylor_green(x, t, nu));
                Ok(serde_json::json!({
                    "velocity_l2_error": eu,
                    "velocity_l2_relative": eu / nu_,
                    "pressure_l2_error": ep,
                    "pressure_l2_relative": ep / np,
                }))
            }
            Case::Custom => Ok(serde_json::Value::Null),
        }
    }
}

/// Ghia, Ghia & Shin (1982), Re = 100: u on the vertical centre line (y, u) and v on the
/// horizontal one (x, v).
const GHIA_100_U: [(f64, f64); 17] = [
    (1.0000, 1.00000),
    (0.9766, 0.84123),
    (0.9688, 0.78871),
    (0.9609, 0.73722),
    (0.9531, 0.68717),
    (0.8516, 0.23151),
    (0.7344, 0.00332),
    (0.6172, -0.13641),
    (0.5000, -0.20581),
    (0.4531, -0.21090),
    (0.2813, -0.15662),
    (0.1719, -0.10150),
    (0.1016, -0.06434),
    (0.0703, -0.04775),
    (0.0625, -0.04192),
    (0.0547, -0.03717),
    (0.0000, 0.00000),
];
/// See [`GHIA_100_U`].
const GHIA_100_V: [(f64, f64); 17] = [
    (1.0000, 0.00000),
    (0.9688, -0.05906),
    (0.9609, -0.07391),
    (0.9531, -0.08864),
    (0.9453, -0.10313),
    (0.9063, -0.16914),
    (0.8594, -0.22445),
    (0.8047, -0.24533),
    (0.5000, 0.05454),
    (0.2344, 0.17527),
    (0.2266, 0.17507),
    (0.1563, 0.16077),
    (0.0938, 0.12317),
    (0.0781, 0.10890),
    (0.0703, 0.10091),
    (0.0625, 0.09233),
    (0.0000, 0.00000),
];

/// A reference profile: (coordinate along the line, velocity component) pairs.
type Profile = &'static [(f64, f64)];

/// The reference tables (u on the vertical line, v on the horizontal one) for a Reynolds
/// number, if Ghia et al. give one.
fn ghia(re: f64) -> Option<(Profile, Profile)> {
    ((re - 100.0).abs() < 1e-9).then_some((&GHIA_100_U[..], &GHIA_100_V[..]))
}

/// Collective: the nodes on the line through the centre along axis `along` (the other
/// coordinates 0.5), with the velocity, gathered on every rank and sorted along the line: rows
/// of `[x, y, z, u, v, w]`.
fn centre_line(comm: &Comm, s: &Spaces, st: &FlowState, along: usize) -> Vec<[f64; 6]> {
    let tol = 1e-9;
    let mut mine = Vec::new();
    for i in 0..s.n_u() {
        let x = s.points[i];
        if (0..s.dim).all(|d| d == along || (x[d] - 0.5).abs() < tol) {
            mine.extend_from_slice(&x);
            for d in 0..3 {
                mine.push(st.u.get(d).map_or(0.0, |u| u.owned()[i]));
            }
        }
    }
    let all = comm.all_gather_v(&mine);
    let mut rows: Vec<[f64; 6]> = all.chunks_exact(6).map(|c| std::array::from_fn(|k| c[k])).collect();
    rows.sort_by(|a, b| a[along].total_cmp(&b[along]));
    rows
}

/// The P2 solution along a line of cell edges at `at`: the quadratic through the three nodes
/// (corner, edge node, corner) of the edge holding it.
fn on_line(rows: &[[f64; 6]], along: usize, comp: usize, at: f64) -> f64 {
    let k = rows.len().saturating_sub(1) / 2;
    let e = (0..k)
        .find(|&e| at <= rows[2 * e + 2][along])
        .unwrap_or(k.saturating_sub(1));
    let (a, m, b) = (&rows[2 * e], &rows[2 * e + 1], &rows[2 * e + 2]);
    let (x0, x1, x2) = (a[along], m[along], b[along]);
    let l = |xi: f64, xj: f64, xk: f64| (at - xj) * (at - xk) / ((xi - xj) * (xi - xk));
    a[comp] * l(x0, x1, x2) + m[comp] * l(x1, x0, x2) + b[comp] * l(x2, x0, x1)
}

/// Collective: centre-line profiles (CSV in `out`) and the deviation from Ghia et al.
fn cavity_quantities(
    comm: &Comm,
    (s, st): (&Spaces, &FlowState),
    re: f64,
    out: Option<&Path>,
    files: &mut Vec<PathBuf>,
) -> Result<serde_json::Value> {
    let vertical = centre_line(comm, s, st, 1);
    let horizontal = centre_line(comm, s, st, 0);
    // A line of edges from wall to wall has an odd number of nodes, starting at a corner.
    if vertical.len() < 3 || vertical.len() % 2 == 0 || horizontal.len() % 2 == 0 {
        return comm.agree(Err(Error::input(
            "the cavity's centre lines must be lines of cell edges: use --grid with an even number of cells per side",
        )));
    }
    let dim = s.dim;
    let write = |name: &str, rows: &[[f64; 6]]| -> Result<PathBuf> {
        let dir = out.unwrap_or(Path::new("."));
        let path = dir.join(name);
        if comm.is_root() {
            let header = if dim == 3 { "x,y,z,u,v,w\n" } else { "x,y,u,v\n" };
            let mut text = String::from(header);
            for r in rows {
                let cols: Vec<String> = if dim == 3 {
                    r.iter().map(|v| format!("{v:.10e}")).collect()
                } else {
                    [r[0], r[1], r[3], r[4]].iter().map(|v| format!("{v:.10e}")).collect()
                };
                text += &cols.join(",");
                text.push('\n');
            }
            std::fs::write(&path, text).map_err(|e| Error::Io {
                path: path.display().to_string(),
                source: e,
            })?;
        }
        Ok(path)
    };
    if out.is_some() {
        let a = comm.agree(write("profile_x0.5.csv", &vertical))?;
        let b = comm.agree(write("profile_y0.5.csv", &horizontal))?;
        files.extend([a, b]);
    }
    let mut q = serde_json::json!({
        "u_min_vertical_centre_line": vertical.iter().map(|r| r[3]).fold(f64::INFINITY, f64::min),
        "v_max_horizontal_centre_line": horizontal.iter().map(|r| r[4]).fold(f64::NEG_INFINITY, f64::max),
        "v_min_horizontal_centre_line": horizontal.iter().map(|r| r[4]).fold(f64::INFINITY, f64::min),
    });
    if let Some((gu, gv)) = ghia(re).filter(|_| s.dim == 2) {
        let du = gu
            .iter()
            .map(|&(y, u)| (on_line(&vertical, 1, 3, y) - u).abs())
            .fold(0.0, f64::max);
        let dv = gv
            .iter()
            .map(|&(x, v)| (on_line(&horizontal, 0, 4, x) - v).abs())
            .fold(0.0, f64::max);
        q["ghia_max_deviation_u"] = du.into();
        q["ghia_max_deviation_v"] = dv.into();
    }
    Ok(q)
}

/// Collective: L2 norms over the domain of the velocity error and the exact velocity, and of
/// the pressure error with its mean removed (the pressure is fixed up to a constant when no
/// boundary fixes it) and the exact pressure's, against `exact(x, t)` at the state's time (a
/// degree-5 rule, isoparametric on curved cells).
pub fn flow_errors(
    comm: &Comm,
    s: &mut Spaces,
    st: &FlowState,
    exact: impl Fn(&[f64; 3], f64) -> ([f64; 3], f64),
) -> (f64, f64, f64, f64) {
    use crate::fem::element::MAX_NODES;
    let mut u: Vec<Vec<f64>> = Vec::with_capacity(s.dim);
    for ud in &st.u {
        let mut v = vec![0.0; s.points.len()];
        v[..s.n_u()].copy_from_slice(ud.owned());
        s.halo_u.forward(comm, &mut v);
        u.push(v);
    }
    let mut p = vec![0.0; s.points_p.len()];
    p[..s.n_p()].copy_from_slice(st.p.owned());
    s.halo_p.forward(comm, &mut p);
    let nn = s.el.num_nodes();
    let (mut x, mut phi) = ([[0.0; 3]; MAX_NODES], [0.0; MAX_NODES]);
    // ∫|e_u|², ∫|u|², ∫e_p, ∫e_p², ∫p, ∫p², |Ω|
    let mut sums = [0.0f64; 7];
    for c in 0..s.lm_u.cells.n_owned {
        s.cell_nodes(c, &mut x);
        let (vu, vp) = (s.lm_u.cell(c), s.lm_p.cell(c));
        s.el.quadrature(&x[..nn], 5, |q| {
            s.el.values(&q.l, &mut phi);
            let (ue, pe) = exact(&q.point, st.t);
            let dv = q.w * q.jac;
            for (d, ud) in u.iter().enumerate() {
                let uh: f64 = vu.iter().zip(&phi).map(|(&k, f)| ud[k as usize] * f).sum();
                sums[0] += dv * (uh - ue[d]).powi(2);
                sums[1] += dv * ue[d] * ue[d];
            }
            let ph: f64 = vp.iter().zip(&q.l).map(|(&k, l)| p[k as usize] * l).sum();
            sums[2] += dv * (ph - pe);
            sums[3] += dv * (ph - pe).powi(2);
            sums[4] += dv * pe;
            sums[5] += dv * pe * pe;
            sums[6] += dv;
        });
    }
    let g: Vec<f64> = sums.iter().map(|&v| comm.sum_f64(v)).collect();
    let ep2 = g[3] - g[2] * g[2] / g[6];
    let np2 = g[5] - g[4] * g[4] / g[6];
    (g[0].sqrt(), g[1].sqrt(), ep2.max(0.0).sqrt(), np2.max(0.0).sqrt())
}

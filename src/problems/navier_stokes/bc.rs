//! Flow boundary conditions by boundary tag: no-slip walls, a prescribed velocity (a moving lid,
//! a parabolic inflow with an optional time ramp), and do-nothing outflow (`ν ∂u/∂n − p n = 0`,
//! natural in the weak form; the pressure increment vanishes there).

use serde::Serialize;

/// A prescribed velocity.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "profile")]
pub enum Profile {
    /// The same vector everywhere (a moving lid).
    Uniform {
        /// The velocity.
        velocity: [f64; 3],
    },
    /// `u_x = 4 U y (H − y) / H²` across a channel of height `H` whose lower wall is `y = 0`
    /// (2D; in 3D the product over y and z), times the ramp.
    Parabolic {
        /// Peak speed `U` (at mid-height).
        peak: f64,
        /// Channel height `H` (and width in z, in 3D).
        height: f64,
        /// Period of a `sin(π t / period)` ramp; none for a steady inflow.
        ramp: Option<f64>,
    },
    /// An exact flow's velocity with this viscosity.
    Exact {
        /// The flow.
        flow: ExactFlow,
        /// Viscosity of the exact solution.
        nu: f64,
    },
}

/// The exact solutions of the Navier–Stokes equations without forcing that the verification
/// cases start from and prescribe on the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExactFlow {
    /// The 2D Taylor–Green vortex ([`taylor_green`]).
    TaylorGreen,
    /// The 3D Beltrami flow of Ethier & Steinman ([`beltrami`]).
    Beltrami,
}

impl ExactFlow {
    /// Velocity and pressure at `x` and time `t` for viscosity `nu`.
    pub fn at(self, x: &[f64; 3], t: f64, nu: f64) -> ([f64; 3], f64) {
        match self {
            ExactFlow::TaylorGreen => taylor_green(x, t, nu),
            ExactFlow::Beltrami => beltrami(x, t, nu),
        }
    }

    /// The dimension the flow lives in.
    pub fn dim(self) -> usize {
        match self {
            ExactFlow::TaylorGreen => 2,
            ExactFlow::Beltrami => 3,
        }
    }
}

/// The 2D Taylor–Green vortex on wavenumber π, an exact solution of the Navier–Stokes
/// equations without forcing: `u = (−cos πx sin πy, sin πx cos πy) e^{−2π²νt}`,
/// `p = −¼ (cos 2πx + cos 2πy) e^{−4π²νt}`; returns (velocity, pressure).
pub fn taylor_green(x: &[f64; 3], t: f64, nu: f64) -> ([f64; 3], f64) {
    use std::f64::consts::PI;
    let f = (-2.0 * PI * PI * nu * t).exp();
    let (cx, sx, cy, sy) = (
        (PI * x[0]).cos(),
        (PI * x[0]).sin(),
        (PI * x[1]).cos(),
        (PI * x[1]).sin(),
    );
    let p = -0.25 * ((2.0 * PI * x[0]).cos() + (2.0 * PI * x[1]).cos()) * f * f;
    ([-cx * sy * f, sx * cy * f, 0.0], p)
}

/// The 3D Beltrami flow of Ethier & Steinman (1994, *Int. J. Numer. Meth. Fluids* 19), an exact
/// solution without forcing whose velocity is parallel to its vorticity (so convection is a
/// gradient, balanced by the pressure), with `a = π/4`, `d = π/2`:
/// `u = −a [e^{ax} sin(ay + dz) + e^{az} cos(ax + dy)] e^{−νd²t}` and its cyclic permutations,
/// `p = −a²/2 [e^{2ax} + e^{2ay} + e^{2az} + 2 sin(ax + dy) cos(az + dx) e^{a(y+z)} + (cyclic)]
/// e^{−2νd²t}`; returns (velocity, pressure).
pub fn beltrami(x: &[f64; 3], t: f64, nu: f64) -> ([f64; 3], f64) {
    use std::f64::consts::PI;
    let (a, d) = (PI / 4.0, PI / 2.0);
    let f = (-nu * d * d * t).exp();
    // Component k from the coordinates in the cyclic order (k, k+1, k+2).
    let (mut u, mut p) = ([0.0; 3], 0.0);
    for k in 0..3 {
        let (x0, x1, x2) = (x[k], x[(k + 1) % 3], x[(k + 2) % 3]);
        u[k] = -a * ((a * x0).exp() * (a * x1 + d * x2).sin() + (a * x2).exp() * (a * x0 + d * x1).cos()) * f;
        p += (2.0 * a * x0).exp() + 2.0 * (a * x0 + d * x1).sin() * (a * x2 + d * x0).cos() * (a * (x1 + x2)).exp();
    }
    (u, -0.5 * a * a * p * f * f)
}

/// What a boundary does.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Boundary {
    /// No slip: velocity zero.
    Wall,
    /// Prescribed velocity.
    Velocity(Profile),
    /// Do-nothing outflow.
    Outflow,
}

/// The conditions of a run, by boundary tag.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Boundaries {
    /// (tag, condition) pairs.
    pub list: Vec<(i32, Boundary)>,
}

impl Boundaries {
    /// The position of `tag` in the list.
    pub fn index_of(&self, tag: i32) -> Option<usize> {
        self.list.iter().position(|(t, _)| *t == tag)
    }

    /// Whether a boundary is an outflow (otherwise the pressure is fixed only up to a constant).
    pub fn has_outflow(&self) -> bool {
        self.list.iter().any(|(_, b)| *b == Boundary::Outflow)
    }

    /// The velocity that boundary `k` prescribes at `x` and time `t` (zero for walls).
    pub fn velocity(&self, k: usize, x: &[f64; 3], t: f64, dim: usize) -> [f64; 3] {
        match &self.list[k].1 {
            Boundary::Velocity(Profile::Uniform { velocity }) => *velocity,
            Boundary::Velocity(Profile::Parabolic { peak, height, ramp }) => {
                let shape = |s: f64| 4.0 * s * (height - s) / (height * height);
                let across = if dim == 3 {
                    shape(x[1]) * shape(x[2])
                } else {
                    shape(x[1])
                };
                let r = ramp.map_or(1.0, |p| (std::f64::consts::PI * t / p).sin());
                [peak * across * r, 0.0, 0.0]
            }
            Boundary::Velocity(Profile::Exact { flow, nu }) => flow.at(x, t, *nu).0,
            Boundary::Wall | Boundary::Outflow => [0.0; 3],
        }
    }
}

//! Lagrange elements of degree 1 and 2 on simplices: basis values and gradients from
//! barycentric coordinates, and the element integrals the assembly needs (stiffness with a
//! per-cell coefficient, consistent mass, loads) by quadrature exact for the element on
//! straight-sided cells — degree `2(p−1)` for the stiffness, `2p` for mass and loads. P2 cells
//! whose edge nodes are off the midpoints (second-order meshes with curved boundaries) are
//! integrated isoparametrically ([`Lagrange::quadrature`]); straight ones keep the affine map. Node order is the mesh's: the corners,
//! then (P2) the edge midpoints in [`CellType::simplex_edges`] order, so the nodes of a
//! [`CellType::Triangle6`] / [`CellType::Tetrahedron10`] cell are the P2 degrees of freedom.
//!
//! P2 basis in barycentric coordinates λ: `λ_i(2λ_i − 1)` at corner `i`, `4 λ_a λ_b` at the
//! midpoint of edge `ab`.

use super::quadrature::{simplex_rule, QuadPoint};
use super::simplex::{facet_normal, map_point, p1_gradients};
use crate::mesh::CellType;

/// The largest number of nodes of an element (the ten-node tetrahedron).
pub const MAX_NODES: usize = 10;

/// An element matrix; the leading `num_nodes() × num_nodes()` block is used.
pub type ElementMatrix = [[f64; MAX_NODES]; MAX_NODES];

/// A Lagrange element: simplex dimension (1 to 3) and polynomial degree (1 or 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagrange {
    dim: usize,
    degree: usize,
}

impl Lagrange {
    /// The element whose nodes are the nodes of a `cell_type` cell: P1 on linear simplices, P2 on
    /// quadratic ones; `None` for quadrilaterals and hexahedra.
    pub fn for_cell(cell_type: CellType) -> Option<Lagrange> {
        cell_type.is_simplex().then(|| Lagrange {
            dim: cell_type.dim(),
            degree: cell_type.degree(),
        })
    }

    /// Topological dimension of the simplex.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Polynomial degree.
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// Number of nodes (basis functions).
    pub fn num_nodes(&self) -> usize {
        let corners = self.dim + 1;
        if self.degree == 1 {
            corners
        } else {
            corners + CellType::simplex_edges(self.dim).len()
        }
    }

    /// The element on the facets (same degree, one dimension less).
    pub fn facet(&self) -> Lagrange {
        Lagrange {
            dim: self.dim - 1,
            degree: self.degree,
        }
    }

    /// A rule exact for products of two basis functions (mass, and loads of smooth data to the
    /// element's order).
    pub fn mass_rule(&self) -> &'static [QuadPoint] {
        simplex_rule(self.dim, 2 * self.degree)
    }

    /// Basis values at barycentric coordinates `l`.
    pub fn values(&self, l: &[f64; 4], phi: &mut [f64; MAX_NODES]) {
        let c = self.dim + 1;
        if self.degree == 1 {
            phi[..c].copy_from_slice(&l[..c]);
            return;
        }
        for i in 0..c {
            phi[i] = l[i] * (2.0 * l[i] - 1.0);
        }
        for (k, e) in CellType::simplex_edges(self.dim).iter().enumerate() {
            phi[c + k] = 4.0 * l[e[0]] * l[e[1]];
        }
    }

    /// Physical basis gradients at `l`, given the (constant) gradients `gl` of the barycentric
    /// coordinates (from [`p1_gradients`]).
    pub fn gradients(&self, l: &[f64; 4], gl: &[[f64; 3]; 4], grad: &mut [[f64; 3]; MAX_NODES]) {
        let c = self.dim + 1;
        if self.degree == 1 {
            grad[..c].copy_from_slice(&gl[..c]);
            return;
        }
        for i in 0..c {
            grad[i] = gl[i].map(|g| (4.0 * l[i] - 1.0) * g);
        }
        for (k, e) in CellType::simplex_edges(self.dim).iter().enumerate() {
            let (a, b) = (e[0], e[1]);
            grad[c + k] = std::array::from_fn(|d| 4.0 * (l[a] * gl[b][d] + l[b] * gl[a][d]));
        }
    }

    /// Whether the cell with nodes `x` is straight-sided: linear, or every edge node exactly at
    /// the midpoint of its edge (an elevated mesh). Straight cells are affine images of the
    /// reference simplex and are integrated with the constant Jacobian; the others, with edge
    /// nodes on a curved boundary, isoparametrically.
    pub fn is_straight(&self, x: &[[f64; 3]]) -> bool {
        let c = self.dim + 1;
        self.degree == 1
            || CellType::simplex_edges(self.dim).iter().enumerate().all(|(k, e)| {
                let (a, b, m) = (x[e[0]], x[e[1]], x[c + k]);
                (0..3).all(|d| m[d] == 0.5 * (a[d] + b[d]))
            })
    }

    /// Visits the points of a quadrature rule exact to `degree` on the full-dimensional cell with
    /// nodes `x`, and returns its volume. At each point `f` gets the barycentric coordinates `l`,
    /// the weight `w` (weights sum to 1), the Jacobian factor `jac` (so `dV = w · jac`), the
    /// gradients `gl` of the barycentric coordinates (for [`Lagrange::gradients`]) and the
    /// physical point. Straight cells: `jac` is the volume and `gl` constant. Curved cells: both
    /// vary; the rule is two degrees higher (at most 5) for the rational integrand.
    pub fn quadrature(&self, x: &[[f64; 3]], degree: usize, mut f: impl FnMut(&QuadAt)) -> f64 {
        if self.is_straight(x) {
            let (vol, gl) = p1_gradients(x, self.dim);
            for &(l, w) in simplex_rule(self.dim, degree) {
                let point = map_point(&x[..=self.dim], &l);
                f(&QuadAt {
                    l,
                    w,
                    jac: vol,
                    gl,
                    point,
                });
            }
            return vol;
        }
        let mut vol = 0.0;
        for &(l, w) in simplex_rule(self.dim, (degree + 2).min(5)) {
            let at = self.curved_at(x, l, w);
            vol += w * at.jac;
            f(&at);
        }
        vol
    }

    /// Measure of the facet element (`self` is the facet's: segment or triangle) with nodes `x`,
    /// curved when its edge nodes are off the midpoints.
    pub fn facet_measure(&self, x: &[[f64; 3]]) -> f64 {
        if self.is_straight(x) {
            let any_inside = x[0];
            return facet_normal(x, self.dim + 1, &any_inside).0;
        }
        simplex_rule(self.dim, 5)
            .iter()
            .map(|&(l, w)| w * self.curved_at(x, l, w).jac)
            .sum()
    }

    /// The isoparametric map at `l`: the Jacobian `J = ∂x/∂ξ` (3 × dim, ξ the last `dim`
    /// barycentric coordinates), `jac = √det(JᵀJ) / dim!` (the volume factor, also for a facet
    /// in 3D) and `∇λ_k = J (JᵀJ)⁻¹ e_k`, which is `J⁻ᵀ e_k` for a full-dimensional cell.
    fn curved_at(&self, x: &[[f64; 3]], l: [f64; 4], w: f64) -> QuadAt {
        let d = self.dim;
        // Reference gradients of the barycentric coordinates: ∇ξ λ_0 = −1, ∇ξ λ_k = e_k.
        let mut gref = [[0.0; 3]; 4];
        gref[0] = std::array::from_fn(|k| if k < d { -1.0 } else { 0.0 });
        for (k, g) in gref.iter_mut().enumerate().skip(1).take(d) {
            g[k - 1] = 1.0;
        }
        let mut dphi = [[0.0; 3]; MAX_NODES];
        self.gradients(&l, &gref, &mut dphi);
        let mut phi = [0.0; MAX_NODES];
        self.values(&l, &mut phi);
        let (mut jm, mut point) = ([[0.0; 3]; 3], [0.0; 3]); // jm[k] = ∂x/∂ξ_k
        for (i, xi) in x.iter().enumerate().take(self.num_nodes()) {
            for k in 0..d {
                for a in 0..3 {
                    jm[k][a] += xi[a] * dphi[i][k];
                }
            }
            for a in 0..3 {
                point[a] += xi[a] * phi[i];
            }
        }
        let dot = |u: &[f64; 3], v: &[f64; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
        let g: [[f64; 3]; 3] =
            std::array::from_fn(|a| std::array::from_fn(|b| if a < d && b < d { dot(&jm[a], &jm[b]) } else { 0.0 }));
        let (det, ginv) = small_inverse(&g, d);
        let fact = [1.0, 1.0, 2.0, 6.0][d];
        let mut gl = [[0.0; 3]; 4];
        for k in 0..d {
            for m in 0..d {
                for a in 0..3 {
                    gl[k + 1][a] += ginv[k][m] * jm[m][a];
                }
            }
        }
        gl[0] = std::array::from_fn(|a| -(1..=d).map(|k| gl[k][a]).sum::<f64>());
        QuadAt {
            l,
            w,
            jac: det.max(0.0).sqrt() / fact,
            gl,
            point,
        }
    }

    /// Volume of the cell with nodes `x` and the stiffness `κ ∫ ∇φ_i·∇φ_j` (κ constant on the
    /// cell). The volume is not positive for a degenerate cell.
    pub fn stiffness(&self, x: &[[f64; 3]], kappa: f64) -> (f64, ElementMatrix) {
        let n = self.num_nodes();
        let mut k = [[0.0; MAX_NODES]; MAX_NODES];
        let mut g = [[0.0; 3]; MAX_NODES];
        let vol = self.quadrature(x, 2 * (self.degree - 1), |q| {
            self.gradients(&q.l, &q.gl, &mut g);
            let s = kappa * q.w * q.jac;
            for i in 0..n {
                for j in 0..n {
                    k[i][j] += s * (g[i][0] * g[j][0] + g[i][1] * g[j][1] + g[i][2] * g[j][2]);
                }
            }
        });
        (vol, k)
    }

    /// The consistent mass `∫ φ_i φ_j` of the cell with nodes `x`.
    pub fn mass(&self, x: &[[f64; 3]]) -> ElementMatrix {
        if self.is_straight(x) {
            return self.straight_mass(p1_gradients(x, self.dim).0);
        }
        let n = self.num_nodes();
        let mut m = [[0.0; MAX_NODES]; MAX_NODES];
        let mut phi = [0.0; MAX_NODES];
        self.quadrature(x, 2 * self.degree, |q| {
            self.values(&q.l, &mut phi);
            for i in 0..n {
                for j in 0..n {
                    m[i][j] += q.w * q.jac * phi[i] * phi[j];
                }
            }
        });
        m
    }

    /// The consistent mass `∫ φ_i φ_j` of a straight-sided cell (or facet) of volume `vol`.
    pub fn straight_mass(&self, vol: f64) -> ElementMatrix {
        let n = self.num_nodes();
        let mut m = [[0.0; MAX_NODES]; MAX_NODES];
        let mut phi = [0.0; MAX_NODES];
        for &(l, w) in self.mass_rule() {
            self.values(&l, &mut phi);
            for i in 0..n {
                for j in 0..n {
                    m[i][j] += w * vol * phi[i] * phi[j];
                }
            }
        }
        m
    }

    /// The load `∫ f φ_i` of the cell with nodes `x`, by a rule of degree `2p`
    /// ([`Lagrange::mass_rule`] on straight cells).
    pub fn load(&self, x: &[[f64; 3]], f: impl Fn(&[f64; 3]) -> f64) -> [f64; MAX_NODES] {
        let mut out = [0.0; MAX_NODES];
        let mut phi = [0.0; MAX_NODES];
        self.quadrature(x, 2 * self.degree, |q| {
            self.values(&q.l, &mut phi);
            let fw = q.w * q.jac * f(&q.point);
            for (o, p) in out.iter_mut().zip(&phi[..self.num_nodes()]) {
                *o += fw * p;
            }
        });
        out
    }

    /// Local indices of the nodes of the facet opposite corner `skip`, in the order of the facet
    /// element (its corners, then its edge midpoints), and their number.
    pub fn facet_nodes(&self, skip: usize) -> ([usize; 6], usize) {
        let mut out = [0; 6];
        let corners: Vec<usize> = (0..=self.dim).filter(|&k| k != skip).collect();
        out[..self.dim].copy_from_slice(&corners);
        if self.degree == 1 {
            return (out, self.dim);
        }
        let cell_edges = CellType::simplex_edges(self.dim);
        let facet_edges = CellType::simplex_edges(self.dim - 1);
        for (k, fe) in facet_edges.iter().enumerate() {
            let (a, b) = (corners[fe[0]], corners[fe[1]]);
            // Every pair of corners of a simplex is one of its edges.
            let e = cell_edges
                .iter()
                .position(|ce| (ce[0] == a && ce[1] == b) || (ce[0] == b && ce[1] == a))
                .unwrap_or(0);
            out[self.dim + k] = self.dim + 1 + e;
        }
        (out, self.dim + facet_edges.len())
    }
}

/// One quadrature point of a cell, as [`Lagrange::quadrature`] gives it.
#[derive(Clone, Copy, Debug)]
pub struct QuadAt {
    /// Barycentric coordinates.
    pub l: [f64; 4],
    /// Weight (the weights of a rule sum to 1).
    pub w: f64,
    /// Volume factor: `dV = w · jac`.
    pub jac: f64,
    /// Gradients of the barycentric coordinates at the point.
    pub gl: [[f64; 3]; 4],
    /// The physical point.
    pub point: [f64; 3],
}

/// Determinant and inverse of the leading `d × d` block of `g` (d ≤ 3); the inverse is zero
/// for a singular block.
fn small_inverse(g: &[[f64; 3]; 3], d: usize) -> (f64, [[f64; 3]; 3]) {
    let mut inv = [[0.0; 3]; 3];
    let det = match d {
        1 => g[0][0],
        2 => g[0][0] * g[1][1] - g[0][1] * g[1][0],
        _ => {
            g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1]) - g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0])
                + g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0])
        }
    };
    if det == 0.0 {
        return (det, inv);
    }
    match d {
        1 => inv[0][0] = 1.0 / det,
        2 => {
            inv[0][0] = g[1][1] / det;
            inv[1][1] = g[0][0] / det;
            inv[0][1] = -g[0][1] / det;
            inv[1][0] = -g[1][0] / det;
        }
        _ => {
            for (a, row) in inv.iter_mut().enumerate() {
                for (b, v) in row.iter_mut().enumerate() {
                    // Cofactor of (b, a) over the determinant.
                    let (r0, r1) = ((b + 1) % 3, (b + 2) % 3);
                    let (c0, c1) = ((a + 1) % 3, (a + 2) % 3);
                    *v = (g[r0][c0] * g[r1][c1] - g[r0][c1] * g[r1][c0]) / det;
                }
            }
        }
    }
    (det, inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fem::simplex::p1_stiffness;
    use crate::mesh::Mesh;

    /// A skewed triangle and tetrahedron, elevated: nodes of one cell of each dimension.
    fn cells(degree: usize) -> Vec<(Lagrange, Vec<[f64; 3]>)> {
        let tri = vec![[0.1, 0.2, 0.0], [1.0, 0.3, 0.0], [0.4, 0.9, 0.0]];
        let tet = vec![[0.0, 0.0, 0.0], [1.0, 0.1, 0.0], [0.2, 1.0, 0.1], [0.1, 0.3, 0.8]];
        [(2, tri), (3, tet)]
            .into_iter()
            .map(|(dim, mut x)| {
                if degree == 2 {
                    for e in CellType::simplex_edges(dim) {
                        let (a, b) = (x[e[0]], x[e[1]]);
                        x.push(std::array::from_fn(|k| 0.5 * (a[k] + b[k])));
                    }
                }
                (Lagrange { dim, degree }, x)
            })
            .collect()
    }

    fn quadratic(p: &[f64; 3]) -> f64 {
        1.0 + p[0] - 2.0 * p[1] + 3.0 * p[0] * p[1] - p[0] * p[0] + 0.5 * p[1] * p[1] + p[2] * (p[0] - p[2] + 2.0)
    }

    fn quadratic_gradient(p: &[f64; 3]) -> [f64; 3] {
        [
            1.0 + 3.0 * p[1] - 2.0 * p[0] + p[2],
            -2.0 + 3.0 * p[0] + p[1],
            p[0] - 2.0 * p[2] + 2.0,
        ]
    }

    #[test]
    fn p1_stiffness_is_the_closed_form() {
        for (el, x) in cells(1) {
            let (vol, k) = el.stiffness(&x, 1.7);
            let (vol1, k1) = p1_stiffness(&x, el.dim, 1.7);
            assert_eq!(vol, vol1);
            for i in 0..el.num_nodes() {
                for j in 0..el.num_nodes() {
                    assert!((k[i][j] - k1[i][j]).abs() < 1e-13 * k1[i][i].abs());
                }
            }
        }
    }

    /// Constants are in the kernel of the stiffness (rows sum to zero), which is symmetric; the
    /// mass sums to the volume and is symmetric positive on the diagonal.
    #[test]
    fn stiffness_rows_sum_to_zero_and_mass_to_the_volume() {
        for degree in 1..=2 {
            for (el, x) in cells(degree) {
                let n = el.num_nodes();
                let (vol, k) = el.stiffness(&x, 2.5);
                let m = el.mass(&x);
                let mut total = 0.0;
                for i in 0..n {
                    let row: f64 = k[i][..n].iter().sum();
                    assert!(row.abs() < 1e-13 * k[i][i], "P{degree} {}D row {i}: {row}", el.dim);
                    assert!(m[i][i] > 0.0 && k[i][i] > 0.0);
                    for j in 0..n {
                        assert!((k[i][j] - k[j][i]).abs() < 1e-14 * k[i][i]);
                        assert!((m[i][j] - m[j][i]).abs() < 1e-16);
                        total += m[i][j];
                    }
                }
                assert!(
                    (total - vol).abs() < 1e-14 * vol,
                    "P{degree} {}D: {total} vs {vol}",
                    el.dim
                );
            }
        }
        // P2 on triangles: the corner functions integrate to zero, the edge functions to |T|/3;
        // on tetrahedra to −|T|/20 and |T|/5.
        for (el, x) in cells(2) {
            let vol = p1_gradients(&x, el.dim).0;
            let ones = el.load(&x, |_| 1.0);
            let (corner, edge) = if el.dim == 2 { (0.0, 1.0 / 3.0) } else { (-0.05, 0.2) };
            for (i, v) in ones[..el.num_nodes()].iter().enumerate() {
                let want = vol * if i <= el.dim { corner } else { edge };
                assert!((v - want).abs() < 1e-15, "{}D node {i}: {v} vs {want}", el.dim);
            }
        }
    }

    /// P2 reproduces quadratics: values and gradients of the interpolant are the function's at
    /// any point, and `uᵀKu` is the Dirichlet energy `∫ κ|∇q|²`.
    #[test]
    fn p2_reproduces_quadratics() {
        for (el, x) in cells(2) {
            let n = el.num_nodes();
            let u: Vec<f64> = x.iter().map(quadratic).collect();
            let (vol, gl) = p1_gradients(&x, el.dim);
            let (mut phi, mut grad) = ([0.0; MAX_NODES], [[0.0; 3]; MAX_NODES]);
            for l in [[0.2, 0.3, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4], [0.6, 0.1, 0.1, 0.2]] {
                let mut l = l;
                if el.dim == 2 {
                    l[3] = 0.0;
                    let s: f64 = l.iter().sum();
                    l = l.map(|v| v / s);
                }
                el.values(&l, &mut phi);
                el.gradients(&l, &gl, &mut grad);
                let p = map_point(&x[..=el.dim], &l);
                let uh: f64 = (0..n).map(|i| u[i] * phi[i]).sum();
                assert!((uh - quadratic(&p)).abs() < 1e-13);
                let mut g = quadratic_gradient(&p);
                if el.dim == 2 {
                    g[2] = 0.0;
                }
                for d in 0..3 {
                    let gh: f64 = (0..n).map(|i| u[i] * grad[i][d]).sum();
                    assert!((gh - g[d]).abs() < 1e-12, "{}D: d/dx{d} {gh} vs {}", el.dim, g[d]);
                }
            }
            let (_, k) = el.stiffness(&x, 1.5);
            let energy: f64 = (0..n).map(|i| (0..n).map(|j| u[i] * k[i][j] * u[j]).sum::<f64>()).sum();
            let exact: f64 = simplex_rule(el.dim, 2)
                .iter()
                .map(|(l, w)| {
                    let mut g = quadratic_gradient(&map_point(&x[..=el.dim], l));
                    if el.dim == 2 {
                        g[2] = 0.0;
                    }
                    1.5 * w * vol * (g[0] * g[0] + g[1] * g[1] + g[2] * g[2])
                })
                .sum();
            assert!((energy - exact).abs() < 1e-12 * exact, "{energy} vs {exact}");
        }
    }

    /// Facet nodes seen from the cells of an elevated mesh: edge nodes sit between the corners
    /// the facet order names, and every boundary facet is found exactly once.
    #[test]
    fn facet_nodes_match_the_elevated_facets() {
        for dims in [&[3usize, 2][..], &[2, 2, 1]] {
            let q = Mesh::structured(dims, true).unwrap().elevate().unwrap();
            let el = Lagrange::for_cell(q.cell_type).unwrap();
            let sorted = |v: &[u32]| {
                let mut s = v.to_vec();
                s.sort_unstable();
                s
            };
            let facets: std::collections::HashSet<Vec<u32>> = (0..q.num_facets()).map(|f| sorted(q.facet(f))).collect();
            let mut found = 0;
            for c in 0..q.num_cells() {
                let nodes = q.cell(c);
                for skip in 0..=el.dim {
                    let (fl, nf) = el.facet_nodes(skip);
                    assert_eq!(nf, el.facet().num_nodes());
                    let fnodes: Vec<u32> = fl[..nf].iter().map(|&k| nodes[k]).collect();
                    // Each edge node sits between the facet corners the facet order names.
                    let fe = el.facet();
                    for (k, e) in CellType::simplex_edges(fe.dim).iter().enumerate() {
                        let (a, b) = (q.points[fnodes[e[0]] as usize], q.points[fnodes[e[1]] as usize]);
                        let m = q.points[fnodes[fe.dim + 1 + k] as usize];
                        assert!((0..3).all(|d| (m[d] - 0.5 * (a[d] + b[d])).abs() < 1e-15));
                    }
                    if facets.contains(&sorted(&fnodes)) {
                        found += 1;
                    }
                }
            }
            assert_eq!(found, q.num_facets());
        }
    }

    /// A P2 triangle whose hypotenuse node is pushed out by δ along (1, 1): the edge becomes a
    /// parabola bounding an extra parabolic segment of area (2/3)·√2·(√2 δ) = 4δ/3. The
    /// isoparametric volume sees it; linear functions stay exact (their stiffness energy is
    /// the area times |∇u|²) and constants stay in the kernel.
    #[test]
    fn curved_p2_triangle_has_the_parabolic_area_and_reproduces_linears() {
        let el = Lagrange { dim: 2, degree: 2 };
        let delta = 0.1;
        let x = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.5, 0.0, 0.0],
            [0.5 + delta, 0.5 + delta, 0.0],
            [0.0, 0.5, 0.0],
        ];
        assert!(!el.is_straight(&x));
        let area = 0.5 + 4.0 * delta / 3.0;
        let (vol, k) = el.stiffness(&x, 1.0);
        assert!((vol - area).abs() < 1e-14, "{vol} vs {area}");
        let u: Vec<f64> = x.iter().map(|p| 2.0 * p[0] - p[1] + 0.3).collect();
        let energy: f64 = (0..6).map(|i| (0..6).map(|j| u[i] * k[i][j] * u[j]).sum::<f64>()).sum();
        assert!((energy - 5.0 * area).abs() < 1e-12, "{energy} vs {}", 5.0 * area);
        for row in &k[..6] {
            assert!(row[..6].iter().sum::<f64>().abs() < 1e-13);
        }
        let m = el.mass(&x);
        let total: f64 = m[..6].iter().map(|r| r[..6].iter().sum::<f64>()).sum();
        assert!((total - area).abs() < 1e-14);
        let ones: f64 = el.load(&x, |_| 1.0)[..6].iter().sum();
        assert!((ones - area).abs() < 1e-14);
        // The gradients of the interpolant of a linear function are exact at every point.
        el.quadrature(&x, 2, |q| {
            let mut g = [[0.0; 3]; MAX_NODES];
            el.gradients(&q.l, &q.gl, &mut g);
            let gx: f64 = (0..6).map(|i| u[i] * g[i][0]).sum();
            let gy: f64 = (0..6).map(|i| u[i] * g[i][1]).sum();
            assert!((gx - 2.0).abs() < 1e-13 && (gy + 1.0).abs() < 1e-13, "{gx} {gy}");
        });
        // The curved edge as a facet: the parabola's arc length, ∫₀¹ √2·√(1 + (4δ(1 − 2t))²) dt,
        // to the accuracy of the 3-point Gauss rule on this strongly bent edge (on mesh edges the
        // bend is O(h²) and the error far smaller).
        let fe = el.facet();
        let arc = fe.facet_measure(&[x[1], x[2], x[4]]);
        let a = 4.0 * delta;
        let exact = std::f64::consts::SQRT_2 * ((a * (1.0 + a * a).sqrt() + a.asinh()) / (2.0 * a));
        assert!((arc - exact).abs() < 1e-5 * exact, "{arc} vs {exact}");
        assert_eq!(fe.facet_measure(&[x[0], x[1], x[3]]), 1.0);
    }

    /// A 10-node tetrahedron with two displaced edge nodes: linear functions keep exact
    /// gradients at every point (the 3 × 3 inverse of the metric), and the Jacobian factors sum
    /// to the volume the mass matrix sees.
    #[test]
    fn curved_p2_tetrahedron_reproduces_linears() {
        let el = Lagrange { dim: 3, degree: 2 };
        let (_, mut x) = cells(2).pop().unwrap();
        x[5][0] += 0.05;
        x[9][2] -= 0.04;
        assert!(!el.is_straight(&x));
        let lin = |p: &[f64; 3]| 0.5 * p[0] - 1.5 * p[1] + 2.0 * p[2];
        let u: Vec<f64> = x.iter().map(lin).collect();
        let vol = el.quadrature(&x, 2, |q| {
            let mut g = [[0.0; 3]; MAX_NODES];
            el.gradients(&q.l, &q.gl, &mut g);
            let gh: [f64; 3] = std::array::from_fn(|d| (0..10).map(|i| u[i] * g[i][d]).sum());
            assert!(
                (gh[0] - 0.5).abs() + (gh[1] + 1.5).abs() + (gh[2] - 2.0).abs() < 1e-12,
                "{gh:?}"
            );
        });
        let m = el.mass(&x);
        let total: f64 = m[..10].iter().map(|r| r[..10].iter().sum::<f64>()).sum();
        assert!((total - vol).abs() < 1e-14 && vol > 0.0, "{total} vs {vol}");
    }

    /// Solves `A x = b` by Gaussian elimination with partial pivoting (small dense test systems).
    fn dense_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for k in 0..n {
            let p = (k..n).max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs())).unwrap();
            a.swap(k, p);
            b.swap(k, p);
            let (top, rest) = a.split_at_mut(k + 1);
            let (pivot, bk) = (&top[k], b[k]);
            for (row, bi) in rest.iter_mut().zip(&mut b[k + 1..]) {
                let f = row[k] / pivot[k];
                for (r, p) in row[k..].iter_mut().zip(&pivot[k..]) {
                    *r -= f * p;
                }
                *bi -= f * bk;
            }
        }
        let mut x = vec![0.0; n];
        for k in (0..n).rev() {
            let s: f64 = (k + 1..n).map(|j| a[k][j] * x[j]).sum();
            x[k] = (b[k] - s) / a[k][k];
        }
        x
    }

    /// The P2 Galerkin solution of `-κΔu = f` with quadratic `u` (so constant `f`) and its
    /// Dirichlet data at the boundary nodes is `u` itself at every node, to rounding: the patch
    /// test of stiffness, loads and node numbering together.
    #[test]
    fn p2_poisson_is_exact_for_a_quadratic_solution() {
        for (dims, f) in [(&[3usize, 2][..], 1.0), (&[2, 2, 2], 3.0)] {
            let q = Mesh::structured(dims, true).unwrap().elevate().unwrap();
            let el = Lagrange::for_cell(q.cell_type).unwrap();
            let (n, nn, kappa) = (q.num_points(), el.num_nodes(), 0.7);
            let (mut a, mut b) = (vec![vec![0.0; n]; n], vec![0.0; n]);
            for c in 0..q.num_cells() {
                let nodes = q.cell(c);
                let x: Vec<[f64; 3]> = nodes.iter().map(|&v| q.points[v as usize]).collect();
                let (_, k) = el.stiffness(&x, kappa);
                let load = el.load(&x, |_| kappa * f);
                for i in 0..nn {
                    b[nodes[i] as usize] += load[i];
                    for j in 0..nn {
                        a[nodes[i] as usize][nodes[j] as usize] += k[i][j];
                    }
                }
            }
            let exact: Vec<f64> = q.points.iter().map(quadratic).collect();
            for &v in &q.facets {
                let v = v as usize;
                a[v].iter_mut().for_each(|e| *e = 0.0);
                a[v][v] = 1.0;
                b[v] = exact[v];
            }
            let u = dense_solve(a, b);
            let err = u.iter().zip(&exact).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(err < 1e-12, "{}D: max nodal error {err}", dims.len());
            // Interior nodes exist, so the check is not all boundary data.
            assert!(
                q.num_points() > {
                    let mut b = q.facets.clone();
                    b.sort_unstable();
                    b.dedup();
                    b.len()
                }
            );
        }
    }
}

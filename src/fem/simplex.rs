//! P1 geometry on triangles and tetrahedra: volumes, gradients of the barycentric basis
//! functions, the affine map of barycentric coordinates, and boundary-facet normals
//! (quadrature lives in [`super::quadrature`]).

/// Volume (area in 2D) and the gradients of the `dim + 1` linear basis functions of a simplex.
pub fn p1_gradients(x: &[[f64; 3]], dim: usize) -> (f64, [[f64; 3]; 4]) {
    let mut g = [[0.0; 3]; 4];
    if dim == 2 {
        let (a, b) = (
            [x[1][0] - x[0][0], x[1][1] - x[0][1]],
            [x[2][0] - x[0][0], x[2][1] - x[0][1]],
        );
        let det = a[0] * b[1] - a[1] * b[0];
        // Rows of J^{-T}: gradients of the barycentric coordinates 1 and 2.
        g[1] = [b[1] / det, -b[0] / det, 0.0];
        g[2] = [-a[1] / det, a[0] / det, 0.0];
        g[0] = [-g[1][0] - g[2][0], -g[1][1] - g[2][1], 0.0];
        (det.abs() / 2.0, g)
    } else {
        let e = |i: usize| [x[i][0] - x[0][0], x[i][1] - x[0][1], x[i][2] - x[0][2]];
        let (a, b, c) = (e(1), e(2), e(3));
        let cross = |u: [f64; 3], v: [f64; 3]| {
            [
                u[1] * v[2] - u[2] * v[1],
                u[2] * v[0] - u[0] * v[2],
                u[0] * v[1] - u[1] * v[0],
            ]
        };
        let det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
            + a[2] * (b[0] * c[1] - b[1] * c[0]);
        // The inverse-transpose columns are the cross products of the other two edges over det.
        let (bc, ca, ab) = (cross(b, c), cross(c, a), cross(a, b));
        g[1] = bc.map(|v| v / det);
        g[2] = ca.map(|v| v / det);
        g[3] = ab.map(|v| v / det);
        g[0] = std::array::from_fn(|k| -g[1][k] - g[2][k] - g[3][k]);
        (det.abs() / 6.0, g)
    }
}

/// Volume and P1 stiffness matrix `κ |T| ∇φ_i·∇φ_j` of a simplex (`dim + 1` rows used).
pub fn p1_stiffness(x: &[[f64; 3]], dim: usize, kappa: f64) -> (f64, [[f64; 4]; 4]) {
    let (vol, g) = p1_gradients(x, dim);
    let mut k = [[0.0; 4]; 4];
    for i in 0..=dim {
        for j in 0..=dim {
            k[i][j] = kappa * vol * (g[i][0] * g[j][0] + g[i][1] * g[j][1] + g[i][2] * g[j][2]);
        }
    }
    (vol, k)
}

/// Point with barycentric coordinates `l` in the simplex `x`.
pub fn map_point(x: &[[f64; 3]], l: &[f64; 4]) -> [f64; 3] {
    let mut p = [0.0; 3];
    for (xi, li) in x.iter().zip(l) {
        for k in 0..3 {
            p[k] += li * xi[k];
        }
    }
    p
}

/// Measure and unit normal of a boundary facet (segment in 2D, triangle in 3D), oriented away
/// from `inside` (a point of the cell it bounds).
pub fn facet_normal(x: &[[f64; 3]], dim: usize, inside: &[f64; 3]) -> (f64, [f64; 3]) {
    let (measure, mut n) = if dim == 2 {
        let d = [x[1][0] - x[0][0], x[1][1] - x[0][1]];
        let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
        (len, [d[1] / len, -d[0] / len, 0.0])
    } else {
        let (a, b) = (
            [x[1][0] - x[0][0], x[1][1] - x[0][1], x[1][2] - x[0][2]],
            [x[2][0] - x[0][0], x[2][1] - x[0][1], x[2][2] - x[0][2]],
        );
        let c = [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ];
        let len = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
        (len / 2.0, c.map(|v| v / len))
    };
    let out: f64 = (0..3).map(|k| (x[0][k] - inside[k]) * n[k]).sum();
    if out < 0.0 {
        n = n.map(|v| -v);
    }
    (measure, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_reproduce_linear_functions() {
        for (dim, x) in [
            (2, vec![[0.1, 0.2, 0.0], [1.0, 0.3, 0.0], [0.4, 0.9, 0.0]]),
            (
                3,
                vec![[0.0, 0.0, 0.0], [1.0, 0.1, 0.0], [0.2, 1.0, 0.1], [0.1, 0.3, 0.8]],
            ),
        ] {
            let f = |p: &[f64; 3]| 2.0 * p[0] - 3.0 * p[1] + 0.5 * p[2] + 1.0;
            let (vol, g) = p1_gradients(&x, dim);
            assert!(vol > 0.0);
            let mut grad = [0.0; 3];
            for (i, xi) in x.iter().enumerate() {
                for k in 0..3 {
                    grad[k] += f(xi) * g[i][k];
                }
            }
            let expect = [2.0, -3.0, if dim == 3 { 0.5 } else { 0.0 }];
            for k in 0..3 {
                assert!((grad[k] - expect[k]).abs() < 1e-12, "{grad:?}");
            }
        }
    }
}

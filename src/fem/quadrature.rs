//! Quadrature on simplices (segment, triangle, tetrahedron) exact up to degree 5: what P1
//! (degree 2) and P2 (degree 4, mass and loads; degree 2, stiffness) element integrals need.
//! Points are barycentric coordinates, weights fractions of the simplex's measure, so one rule
//! serves every cell of a mesh of straight-sided simplices.
//!
//! Rules up to degree 2 are the classical ones (centroid; edge midpoints on triangles, the
//! symmetric 4-point rule on tetrahedra, Gauss on segments). Sources of the degree-5 rules (all
//! weights positive, all points inside):
//! - segment: 3-point Gauss–Legendre;
//! - triangle: Radon's 7-point rule (Stroud, *Approximate Calculation of Multiple Integrals*,
//!   1971, T2:5-1; also Dunavant 1985, degree 5), in closed form with √15;
//! - tetrahedron: the 14-point rule of Walkington, *Quadrature on simplices of arbitrary
//!   dimension* (2000), as tabulated to 20 digits (rounded here to f64) in MFEM's degree-5
//!   tetrahedron rule.

/// A quadrature point: barycentric coordinates (entries past `dim + 1` are 0) and its weight as
/// a fraction of the simplex's measure.
pub type QuadPoint = ([f64; 4], f64);

/// A rule on the `dim`-simplex exact for polynomials of degree `degree` (0 to 5), from tables
/// built once per process: element loops that run every time step (convection, forces) then
/// allocate nothing. Panics above degree 5: callers derive the degree from the element (at most
/// P2), not from input.
pub fn simplex_rule(dim: usize, degree: usize) -> &'static [QuadPoint] {
    static RULES: std::sync::LazyLock<Vec<Vec<Vec<QuadPoint>>>> =
        std::sync::LazyLock::new(|| (1..=3).map(|d| (0..=5).map(|k| build_rule(d, k)).collect()).collect());
    assert!(
        (1..=3).contains(&dim) && degree <= 5,
        "no rule of degree {degree} in {dim}D"
    );
    &RULES[dim - 1][degree]
}

/// The rule of [`simplex_rule`], built.
fn build_rule(dim: usize, degree: usize) -> Vec<QuadPoint> {
    match degree {
        0 | 1 => {
            let c = 1.0 / (dim + 1) as f64;
            let mut l = [0.0; 4];
            l[..=dim].fill(c);
            vec![(l, 1.0)]
        }
        2 => degree2_rule(dim),
        _ => degree5_rule(dim),
    }
}

/// Degree 2: the edge midpoints (triangle), the symmetric 4-point rule (tetrahedron), 2-point
/// Gauss (segment).
fn degree2_rule(dim: usize) -> Vec<QuadPoint> {
    match dim {
        1 => {
            let a = 0.5 - 0.5 / 3f64.sqrt();
            vec![([a, 1.0 - a, 0.0, 0.0], 0.5), ([1.0 - a, a, 0.0, 0.0], 0.5)]
        }
        2 => vec![
            ([0.5, 0.5, 0.0, 0.0], 1.0 / 3.0),
            ([0.0, 0.5, 0.5, 0.0], 1.0 / 3.0),
            ([0.5, 0.0, 0.5, 0.0], 1.0 / 3.0),
        ],
        _ => {
            let (a, b) = (0.585_410_196_624_968_5, 0.138_196_601_125_010_5);
            (0..4)
                .map(|k| {
                    let mut l = [b; 4];
                    l[k] = a;
                    (l, 0.25)
                })
                .collect()
        }
    }
}

/// The degree-5 rules of the module documentation.
fn degree5_rule(dim: usize) -> Vec<QuadPoint> {
    match dim {
        1 => {
            let a = 0.5 * (1.0 - (0.6f64).sqrt());
            vec![
                ([a, 1.0 - a, 0.0, 0.0], 5.0 / 18.0),
                ([0.5, 0.5, 0.0, 0.0], 8.0 / 18.0),
                ([1.0 - a, a, 0.0, 0.0], 5.0 / 18.0),
            ]
        }
        2 => {
            let s = 15f64.sqrt();
            let mut rule = vec![([1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0], 9.0 / 40.0)];
            for (a, w) in [
                ((6.0 - s) / 21.0, (155.0 - s) / 1200.0),
                ((6.0 + s) / 21.0, (155.0 + s) / 1200.0),
            ] {
                rule.extend(orbit_one_apart(2, a, w));
            }
            rule
        }
        _ => {
            let mut rule = Vec::with_capacity(14);
            for (a, w) in [
                (0.310_885_919_263_300_6, 6.0 * 0.018_781_320_953_002_643),
                (0.092_735_250_310_891_22, 6.0 * 0.012_248_840_519_393_659),
            ] {
                rule.extend(orbit_one_apart(3, a, w));
            }
            // Six points (b, b, ½−b, ½−b) over the pairs of coordinates equal to b.
            let (b, w) = (0.045_503_704_125_649_65, 6.0 * 0.007_091_003_462_846_911);
            for (i, j) in [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)] {
                let mut l = [0.5 - b; 4];
                (l[i], l[j]) = (b, b);
                rule.push((l, w));
            }
            rule
        }
    }
}

/// The `dim + 1` points with all coordinates `a` but one, which is `1 − dim·a`.
fn orbit_one_apart(dim: usize, a: f64, w: f64) -> impl Iterator<Item = QuadPoint> {
    (0..=dim).map(move |k| {
        let mut l = [0.0; 4];
        l[..=dim].fill(a);
        l[k] = 1.0 - dim as f64 * a;
        (l, w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factorial(n: usize) -> f64 {
        (1..=n).map(|k| k as f64).product()
    }

    /// Every rule integrates every monomial `Π λ_i^{e_i}` of its degree exactly: over the unit
    /// simplex the mean of such a monomial is `d! Π e_i! / (d + Σe_i)!`.
    #[test]
    fn rules_integrate_monomials_exactly() {
        for dim in 1..=3 {
            for degree in 0..=5 {
                let rule = simplex_rule(dim, degree);
                let wsum: f64 = rule.iter().map(|q| q.1).sum();
                assert!(
                    (wsum - 1.0).abs() < 1e-15,
                    "{dim}D degree {degree}: weights sum to {wsum}"
                );
                assert!(rule.iter().all(|(l, w)| *w > 0.0 && l.iter().all(|&x| x >= 0.0)));
                let mut e = [0usize; 4];
                loop {
                    if e.iter().sum::<usize>() <= degree {
                        let exact = factorial(dim) * e.iter().map(|&k| factorial(k)).product::<f64>()
                            / factorial(dim + e.iter().sum::<usize>());
                        let q: f64 = rule
                            .iter()
                            .map(|(l, w)| w * (0..=dim).map(|i| l[i].powi(e[i] as i32)).product::<f64>())
                            .sum();
                        assert!(
                            (q - exact).abs() <= 1e-14 * exact,
                            "{dim}D degree {degree}, exponents {e:?}: {q} vs {exact}"
                        );
                    }
                    // Next exponent tuple over the dim + 1 coordinates, each 0..=degree.
                    let mut i = 0;
                    while i <= dim && e[i] == degree {
                        e[i] = 0;
                        i += 1;
                    }
                    if i > dim {
                        break;
                    }
                    e[i] += 1;
                }
            }
        }
    }

    /// The degree-5 rules are not exact for degree 6 (so the test above can tell degrees apart).
    #[test]
    fn degree5_is_the_limit() {
        for dim in 1..=3 {
            let q: f64 = simplex_rule(dim, 5).iter().map(|(l, w)| w * l[0].powi(6)).sum();
            let exact = factorial(dim) * factorial(6) / factorial(dim + 6);
            assert!((q - exact).abs() > 1e-6 * exact, "{dim}D");
        }
    }
}

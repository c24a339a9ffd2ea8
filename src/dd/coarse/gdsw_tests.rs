//! Unit tests of the GDSW pieces on grid graphs split into blocks by hand (serial; no MPI).
use super::*;

/// The 5-point matrix on an `m × m` grid: the graph Laplacian (zero row sums, the Neumann
/// problem) when `dirichlet` is false, with the Dirichlet boundary folded into the diagonal
/// otherwise.
fn grid(m: usize, dirichlet: bool) -> Csr {
    let id = |i: usize, j: usize| (j * m + i) as u32;
    let mut t = Vec::new();
    for j in 0..m {
        for i in 0..m {
            let mut nb = Vec::new();
            if i > 0 {
                nb.push(id(i - 1, j));
            }
            if i + 1 < m {
                nb.push(id(i + 1, j));
            }
            if j > 0 {
                nb.push(id(i, j - 1));
            }
            if j + 1 < m {
                nb.push(id(i, j + 1));
            }
            let diag = if dirichlet { 4.0 } else { nb.len() as f64 };
            t.push((id(i, j), id(i, j), diag));
            t.extend(nb.iter().map(|&q| (id(i, j), q, -1.0)));
            // An explicit zero coupling (as P1 right triangles store): not a coupling.
            if i + 1 < m && j + 1 < m {
                t.push((id(i, j), id(i + 1, j + 1), 0.0));
                t.push((id(i + 1, j + 1), id(i, j), 0.0));
            }
        }
    }
    Csr::from_triplets(m * m, m * m, &t)
}

/// Global coarse functions from the pieces of `p × p` block subdomains (overlap 1) of `a`.
fn coarse_functions(a: &Csr, m: usize, p: usize) -> (BTreeMap<Vec<u64>, Vec<f64>>, Vec<u64>) {
    let core: Vec<u64> = (0..m * m)
        .map(|q| ((q / m) * p / m * p + (q % m) * p / m) as u64)
        .collect();
    let mut functions: BTreeMap<Vec<u64>, Vec<f64>> = BTreeMap::new();
    for s in 0..(p * p) as u64 {
        let mut inside: Vec<bool> = core.iter().map(|&c| c == s).collect();
        for i in (0..m * m).filter(|&i| core[i] == s) {
            a.row(i).0.iter().for_each(|&j| inside[j as usize] = true);
        }
        let rows: Vec<u32> = (0..(m * m) as u32).filter(|&i| inside[i as usize]).collect();
        let pou: Vec<f64> = rows
            .iter()
            .map(|&r| f64::from(u8::from(core[r as usize] == s)))
            .collect();
        let core_of: Vec<u64> = rows.iter().map(|&r| core[r as usize]).collect();
        let pieces = gdsw_pieces(&a.principal_submatrix(&rows), &pou, &core_of).expect("gdsw");
        for (key, v) in pieces {
            assert!(key.contains(&s) && key.len() > 1);
            let f = functions.entry(key).or_insert_with(|| vec![0.0; m * m]);
            for (&r, x) in rows.iter().zip(&v) {
                f[r as usize] += x;
            }
            for (x, w) in v.iter().zip(&pou) {
                assert!(*w == 1.0 || *x == 0.0, "a piece is not zero on the overlap");
            }
        }
    }
    (functions, core)
}

#[test]
fn four_blocks_give_four_faces_and_four_corner_components() {
    let m = 12;
    let (functions, _) = coarse_functions(&grid(m, true), m, 2);
    let keys: Vec<&Vec<u64>> = functions.keys().collect();
    // Faces between two blocks; at the cross point each of the four rows touches three blocks
    // (the explicit zeros on the diagonals are no couplings, or there would be a 4-block key).
    assert_eq!(
        keys,
        vec![
            &vec![0, 1],
            &vec![0, 1, 2],
            &vec![0, 1, 3],
            &vec![0, 2],
            &vec![0, 2, 3],
            &vec![1, 2, 3],
            &vec![1, 3],
            &vec![2, 3]
        ]
    );
    // A face of 2 × 5 rows (both sides of the cut, less the corner rows).
    assert_eq!(functions[&vec![0, 1]].iter().filter(|&&x| x == 1.0).count(), 10);
}

#[test]
fn functions_are_harmonic_inside_and_sum_to_the_constant() {
    for dirichlet in [false, true] {
        let m = 15;
        let a = grid(m, dirichlet);
        let (functions, _) = coarse_functions(&a, m, 3);
        // Interface rows: where some function is exactly 1.
        let gamma: Vec<bool> = (0..m * m).map(|i| functions.values().any(|f| f[i] == 1.0)).collect();
        let mut sum = vec![0.0; m * m];
        for f in functions.values() {
            let on: Vec<usize> = (0..m * m).filter(|&i| gamma[i] && f[i] != 0.0).collect();
            assert!(
                on.iter().all(|&i| f[i] == 1.0),
                "an interface function is not an indicator"
            );
            for i in (0..m * m).filter(|&i| !gamma[i]) {
                // Discrete harmonic: (A Φ)_i = 0 on every interior row.
                assert!(a.row_dot(i, f).abs() < 1e-12, "not harmonic at {i}");
            }
            sum.iter_mut().zip(f).for_each(|(s, x)| *s += x);
        }
        for i in 0..m * m {
            if gamma[i] {
                assert_eq!(sum[i], 1.0);
            } else if !dirichlet {
                // The constants are in the space: the harmonic extension of 1 is 1.
                assert!((sum[i] - 1.0).abs() < 1e-12, "Σ Φ = {} at {i}", sum[i]);
            } else {
                assert!(sum[i] > 0.0 && sum[i] < 1.0 + 1e-12);
            }
        }
        // 3 × 3 blocks: 12 faces and 4 cross points of four rows each.
        assert_eq!(functions.len(), 12 + 16, "{:?}", functions.keys().collect::<Vec<_>>());
    }
}

#[test]
fn sizes_are_checked() {
    let a = grid(3, true);
    assert!(gdsw_pieces(&a, &[1.0; 9], &[0; 8]).is_err());
    // One subdomain: no interface, no functions.
    assert!(gdsw_pieces(&a, &[1.0; 9], &[0; 9]).expect("gdsw").is_empty());
}

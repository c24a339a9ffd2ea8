//! The GDSW coarse space (Dohrmann, Klawonn, Widlund, SIAM J. Numer. Anal. 46 (2008); the
//! algebraic form of Heinlein, Klawonn, Rheinbach, SIAM J. Sci. Comput. 38 (2016)), built from the
//! matrix alone — no Neumann matrix, so it also serves purely algebraic input.
//!
//! **Interface.** The Schwarz cores (the non-overlapping parts, partition of unity 1) split the
//! rows; a row is an *interface* row when the matrix couples it (a nonzero entry) to a row of
//! another core. Each row gets the *key* of the cores it touches (its own and those of its
//! nonzero couplings, sorted); the interface rows with the same key form one *component* — for
//! a grid, the faces (two cores), edges and vertices (more) of the decomposition. Since the
//! coupling is symmetric the rows on both sides of a cut belong to it: the interface is two rows
//! wide. Rows with the same key are grouped whether or not they are connected.
//!
//! **Functions.** Each component `c` gives one coarse function `Φ_c`: 1 on the rows of `c`, 0 on
//! the other interface rows (the constants, the null space of diffusion), extended into the
//! interior `I_s` of every core `s` (its rows that are not interface rows) by the
//! energy-minimizing (discrete harmonic) extension `Φ_c|I_s = −A_II⁻¹ A_IΓ φ_c`, one local
//! Cholesky solve with the Dirichlet matrix restricted to interior rows. A core interior couples
//! only to its own core, so every extension is local to one subdomain; with overlap ≥ 1 each
//! subdomain's Dirichlet matrix holds all couplings of its core rows, so each subdomain finds
//! the keys of its core rows by itself once it knows the core of each of its overlap rows (one
//! forward exchange over the Schwarz overlap layout).
//!
//! **Format.** `Φ_c` is supported on the cores of the subdomains in `c`'s key. Each subdomain
//! delivers the pieces `D_s Φ_c` (its core values; 0 on the overlap) on its rows together with
//! the global index of `c`; `Φ_c = Σ_s R_sᵀ D_s Φ_c` over the pieces with that index. This needs
//! the Boolean partition of unity of [`super::Subdomain`].

use crate::comm::{Comm, Layout};
use crate::dd::{Decomposition, Subdomain};
use crate::error::{Error, Result};
use crate::linalg::{Csr, LocalSolver, LocalSolverKind};
use std::collections::{BTreeMap, BTreeSet};

/// An interface component's key (sorted subdomain ids) and one subdomain's piece `D_s Φ_c` of
/// its coarse function on the subdomain's rows.
pub type GdswPiece = (Vec<u64>, Vec<f64>);

/// One subdomain's pieces of the GDSW coarse functions.
#[derive(Clone, Debug, Default)]
pub struct GdswBasis {
    /// Global index (in `0..`[`GdswSpace::n_coarse`]) of the coarse function of each piece.
    pub ids: Vec<u64>,
    /// The piece `D_s Φ_c` on the subdomain's rows (0 on its overlap rows).
    pub vectors: Vec<Vec<f64>>,
    /// The interface component of each piece: the global ids of the subdomains it touches.
    pub keys: Vec<Vec<u64>>,
}

/// The GDSW coarse space over all ranks, as this rank holds it.
#[derive(Clone, Debug)]
pub struct GdswSpace {
    /// Number of coarse functions (interface components) over all ranks.
    pub n_coarse: u64,
    /// The pieces of each of this rank's subdomains, in the order of [`Decomposition::subdomains`].
    pub subdomains: Vec<GdswBasis>,
    /// Global id of this rank's first subdomain (subdomains are numbered rank by rank).
    pub first_subdomain: u64,
    /// Number of components by the number of subdomains in their key (index 2: faces between
    /// two cores; larger: edges and vertices), over all ranks.
    pub by_key_len: Vec<u64>,
}

/// Collective: the GDSW coarse space of the subdomains of `decomposition` (Boolean partition of unity,
/// overlap at least 1). Numbers the subdomains rank by rank, exchanges the core of every overlap
/// row, finds each subdomain's interface components and harmonic extensions, and numbers the
/// components consistently over all ranks.
pub fn gdsw_space(comm: &Comm, decomposition: &Decomposition) -> Result<GdswSpace> {
    let subs = &decomposition.subdomains;
    let first = decomposition.first_id();
    let lay = &decomposition.ext_layout;
    // Core (global subdomain id) of every owned row, then of the overlap rows from their owners.
    let mut core_ext = vec![f64::NAN; lay.n_local()];
    let owned = lay.offset..lay.offset + lay.n_owned as u64;
    for (k, s) in subs.iter().enumerate() {
        for (&g, &w) in s.rows.iter().zip(&s.pou) {
            if w == 1.0 && owned.contains(&g) {
                core_ext[(g - lay.offset) as usize] = (first + k as u64) as f64;
                // exact below 2⁵³
            }
        }
    }
    decomposition.halo().forward_once(comm, &mut core_ext);
    // Without overlap a subdomain cannot see the couplings of its core rows to other cores.
    let several = comm.sum_u64(subs.len() as u64) > 1;
    // (Judged by the configured overlap: a subdomain of decoupled rows, e.g. only eliminated
    // Dirichlet rows grouped by METIS, has no overlap rows even with overlap 1.)
    let no_overlap = decomposition.overlap() == 0;
    let unknown = subs
        .iter()
        .any(|s| s.rows.iter().any(|&g| core_ext[ext_of_row(lay, g)].is_nan()));
    let check = if several && no_overlap {
        Err(Error::Config(
            "GDSW needs Schwarz subdomains with overlap at least 1".into(),
        ))
    } else if unknown {
        Err(Error::input(
            "GDSW: a subdomain row lies in no core (the partition of unity is not Boolean)",
        ))
    } else {
        Ok(())
    };
    comm.agree(check)?;
    let pieces: Result<Vec<Vec<GdswPiece>>> = subs
        .iter()
        .map(|s: &Subdomain| {
            let core_of: Vec<u64> = s.rows.iter().map(|&g| core_ext[ext_of_row(lay, g)] as u64).collect();
            gdsw_pieces(&s.matrix, &s.pou, &core_of)
        })
        .collect();
    let pieces = comm.agree(pieces)?;
    // Global numbering of the components: every key, gathered and sorted.
    let mut flat: Vec<u64> = Vec::new();
    for (key, _) in pieces.iter().flatten() {
        flat.push(key.len() as u64);
        flat.extend_from_slice(key);
    }
    let all = comm.all_gather_v(&flat);
    let mut keys: BTreeSet<&[u64]> = BTreeSet::new();
    let mut at = 0;
    while at < all.len() {
        let len = all[at] as usize;
        keys.insert(&all[at + 1..at + 1 + len]);
        at += 1 + len;
    }
    let mut by_key_len = vec![0u64; keys.iter().map(|k| k.len() + 1).max().unwrap_or(0)];
    keys.iter().for_each(|k| by_key_len[k.len()] += 1);
    let index: BTreeMap<&[u64], u64> = keys.iter().enumerate().map(|(i, &k)| (k, i as u64)).collect();
    let subdomains = pieces
        .into_iter()
        .map(|list| {
            let mut b = GdswBasis::default();
            for (key, v) in list {
                b.ids.push(index[&key[..]]);
                b.keys.push(key);
                b.vectors.push(v);
            }
            b
        })
        .collect();
    Ok(GdswSpace {
        n_coarse: keys.len() as u64,
        subdomains,
        first_subdomain: first,
        by_key_len,
    })
}

/// Position of global row `g` in an array over the Schwarz overlap layout.
fn ext_of_row(lay: &Layout, g: u64) -> usize {
    if g >= lay.offset && g < lay.offset + lay.n_owned as u64 {
        (g - lay.offset) as usize
    } else {
        lay.n_owned + lay.ghosts.partition_point(|&x| x < g)
    }
}

/// One subdomain's GDSW pieces from its Dirichlet matrix, Boolean partition of unity and the
/// core (any subdomain numbering) of each of its rows: for every interface component with rows
/// in this core, its key (sorted subdomain ids) and `D_s Φ_c` on the rows, sorted by key. The
/// matrix must hold every coupling of the core rows (overlap ≥ 1).
pub fn gdsw_pieces(matrix: &Csr, pou: &[f64], core_of: &[u64]) -> Result<Vec<GdswPiece>> {
    let n = matrix.nrows;
    if matrix.ncols != n || pou.len() != n || core_of.len() != n {
        return Err(Error::input(format!(
            "GDSW: a {}x{} matrix with {} weights and {} core ids",
            matrix.nrows,
            matrix.ncols,
            pou.len(),
            core_of.len()
        )));
    }
    let core: Vec<usize> = (0..n).filter(|&i| pou[i] == 1.0).collect();
    // Key of each core row: its own core and those of its nonzero couplings.
    let mut key_of: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for &i in &core {
        let (c, v) = matrix.row(i);
        let mut key: Vec<u64> = c
            .iter()
            .zip(v)
            .filter(|(_, &x)| x != 0.0)
            .map(|(&j, _)| core_of[j as usize])
            .chain([core_of[i]])
            .collect();
        key.sort_unstable();
        key.dedup();
        if key.len() > 1 {
            key_of.insert(i, key);
        }
    }
    let mut components: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
    for (&i, key) in &key_of {
        components.entry(key.clone()).or_default().push(i);
    }
    // Harmonic extension into the interior: A_II Φ_I = −A_IΓ φ_c.
    let interior: Vec<u32> = core
        .iter()
        .filter(|i| !key_of.contains_key(i))
        .map(|&i| i as u32)
        .collect();
    let mut solver = LocalSolver::new(&matrix.principal_submatrix(&interior), LocalSolverKind::Cholesky)
        .map_err(|e| Error::input(format!("GDSW: interior matrix of a core: {e}")))?;
    let mut out = Vec::with_capacity(components.len());
    for (key, rows) in components {
        let mut phi = vec![0.0; n];
        rows.iter().for_each(|&i| phi[i] = 1.0);
        let mut x: Vec<f64> = interior.iter().map(|&i| -matrix.row_dot(i as usize, &phi)).collect();
        solver.solve_in_place(&mut x);
        for (&i, xi) in interior.iter().zip(x) {
            phi[i as usize] = xi;
        }
        out.push((key, phi));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "gdsw_tests.rs"]
mod tests;

//! Fill-reducing orderings of the exact factorizations: METIS nested dissection where it pays
//! off, `faer`'s AMD otherwise.

use crate::linalg::Csr;

/// Below this many rows the minimum-degree ordering is cheaper than nested dissection by more
/// than its extra fill costs. Measured on the 3D 100³ benchmark with 256 subdomains (~6000 rows
/// each with the overlap) on 2 ranks: METIS's ordering made the set-up 4.70 s (Nicolaides) and
/// 8.43 s (GDSW); with AMD it is 2.83 s and 5.27 s, while the solves cost 10–16 % more (5.67 →
/// 6.24 s and 4.75 → 5.53 s): 10.37 → 9.09 s and 13.20 → 10.82 s in all. Blocks of 16 000 rows
/// and more (64 subdomains) keep nested dissection, whose smaller factors pay off there.
pub(super) const ND_MIN_ROWS: usize = 10000;

/// Whether `a` has at most 6 entries per row on average, as 2D stencils and P1 triangle
/// meshes do (3D ones have 7 or more): the factors then have narrow supernodes.
pub(super) fn is_2d_like(a: &Csr) -> bool {
    a.nnz() <= 6 * a.nrows
}

/// METIS nested-dissection ordering `(new → old, old → new)` of the symmetric pattern of `a`, or
/// `None` for small or 2D-like matrices (at most 6 entries per row; AMD is used then) or when
/// METIS fails. Nested dissection gives
/// markedly less fill than AMD on 2D and 3D grid-like matrices.
pub(super) fn nested_dissection(a: &Csr) -> Option<(Vec<usize>, Vec<usize>)> {
    let n = a.nrows;
    // Measured on the 1M-unknown Poisson benchmark: nested dissection pays off for 3D stencils
    // (7-point: 3D 100³ with 16 subdomains, 24.3 s → 18.9 s) but not for 2D 5-point matrices,
    // whose solve time it leaves unchanged while the ordering itself costs (10.4 s → 11.4 s).
    if n < ND_MIN_ROWS || is_2d_like(a) {
        return None;
    }
    let mut xadj: Vec<metis_sys::idx_t> = Vec::with_capacity(n + 1);
    let mut adj: Vec<metis_sys::idx_t> = Vec::with_capacity(a.nnz());
    xadj.push(0);
    for i in 0..n {
        adj.extend(
            a.row(i)
                .0
                .iter()
                .filter(|&&j| j as usize != i)
                .map(|&j| j as metis_sys::idx_t),
        );
        xadj.push(metis_sys::idx_t::try_from(adj.len()).ok()?);
    }
    let mut nv = metis_sys::idx_t::try_from(n).ok()?;
    let (mut perm, mut iperm) = (vec![0 as metis_sys::idx_t; n], vec![0 as metis_sys::idx_t; n]);
    // SAFETY: METIS reads `nv + 1` offsets and `xadj[nv]` neighbours and writes `nv` entries to
    // each output array, all allocated above; null weights and options select the defaults.
    let rc = unsafe {
        metis_sys::METIS_NodeND(
            &mut nv,
            xadj.as_mut_ptr(),
            adj.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            perm.as_mut_ptr(),
            iperm.as_mut_ptr(),
        )
    };
    (rc == metis_sys::rstatus_et_METIS_OK).then(|| {
        (
            perm.iter().map(|&p| p as usize).collect(),
            iperm.iter().map(|&p| p as usize).collect(),
        )
    })
}

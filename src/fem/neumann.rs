//! Unassembled subdomain matrices: the P1 or P2 stiffness of `-∇·(κ∇·)` (the element of the
//! mesh's cells, as in the assembly) integrated over a given set of
//! cells only (a subdomain's own elements), with no contribution from neighbouring cells — the
//! "Neumann matrix" that GenEO's local eigenproblems and FETI's substructures are built on. Summed
//! over a non-overlapping set of subdomains (scattered to global numbering) they give the
//! assembled matrix. [`SubdomainNeumann`] builds them for subdomains given by their rows in the
//! distributed numbering (the overlapping Schwarz subdomains), in the order of those rows.

use super::assemble::MassKind;
use super::element::{ElementMatrix, Lagrange, MAX_NODES};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::linalg::Csr;
use crate::mesh::{Adjacency, Mesh};
use crate::partition::{fill_empty_parts, metis_partition};
use crate::pde::HeatData;

/// A subdomain's unassembled matrix and the mesh points its rows stand for.
#[derive(Clone, Debug)]
pub struct NeumannMatrix {
    /// Mesh point index of each row (ascending).
    pub points: Vec<u32>,
    /// The matrix, rows and columns in the order of `points`.
    pub matrix: Csr,
}

/// Assembles the stiffness with coefficient `kappa(cell)` over `cells` (mesh cell indices)
/// only.
pub fn neumann_matrix(mesh: &Mesh, cells: &[u32], kappa: impl Fn(u32) -> f64) -> Result<NeumannMatrix> {
    let mut points: Vec<u32> = cells
        .iter()
        .flat_map(|&c| mesh.cell(c as usize).iter().copied())
        .collect();
    points.sort_unstable();
    points.dedup();
    let local = |p: u32| points.binary_search(&p).unwrap_or(0) as u32;
    let n = points.len();
    let matrix = Csr::from_triplets(n, n, &stiffness_over(mesh, cells, kappa, local, STIFFNESS)?);
    Ok(NeumannMatrix { matrix, points })
}

/// The stiffness alone: the Neumann matrices of `-∇·(κ∇u) = f`.
const STIFFNESS: (f64, MassKind, f64) = (0.0, MassKind::Lumped, 1.0);

/// Triplets of `mass·M + stiff·K` over `cells` (`terms`: mass factor, mass kind, stiffness
/// factor) with mesh point `p` at row `local(p)` (entries of points mapped to `u32::MAX` are
/// dropped).
fn stiffness_over(
    mesh: &Mesh,
    cells: &[u32],
    kappa: impl Fn(u32) -> f64,
    local: impl Fn(u32) -> u32,
    (mass, kind, stiff): (f64, MassKind, f64),
) -> Result<Vec<(u32, u32, f64)>> {
    let el = Lagrange::for_cell(mesh.cell_type)
        .ok_or_else(|| Error::input("P1 and P2 elements need a triangle or tetrahedron mesh"))?;
    let nn = el.num_nodes();
    let mut trip = Vec::with_capacity(cells.len() * nn * nn);
    for &c in cells {
        let vs = mesh.cell(c as usize);
        let x: Vec<[f64; 3]> = vs.iter().map(|&v| mesh.points[v as usize]).collect();
        let (vol, k) = el.stiffness(&x, kappa(c));
        if !(vol > 0.0 && vol.is_finite()) {
            return Err(Error::mesh("mesh", format!("degenerate cell {c}")));
        }
        let m = if mass != 0.0 {
            el.mass(&x)
        } else {
            [[0.0; MAX_NODES]; MAX_NODES]
        };
        for (i, &a) in vs.iter().enumerate() {
            for (j, &b) in vs.iter().enumerate() {
                let (la, lb) = (local(a), local(b));
                if la != u32::MAX && lb != u32::MAX {
                    trip.push((la, lb, stiff * k[i][j] + mass * mass_entry(&m, nn, kind, i, j)));
                }
            }
        }
    }
    Ok(trip)
}

/// Entry `(i, j)` of an element's consistent mass `m` (of `n` nodes), or of its lumped
/// (row-summed) mass, as the assembly forms them.
fn mass_entry(m: &ElementMatrix, n: usize, kind: MassKind, i: usize, j: usize) -> f64 {
    match kind {
        MassKind::Consistent => m[i][j],
        MassKind::Lumped if i == j => m[i][..n].iter().sum(),
        MassKind::Lumped => 0.0,
    }
}

/// Unassembled matrices of subdomains given by their rows, global point ids of the distributed
/// numbering ([`crate::partition::point_numbering`]): the stiffness (κ per cell; or a sum with
/// the mass, [`SubdomainNeumann::with_terms`]) over the subdomain's own cells, rows and columns
/// in the order of the given rows, with the Dirichlet points eliminated as in the assembled
/// matrix (their couplings dropped, identity rows). A cell belongs to the subdomain when each of
/// its points is a row or a Dirichlet point: the overlap grows through the matrix graph, in
/// which eliminated points have no edges. Built once per mesh; every rank can serve any
/// subdomain since the mesh is replicated.
pub struct SubdomainNeumann<'a> {
    mesh: &'a Mesh,
    data: &'a HeatData,
    /// Mesh point of each global id.
    point_of: Vec<u32>,
    /// Global id of each mesh point (`u32::MAX` for points in no cell).
    numbering: Vec<u32>,
    /// Whether each mesh point is an eliminated Dirichlet point.
    dirichlet: Vec<bool>,
    /// Cells around each mesh point (offsets, cells).
    v2c: (Vec<usize>, Vec<u32>),
    /// Mass factor, mass kind and stiffness factor of the matrices.
    terms: (f64, MassKind, f64),
}

impl<'a> SubdomainNeumann<'a> {
    /// Collective: prepares the inverse numbering, the Dirichlet flags of all points (gathered
    /// from the owners' `owned_dirichlet`, e.g. [`crate::fem::FemSystem::dirichlet`]) and the
    /// point-to-cell map; `numbering` is the global id of every mesh point.
    pub fn new(
        comm: &Comm,
        mesh: &'a Mesh,
        data: &'a HeatData,
        numbering: &[u32],
        owned_dirichlet: &[bool],
    ) -> SubdomainNeumann<'a> {
        let owned: Vec<u8> = owned_dirichlet.iter().map(|&d| u8::from(d)).collect();
        let by_id = comm.all_gather_v(&owned); // owned ranges ascend with rank
        let mut point_of = vec![u32::MAX; numbering.len()];
        let mut dirichlet = vec![false; numbering.len()];
        for (p, &g) in numbering.iter().enumerate() {
            if let Some(slot) = point_of.get_mut(g as usize) {
                *slot = p as u32;
                dirichlet[p] = by_id.get(g as usize) == Some(&1);
            }
        }
        SubdomainNeumann {
            mesh,
            data,
            point_of,
            numbering: numbering.to_vec(),
            dirichlet,
            v2c: mesh.vertex_to_cells(),
            terms: STIFFNESS,
        }
    }

    /// The matrices of `mass·M + stiff·K` (lumped or consistent mass as `kind`, formed as the
    /// assembly forms it) instead of the stiffness alone: the Neumann matrices of an implicit
    /// time step's `M + θ dt K`. Robin terms are left out (each is positive semi-definite, so
    /// the sum over subdomains stays below the assembled matrix, as GenEO needs).
    pub fn with_terms(mut self, mass: f64, kind: MassKind, stiff: f64) -> SubdomainNeumann<'a> {
        self.terms = (mass, kind, stiff);
        self
    }

    /// The Neumann matrix of the subdomain whose rows (ascending global ids) are `rows`; an
    /// error for an id that is not a mesh point.
    pub fn matrix(&self, rows: &[u64]) -> Result<Csr> {
        // Row of each mesh point of the subdomain, for the membership test and the numbering.
        let mut local = std::collections::HashMap::with_capacity(rows.len());
        for (i, &g) in rows.iter().enumerate() {
            match self.point_of.get(g as usize) {
                Some(&p) if p != u32::MAX => local.insert(p, i as u32),
                _ => return Err(Error::input(format!("row {g} is not a point of the mesh"))),
            };
        }
        let (off, v2c) = &self.v2c;
        let inside = |v: &u32| local.contains_key(v) || self.dirichlet[*v as usize];
        let mut cells: Vec<u32> = local
            .keys()
            .flat_map(|&p| v2c[off[p as usize]..off[p as usize + 1]].iter().copied())
            .filter(|&c| self.mesh.cell(c as usize).iter().all(inside))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        // Dirichlet points map to no row: their couplings are dropped.
        let at = |p: u32| match local.get(&p) {
            Some(&i) if !self.dirichlet[p as usize] => i,
            _ => u32::MAX,
        };
        let mut trip = stiffness_over(self.mesh, &cells, |c| self.data.kappa_at(c), at, self.terms)?;
        trip.extend(
            local
                .iter()
                .filter(|(&p, _)| self.dirichlet[p as usize])
                .map(|(_, &i)| (i, i, 1.0)),
        );
        Ok(Csr::from_triplets(rows.len(), rows.len(), &trip))
    }
}

impl SubdomainNeumann<'_> {
    /// A subdomain of a non-overlapping (FETI) decomposition made of exactly `cells` (mesh cell
    /// indices): its rows, the global ids of the cells' points that are not Dirichlet points
    /// (ascending), and the Neumann matrix of these cells on them (Dirichlet couplings dropped,
    /// as in the assembly). Over a partition of the cells the matrices sum to the assembled
    /// matrix's rows and columns of the free points.
    pub fn cells_matrix(&self, cells: &[u32]) -> Result<(Vec<u64>, Csr)> {
        let mut points: Vec<u32> = cells
            .iter()
            .flat_map(|&c| self.mesh.cell(c as usize).iter().copied())
            .filter(|&p| !self.dirichlet[p as usize])
            .collect();
        points.sort_unstable_by_key(|&p| self.numbering[p as usize]);
        points.dedup();
        let rows: Vec<u64> = points.iter().map(|&p| u64::from(self.numbering[p as usize])).collect();
        let at = |p: u32| {
            if self.dirichlet[p as usize] {
                return u32::MAX;
            }
            rows.binary_search(&u64::from(self.numbering[p as usize]))
                .map_or(u32::MAX, |i| i as u32)
        };
        let trip = stiffness_over(self.mesh, cells, |c| self.data.kappa_at(c), at, self.terms)?;
        let n = rows.len();
        Ok((rows, Csr::from_triplets(n, n, &trip)))
    }
}

impl SubdomainNeumann<'_> {
    /// The `k` element subdomains of `cells` ([`element_parts`]), each with its rows and
    /// Neumann matrix ([`SubdomainNeumann::cells_matrix`]): FETI's substructures.
    pub fn element_subdomains(&self, cells: &[u32], k: usize) -> Result<Vec<(Vec<u64>, Csr)>> {
        element_parts(self.mesh, cells, k)?
            .iter()
            .map(|part| self.cells_matrix(part))
            .collect()
    }
}

/// Splits `cells` (mesh cell indices, ascending: e.g. a rank's own cells) into `k` parts by METIS
/// on their facet-adjacency graph, every part non-empty; the parts' cells, ascending.
pub fn element_parts(mesh: &Mesh, cells: &[u32], k: usize) -> Result<Vec<Vec<u32>>> {
    if k == 0 || k > cells.len() {
        return Err(Error::Config(format!(
            "{k} subdomains for {} cells: need between 1 and the number of cells",
            cells.len()
        )));
    }
    let parts = if k == 1 {
        vec![0; cells.len()]
    } else {
        let graph = mesh.cell_graph(Adjacency::Facet).induced(cells);
        fill_empty_parts(metis_partition(&graph, k, true)?, k)
    };
    let mut out = vec![Vec::new(); k];
    for (&c, &p) in cells.iter().zip(&parts) {
        out[p as usize].push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Adjacency;
    use crate::partition::{partition, Method};

    /// Constants are in the kernel of every Neumann matrix, and the matrices of a partition's
    /// parts sum to the assembled stiffness, for P1 and P2.
    #[test]
    fn kernel_and_sum_over_subdomains() {
        let p1 = Mesh::structured(&[8, 6], true).unwrap();
        for m in [p1.elevate().unwrap(), p1] {
            kernel_and_sum(&m);
        }
    }

    fn kernel_and_sum(m: &Mesh) {
        let dual = m.cell_graph(Adjacency::Facet);
        let part = partition(m, &dual, 4, &Method::MetisKway).unwrap();
        let n = m.num_points();
        let mut sum = vec![0.0; n * n];
        for p in 0..4u32 {
            let cells: Vec<u32> = (0..m.num_cells() as u32)
                .filter(|&c| part.parts[c as usize] == p)
                .collect();
            let nm = neumann_matrix(m, &cells, |_| 2.0).unwrap();
            let mut y = vec![0.0; nm.points.len()];
            nm.matrix.spmv(&vec![1.0; nm.points.len()], &mut y);
            assert!(y.iter().all(|v| v.abs() < 1e-12), "constant not in the kernel: {y:?}");
            assert!(nm.matrix.is_symmetric(1e-14));
            for i in 0..nm.points.len() {
                let (c, v) = nm.matrix.row(i);
                for (&j, &a) in c.iter().zip(v) {
                    sum[nm.points[i] as usize * n + nm.points[j as usize] as usize] += a;
                }
            }
        }
        let all: Vec<u32> = (0..m.num_cells() as u32).collect();
        let global = neumann_matrix(m, &all, |_| 2.0).unwrap();
        for i in 0..n {
            let (c, v) = global.matrix.row(i);
            for (&j, &a) in c.iter().zip(v) {
                assert!((sum[i * n + j as usize] - a).abs() < 1e-12, "entry ({i}, {j})");
            }
        }
        // The global Neumann matrix has exactly the entries summed from the parts.
        let nnz_sum = sum.iter().filter(|v| v.abs() > 1e-14).count();
        assert!(nnz_sum <= global.matrix.nnz());
    }
}

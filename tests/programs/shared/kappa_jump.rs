//! The problem `neumann_check`, `geneo_check`, `gdsw_check` and `feti_check` share: P1 or P2
//! Poisson on a triangulated (2D) or tetrahedral (3D) box grid, METIS-partitioned over the
//! ranks, κ = 1 on the left half and 50 on the right (cells tagged by their centroid), f = 1,
//! homogeneous Dirichlet. The Schwarz programs use the 24 × 20 grid with additive Schwarz of two
//! subdomains per rank and overlap equal to the degree (the matrix graph of P2 reaches an
//! element's nodes in one step only from inside it), and the subdomains' Neumann matrices.
#![allow(dead_code)] // each program uses its part

use ddkit::comm::Comm;
use ddkit::dd::{Schwarz, SchwarzVariant, SubdomainSplit};
use ddkit::fem::{assemble_poisson, FemSystem, SubdomainNeumann};
use ddkit::linalg::LocalSolverKind;
use ddkit::mesh::{Adjacency, Mesh};
use ddkit::partition::{distribute, point_numbering, LocalMesh, Method, Partition};
use ddkit::pde::HeatData;
use ddkit::problems::partition_collective;
use std::collections::BTreeMap;

/// The assembled problem with what built it.
pub struct KappaJump {
    pub mesh: Mesh,
    pub part: Partition,
    pub data: HeatData,
    pub lm: LocalMesh,
    pub sys: FemSystem,
}

impl KappaJump {
    /// The subdomains' Neumann matrices from the elements.
    pub fn neumann_source(&self, comm: &Comm) -> SubdomainNeumann<'_> {
        let numbering = point_numbering(&self.mesh, &self.part);
        SubdomainNeumann::new(comm, &self.mesh, &self.data, &numbering, &self.sys.dirichlet)
    }
}

/// Where κ jumps.
pub enum Kappa {
    /// κ = 1 for x < 1/2, 50 beyond.
    Halves,
    /// κ constant on each element subdomain of [`ddkit::fem::element_parts`] (`per_rank` per
    /// rank), 1 or `contrast` by a hash of the subdomain's number: jumps along subdomain
    /// interfaces.
    PerSubdomain { per_rank: usize, contrast: f64 },
}

/// Collective: assembles the problem of element degree `degree` (1 or 2) on the grid `dims`.
pub fn kappa_jump_problem(comm: &Comm, degree: usize, dims: &[usize], kappa: &Kappa) -> Result<KappaJump, String> {
    let err = |e: ddkit::Error| e.to_string();
    let p1 = Mesh::structured(dims, true).map_err(err)?;
    let dual = p1.cell_graph(Adjacency::Facet);
    let part = partition_collective(comm, &p1, &dual, comm.size() as usize, &Method::MetisKway).map_err(err)?;
    let mut mesh = if degree == 2 { p1.elevate().map_err(err)? } else { p1 };
    let high = match *kappa {
        Kappa::Halves => {
            mesh.cell_tags = (0..mesh.num_cells())
                .map(|c| if mesh.centroid(c)[0] < 0.5 { 1 } else { 2 })
                .collect();
            50.0
        }
        Kappa::PerSubdomain { per_rank, contrast } => {
            // Every rank splits every rank's cells as the solver will split its own.
            let mut tags = vec![1i32; mesh.num_cells()];
            for r in 0..comm.size() as u32 {
                let cells: Vec<u32> = (0..mesh.num_cells() as u32)
                    .filter(|&c| part.parts[c as usize] == r)
                    .collect();
                let parts = ddkit::fem::element_parts(&mesh, &cells, per_rank).map_err(err)?;
                for (k, cells) in parts.iter().enumerate() {
                    let g = (r as u64) * per_rank as u64 + k as u64;
                    let tag = 1 + ((g.wrapping_mul(2_654_435_761) >> 7) & 1) as i32;
                    cells.iter().for_each(|&c| tags[c as usize] = tag);
                }
            }
            mesh.cell_tags = tags;
            contrast
        }
    };
    let regions = BTreeMap::from([("1".to_string(), 1.0), ("2".to_string(), high)]);
    let data = HeatData::new(&mesh, 1.0, None, 1.0, &BTreeMap::new())
        .and_then(|d| d.with_kappa_regions(&mesh, &regions))
        .map_err(err)?;
    let lm = distribute(
        comm.rank() as usize,
        &mesh,
        &part,
        &mesh.cell_graph(Adjacency::Vertex),
        1,
    )
    .map_err(err)?;
    let sys = assemble_poisson(comm, &mesh, &lm, &data).map_err(err)?;
    Ok(KappaJump {
        mesh,
        part,
        data,
        lm,
        sys,
    })
}

/// Collective: builds the 24 × 20 problem for element degree `degree` (1 or 2) and returns its
/// additive Schwarz, every subdomain with its Neumann matrix attached.
pub fn kappa_jump(comm: &Comm, degree: usize) -> Result<Schwarz, String> {
    let err = |e: ddkit::Error| e.to_string();
    let p = kappa_jump_problem(comm, degree, &[24, 20], &Kappa::Halves)?;
    let mut asm = Schwarz::new(
        comm,
        &p.sys.a,
        SchwarzVariant::Asm,
        degree,
        2,
        SubdomainSplit::Metis,
        LocalSolverKind::Cholesky,
    )
    .map_err(err)?;
    let source = p.neumann_source(comm);
    asm.attach_neumann(comm, |rows| source.matrix(rows)).map_err(err)?;
    Ok(asm)
}

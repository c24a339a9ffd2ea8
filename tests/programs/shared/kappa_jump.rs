//! The problem `neumann_check`, `geneo_check` and `gdsw_check` share: P1 or P2 Poisson on a
//! triangulated 24 × 20 grid, METIS-partitioned over the ranks, κ = 1 on the left half and 50 on
//! the right (cells tagged by their centroid), f = 1, homogeneous Dirichlet; additive Schwarz
//! with two subdomains per rank and overlap equal to the degree (the matrix graph of P2 reaches
//! an element's nodes in one step only from inside it), and the subdomains' Neumann matrices.

use ddkit::comm::Comm;
use ddkit::dd::{Schwarz, SchwarzVariant, SubdomainSplit};
use ddkit::fem::{assemble_poisson, SubdomainNeumann};
use ddkit::linalg::LocalSolverKind;
use ddkit::mesh::{Adjacency, Mesh};
use ddkit::partition::{distribute, point_numbering, Method};
use ddkit::pde::HeatData;
use ddkit::problems::partition_collective;
use std::collections::BTreeMap;

/// Collective: builds the problem for element degree `degree` (1 or 2) and returns its additive
/// Schwarz, every subdomain with its Neumann matrix attached.
pub fn kappa_jump(comm: &Comm, degree: usize) -> Result<Schwarz, String> {
    let err = |e: ddkit::Error| e.to_string();
    let p1 = Mesh::structured(&[24, 20], true).map_err(err)?;
    let dual = p1.cell_graph(Adjacency::Facet);
    let part = partition_collective(comm, &p1, &dual, comm.size() as usize, &Method::MetisKway).map_err(err)?;
    let mut mesh = if degree == 2 { p1.elevate().map_err(err)? } else { p1 };
    mesh.cell_tags = (0..mesh.num_cells())
        .map(|c| if mesh.centroid(c)[0] < 0.5 { 1 } else { 2 })
        .collect();
    let regions = BTreeMap::from([("1".to_string(), 1.0), ("2".to_string(), 50.0)]);
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
    let mut asm = Schwarz::new(
        comm,
        &sys.a,
        SchwarzVariant::Asm,
        degree,
        2,
        SubdomainSplit::Metis,
        LocalSolverKind::Cholesky,
    )
    .map_err(err)?;
    let numbering = point_numbering(&mesh, &part);
    let source = SubdomainNeumann::new(comm, &mesh, &data, &numbering, &sys.dirichlet);
    asm.attach_neumann(comm, |rows| source.matrix(rows)).map_err(err)?;
    Ok(asm)
}

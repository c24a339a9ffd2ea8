//! Problem drivers: they take resolved parameters, run the whole flow (mesh → partition →
//! distribution → discretization → time loop → output) and return a serializable summary.

pub mod heat;
pub mod navier_stokes;
pub mod poisson;
pub mod restart;
mod setup;

pub use setup::{
    create_writer, load_mesh, partition_collective, peak_memory_mib, prepare, reopen_writer,
    warn_exact_outside_unit_box, write_kappa, MeshSource, Prepared,
};

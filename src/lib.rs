//! ddkit: an MPI domain-decomposition framework for partial differential equations.
//!
//! The modules follow the data flow: [`mesh`] → [`partition`] → [`comm`] (layout, halo
//! exchange) → discretizations ([`heat`]) → [`io`] (parallel HDF5/XDMF, reports).

pub mod cli;
pub mod comm;
pub mod error;
pub mod mesh;
pub mod partition;

pub use error::{Error, Result};
pub mod fd;
pub mod fem;
pub mod io;
pub mod pde;
pub mod problems;

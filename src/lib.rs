//! ddkit: an MPI domain-decomposition framework for partial differential equations.
//!
//! The modules follow the data flow: [`mesh`] → [`partition`] → [`comm`] (layout, halo
//! exchange) → discretizations ([`heat`]) → [`io`] (parallel HDF5/XDMF, reports).

pub mod comm;
pub mod error;
pub mod io;
pub mod mesh;

pub use error::{Error, Result};

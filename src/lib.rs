//! ddkit: an MPI domain-decomposition framework for partial differential equations.
//!
//! The modules follow the data flow: [`mesh`] (structured grids, Gmsh reader) →
//! [`partition`] (METIS / blocks, distribution with ghost layers) → [`comm`] (layouts, halo
//! exchange) → discretizations ([`fd`], [`fem`]) with problem data ([`pde`]) → [`time`]
//! stepping → drivers ([`problems`]) → [`io`] (parallel HDF5/XDMF). [`cli`] is the `ddkit`
//! command line.

#![warn(missing_docs)]

pub mod cli;
pub mod comm;
pub mod dd;
pub mod error;
pub mod fd;
pub mod fem;
pub mod io;
pub mod krylov;
pub mod limits;
pub mod linalg;
pub mod mesh;
pub mod partition;
pub mod pde;
pub mod problems;
pub mod solver;
pub mod time;

pub use error::{Error, Result};

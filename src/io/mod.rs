//! Output: the last stage of the data flow. After the mesh has been partitioned and distributed
//! ([`crate::mesh`], [`crate::comm`]) and a discretization has produced fields, [`Writer`] writes
//! them, together with each rank's owned part of the mesh, to one HDF5 file per run (collectively
//! through MPI-IO, never gathered on one rank) and an XDMF file beside it that ParaView opens as
//! a time series.

mod output;

pub use output::{Center, OutputMesh, Writer};

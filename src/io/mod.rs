//! Output: the last stage of the data flow. After the mesh has been partitioned and distributed
//! ([`crate::mesh`], [`crate::comm`]) and a discretization has produced fields, [`Writer`] writes
//! them, together with each rank's owned part of the mesh, to one HDF5 file per run (collectively
//! through MPI-IO, never gathered on one rank) and an XDMF file beside it that ParaView opens as
//! a time series. [`FieldSpec`] says what a field is (name, centring, components, space);
//! [`checkpoint`] holds everything a run needs to continue, readable on any number of ranks.

pub mod checkpoint;
mod exchange;
mod h5;
mod output;

pub use checkpoint::{Checkpoint, CheckpointMesh, Fingerprint, Series};
pub use output::{read_field, Center, FieldSpec, OutputMesh, P1Map, Rows, Space, Writer};

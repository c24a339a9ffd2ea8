//! Time stepping: the stage between a discretization ([`crate::fd`], [`crate::fem`]) and the
//! output ([`crate::io`]). A discretization offers a [`Stepper`] (advance one step, take a new
//! dt, expose its fields, restore them from a checkpoint); one [`TimeLoop`] drives any stepper
//! through a [`Plan`] (a fixed step, a dt schedule, or the rest of a checkpointed run), with
//! snapshots, checkpoints, NaN / Inf checks, progress lines and timings. [`AffineValues`] keeps
//! the matrices of implicit steps, `M + c K`, so that a new dt is a numeric update on the same
//! pattern.

mod affine;
mod plan;
mod run;
mod stepper;

pub use affine::AffineValues;
pub use plan::{check_stable, time_steps, DtSchedule, Plan, PlannedStep, Resume, StepOptions, DEFAULT_MAX_STEPS};
pub use run::{Checkpointing, LoopOutcome, TimeLoop};
pub use stepper::{restore_field, Stepper};

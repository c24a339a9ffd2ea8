//! The interface between a time discretization and the loop that drives it.

use crate::comm::{Comm, HaloStats};
use crate::error::{Error, Result};
use crate::io::{FieldSpec, Series};
use crate::pde::ErrorNorms;
use crate::solver::SolverTimings;

/// A time discretization on one rank (explicit FD or P1, implicit FD, P1 or P2): what
/// [`super::TimeLoop`] drives, whatever the problem.
pub trait Stepper {
    /// The largest stable step (collectively agreed at set-up; infinite for implicit schemes).
    fn stable_dt(&self) -> f64;

    /// Collective: takes steps of `dt` from now on. Implicit steppers recompute the values of
    /// their matrices on the same pattern and update the linear solver (numeric work only);
    /// explicit ones refuse a `dt` above their stability limit.
    fn set_dt(&mut self, comm: &Comm, dt: f64) -> Result<()>;

    /// Collective among neighbours: advances the fields from `t` to `t + dt`. A linear solve
    /// that does not converge is an [`Error::Solve`] on every rank alike, which stops the run at
    /// this step; other errors end the run.
    fn step(&mut self, comm: &Comm, t: f64, dt: f64) -> Result<()>;

    /// The fields, each with this rank's owned values: what snapshots and checkpoints hold.
    fn fields(&self) -> Vec<(FieldSpec, &[f64])>;

    /// Local: sets the fields from `fields` (owned values, e.g. read from a checkpoint); every
    /// field of [`Stepper::fields`] must be there with its spec and length.
    fn restore(&mut self, fields: &[(FieldSpec, Vec<f64>)]) -> Result<()>;

    /// Collective: errors of the solution against the problem's exact one at time `t`; None
    /// for a stepper that has no exact solution to compare with (the same on every rank).
    fn errors(&mut self, comm: &Comm, t: f64) -> Option<ErrorNorms> {
        let _ = (comm, t);
        None
    }

    /// The accumulated timings of the halo exchanges of the steps (zero for a stepper that
    /// does not time its exchanges).
    fn halo_stats(&self) -> HaloStats {
        HaloStats::default()
    }

    /// Seconds of computation outside the shadow of the exchanges (zero for a stepper that
    /// does not time its exchanges).
    fn compute_time(&self) -> f64 {
        0.0
    }

    /// The linear solver's set-up, update and solve costs (implicit steppers).
    fn solver_timings(&self) -> Option<SolverTimings> {
        None
    }

    /// Whether the run has reached its goal before the plan's end (a steady state); asked
    /// after every step, and the same on every rank.
    fn finished(&self) -> bool {
        false
    }

    /// Fields that checkpoints hold besides [`Stepper::fields`] and snapshots do not: the
    /// history of a multistep scheme. [`Stepper::restore`] receives them too.
    fn history(&self) -> Vec<(FieldSpec, &[f64])> {
        Vec::new()
    }

    /// The table this stepper keeps over the steps (a monitor's time series), the same on
    /// every rank, that checkpoints hold so a restarted run's end-of-run quantities cover the
    /// whole run; None when it keeps none.
    fn series(&self) -> Option<Series> {
        None
    }

    /// Local: continues from the table a checkpoint held ([`Stepper::series`]; None when the
    /// checkpoint holds none). Refuses a table of other columns.
    fn restore_series(&mut self, series: Option<&Series>) -> Result<()> {
        let _ = series;
        Ok(())
    }
}

/// Local: copies the values of field `spec` in `fields` into `into` (a stepper's owned values),
/// refusing a field that is missing, of another spec or of another length.
pub fn restore_field(fields: &[(FieldSpec, Vec<f64>)], spec: &FieldSpec, into: &mut [f64]) -> Result<()> {
    let Some((have, values)) = fields.iter().find(|f| f.0.name == spec.name) else {
        return Err(Error::input(format!("no field '{}' to restore", spec.name)));
    };
    if have != spec || values.len() != into.len() {
        return Err(Error::input(format!(
            "field '{}' is {} with {} values, this stepper holds {} with {}",
            spec.name,
            have.describe(),
            values.len(),
            spec.describe(),
            into.len()
        )));
    }
    into.copy_from_slice(values);
    Ok(())
}

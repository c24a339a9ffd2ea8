//! [`TimeLoop`]: the one loop of every time-dependent problem. It takes the steps of a
//! [`Plan`], tells the stepper when dt changes, stops at a failed step or at values that are no
//! longer finite (naming the step), or early when the stepper says it is done (a steady state),
//! writes snapshots and checkpoints at their cadence, prints progress, and returns what
//! happened for the problem's summary.

use super::{Plan, Stepper};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::{Checkpoint, CheckpointMesh, FieldSpec, Writer};
use crate::linalg::symbolic_setups;
use std::path::PathBuf;
use std::time::Instant;

/// Where and how often a run writes checkpoints, and what they hold besides the fields.
pub struct Checkpointing<'a> {
    /// The checkpoint file (written as `FILE.tmp`, then renamed over the previous one).
    pub path: PathBuf,
    /// Every this many steps (0: not by step count).
    pub every: usize,
    /// Every this many seconds of wall time, decided collectively so that all ranks write at
    /// the same step.
    pub interval: Option<f64>,
    /// The mesh ids the fields are stored by.
    pub mesh: CheckpointMesh<'a>,
    /// The run's options as JSON, compared on restart.
    pub options: String,
    /// The dt of every step before the plan's start (from the checkpoint a restarted run
    /// continues), so that each checkpoint holds the whole history.
    pub history: Vec<f64>,
}

impl Checkpointing<'_> {
    /// Collective: writes the stepper's fields at step `step`, time `time`.
    fn write(&self, comm: &Comm, plan: &Plan, stepper: &dyn Stepper, step: usize, time: f64) -> Result<()> {
        let mut dt_history = self.history.clone();
        dt_history.extend(plan.dts(plan.start(), step));
        let ck = Checkpoint {
            step: step as u64,
            time,
            dt_history,
            options: self.options.clone(),
            fields: stepper
                .fields()
                .into_iter()
                .chain(stepper.history())
                .map(|(s, v)| (s, v.to_vec()))
                .collect(),
            series: stepper.series(),
        };
        ck.write(comm, &self.path, &self.mesh)
    }
}

/// The driver of a [`Stepper`]: plan, snapshots, checkpoints and progress.
pub struct TimeLoop<'a> {
    /// The steps to take, from the plan's start step.
    pub plan: Plan,
    /// A snapshot every this many steps (0: at the start and the end only).
    pub snapshot_every: usize,
    /// Progress lines on rank 0 every 10 % of the steps.
    pub progress: bool,
    /// The output series, if any; a reopened one keeps its snapshots, and only later times
    /// are added. Finished at the end of the loop.
    pub writer: Option<Writer>,
    /// Checkpoints, if any: at their cadence and at the end of a run that did not fail.
    pub checkpoints: Option<Checkpointing<'a>>,
}

/// What a [`TimeLoop`] did.
#[derive(Clone, Debug, Default)]
pub struct LoopOutcome {
    /// The last step completed (the plan's start when none was).
    pub step: usize,
    /// Steps taken by this run.
    pub taken: usize,
    /// The time reached.
    pub time: f64,
    /// Why the run stopped early (a failed step, values that are not finite), or `None`.
    pub failure: Option<String>,
    /// Wall seconds of the loop on this rank (snapshots and checkpoints included).
    pub seconds: f64,
    /// Seconds of writing snapshots and finishing the output.
    pub output_seconds: f64,
    /// Seconds of writing checkpoints.
    pub checkpoint_seconds: f64,
    /// Checkpoints written.
    pub checkpoints: usize,
    /// Times dt changed (each a [`Stepper::set_dt`]).
    pub dt_changes: usize,
    /// Symbolic set-ups of local solvers (orderings, symbolic factorizations) during the loop
    /// on this rank: 0 when dt changes were numeric updates only.
    pub symbolic_setups: u64,
}

impl TimeLoop<'_> {
    /// Collective: runs the plan with `stepper`, which was set up for the dt of the plan's first
    /// step. A step that fails with [`Error::Solve`] or fields that stop being finite (checked
    /// about every 1 % of the steps and before each snapshot and checkpoint) end the loop with
    /// the reason in [`LoopOutcome::failure`]; snapshots and checkpoints before it are kept.
    pub fn run(self, comm: &Comm, stepper: &mut dyn Stepper) -> Result<LoopOutcome> {
        let TimeLoop {
            plan,
            snapshot_every,
            progress,
            mut writer,
            checkpoints,
        } = self;
        let (start, end) = (plan.start(), plan.end());
        let mut out = LoopOutcome {
            step: start,
            time: plan.time(start),
            ..LoopOutcome::default()
        };
        let registered = writer.as_ref().and_then(|w| w.times().last().copied());
        snapshot(comm, &mut writer, stepper, out.time, registered, &mut out)?;
        let check_every = ((end - start) / 100).max(1);
        let progress_every = (progress && comm.is_root() && end - start >= 10).then_some((end - start) / 10);
        let (every, interval) = checkpoints.as_ref().map_or((0, None), |c| (c.every, c.interval));
        let mut dt_now = plan.dt(start + 1);
        let (mut last_finite, mut last_checkpoint) = (start, None);
        let (t_loop, mut since_checkpoint) = (Instant::now(), Instant::now());
        let symbolic = symbolic_setups();
        for s in plan.steps() {
            if s.dt.to_bits() != dt_now.to_bits() {
                stepper.set_dt(comm, s.dt)?;
                (dt_now, out.dt_changes) = (s.dt, out.dt_changes + 1);
            }
            match stepper.step(comm, s.t, s.dt) {
                Ok(()) => {}
                Err(Error::Solve(why)) => {
                    out.failure = Some(format!("step {} of {end} (t = {:.4e}): {why}", s.n, s.t_next));
                    break;
                }
                Err(e) => return Err(e),
            }
            (out.step, out.time, out.taken) = (s.n, s.t_next, out.taken + 1);
            let done = stepper.finished();
            let snap = s.n == end || done || (snapshot_every > 0 && s.n % snapshot_every == 0);
            let by_steps = every > 0 && s.n % every == 0;
            if snap || by_steps || (s.n - start) % check_every == 0 {
                if !all_finite(comm, stepper) {
                    out.failure = Some(format!(
                        "the solution is not finite (NaN or Inf) at step {} of {end} (t = {:.4e}; it was \
                         finite at step {last_finite}): the data overflow or the scheme is unstable",
                        s.n, s.t_next
                    ));
                    break;
                }
                last_finite = s.n;
                // Each rank's clock, reduced: all ranks write at the same step.
                let by_time = interval.is_some_and(|i| {
                    let due = since_checkpoint.elapsed().as_secs_f64() >= i;
                    comm.max_f64(if due { 1.0 } else { 0.0 }) > 0.0
                });
                if snap {
                    snapshot(comm, &mut writer, stepper, s.t_next, registered, &mut out)?;
                }
                if let Some(c) = checkpoints.as_ref().filter(|_| by_steps || by_time) {
                    checkpoint(comm, c, &plan, stepper, (s.n, s.t_next), progress, &mut out)?;
                    (last_checkpoint, since_checkpoint) = (Some(s.n), Instant::now());
                }
            }
            if progress_every.is_some_and(|p| (s.n - start) % p == 0) {
                tracing::info!("step {}/{end}  t = {:.4e}", s.n, s.t_next);
            }
            if done {
                break;
            }
        }
        out.seconds = t_loop.elapsed().as_secs_f64();
        out.symbolic_setups = symbolic_setups() - symbolic;
        // A run that ends well leaves a checkpoint of its end, so that it can be continued.
        if let Some(c) = checkpoints.as_ref() {
            if out.failure.is_none() && out.taken > 0 && last_checkpoint != Some(out.step) {
                checkpoint(comm, c, &plan, stepper, (out.step, out.time), progress, &mut out)?;
            }
        }
        if let Some(w) = writer.take() {
            let t0 = Instant::now();
            w.finish(comm)?;
            out.output_seconds += t0.elapsed().as_secs_f64();
        }
        Ok(out)
    }
}

/// Collective: a snapshot of the stepper's fields at time `t`, unless the series already holds
/// one at or after `t` (`registered`: its last time when it was reopened).
fn snapshot(
    comm: &Comm,
    writer: &mut Option<Writer>,
    stepper: &dyn Stepper,
    t: f64,
    registered: Option<f64>,
    out: &mut LoopOutcome,
) -> Result<()> {
    let Some(w) = writer.as_mut().filter(|_| registered.is_none_or(|r| t > r)) else {
        return Ok(());
    };
    let t0 = Instant::now();
    let fields = stepper.fields();
    let with: Vec<(&FieldSpec, &[f64])> = fields.iter().map(|(s, v)| (s, *v)).collect();
    w.write_fields(comm, t, &with)?;
    out.output_seconds += t0.elapsed().as_secs_f64();
    Ok(())
}

/// Collective: a checkpoint at `(step, time)`, counted and timed in `out`.
fn checkpoint(
    comm: &Comm,
    c: &Checkpointing,
    plan: &Plan,
    stepper: &dyn Stepper,
    (step, time): (usize, f64),
    log: bool,
    out: &mut LoopOutcome,
) -> Result<()> {
    let t0 = Instant::now();
    c.write(comm, plan, stepper, step, time)?;
    out.checkpoint_seconds += t0.elapsed().as_secs_f64();
    out.checkpoints += 1;
    if log && comm.is_root() {
        tracing::info!("checkpoint at step {step} (t = {time:.4e}): {}", c.path.display());
    }
    Ok(())
}

/// Collective: whether every rank's fields are finite (no NaN, no Inf).
fn all_finite(comm: &Comm, stepper: &dyn Stepper) -> bool {
    let local = stepper.fields().iter().all(|(_, v)| finite(v));
    // NaN compares false, so the maximum of 0 and NaN must be taken as a flag.
    comm.max_f64(if local { 0.0 } else { 1.0 }) == 0.0
}

/// Local: whether all `values` are finite.
fn finite(values: &[f64]) -> bool {
    // `v · 0` is 0 for a finite v and NaN otherwise; summed in eight independent lanes it is a
    // vectorized pass at memory speed, where a per-element `is_finite` test with an early exit
    // cost several per cent of an explicit run's throughput at one check per 1 % of the steps.
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(0.0, |s, v| s + v * 0.0);
    for c in chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v * 0.0;
        }
    }
    lanes.iter().sum::<f64>() + rest == 0.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_finite_values_are_found_in_any_lane() {
        let mut v = vec![1.0; 37];
        assert!(super::finite(&v));
        for i in [0, 7, 8, 36] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let keep = v[i];
                v[i] = bad;
                assert!(!super::finite(&v), "{i} {bad}");
                v[i] = keep;
            }
        }
    }
}

//! The step plan of a run: how many steps of which `dt`, from the options (`--steps`, `--dt`,
//! `--t-final`, `--cfl`, `--dt-schedule`) and the stepper's stability limit, and how a restarted
//! run continues the plan of the checkpoint it reads.

use crate::error::{Error, Result};

/// The default of the most steps a run may take (`--max-steps`).
pub const DEFAULT_MAX_STEPS: usize = 100_000_000;

/// Refuses a step above the explicit stability limit `dt_stable` (infinite for implicit schemes).
pub fn check_stable(dt: f64, dt_stable: f64) -> Result<()> {
    if dt > dt_stable * (1.0 + 1e-12) {
        return Err(Error::input(format!(
            "dt = {dt:e} is unstable: the explicit step must not exceed {dt_stable:e} for this mesh and kappa"
        )));
    }
    Ok(())
}

/// Picks `(steps, dt)` from what was given, refusing unstable or inconsistent values and step
/// counts above `max_steps` (checked in floating point, before any conversion can overflow).
pub fn time_steps(
    steps: Option<usize>,
    dt: Option<f64>,
    t_final: Option<f64>,
    dt_stable: f64,
    cfl: f64,
    max_steps: usize,
) -> Result<(usize, f64)> {
    if let Some(dt) = dt {
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::input(format!("dt must be positive, got {dt}")));
        }
        check_stable(dt, dt_stable)?;
    }
    if let Some(t) = t_final {
        if !(t > 0.0 && t.is_finite()) {
            return Err(Error::input(format!("t-final must be positive, got {t}")));
        }
    }
    if steps == Some(0) {
        return Err(Error::input("steps must be at least 1"));
    }
    if !(cfl > 0.0 && cfl <= 1.0) {
        return Err(Error::input(format!("cfl must be in (0, 1], got {cfl}")));
    }
    let too_many = |n: f64, why: String| -> Result<()> {
        if n > max_steps as f64 {
            return Err(Error::input(format!(
                "{why} {n:.3e} steps, more than max-steps = {max_steps} (raise --max-steps if you mean it)"
            )));
        }
        Ok(())
    };
    if let Some(n) = steps {
        too_many(n as f64, "--steps asks for".into())?;
    }
    let default_dt = cfl * dt_stable;
    Ok(match (steps, dt, t_final) {
        (Some(n), Some(dt), Some(t)) => {
            if (n as f64 * dt - t).abs() > 1e-9 * t {
                return Err(Error::input(format!(
                    "steps × dt = {} does not equal t-final = {t}; give two of the three",
                    n as f64 * dt
                )));
            }
            (n, dt)
        }
        (Some(n), None, Some(t)) => {
            let dt = t / n as f64;
            if dt > dt_stable * (1.0 + 1e-12) {
                return Err(Error::input(format!("{n} steps to t-final = {t} need dt = {dt:e}, above the stability limit {dt_stable:e}; use at least {} steps", (t / dt_stable).ceil())));
            }
            (n, dt)
        }
        (None, given, Some(t)) => {
            let dt = given.unwrap_or(default_dt);
            let n = (t / dt * (1.0 - 1e-12)).ceil().max(1.0);
            let how = if given.is_some() {
                format!("t-final = {t:e} at dt = {dt:e} needs")
            } else {
                format!("t-final = {t:e} at cfl × the stability limit {dt_stable:e} of this mesh and kappa needs")
            };
            too_many(n, how)?;
            (n as usize, t / n)
        }
        (n, dt, None) => (n.unwrap_or(100), dt.unwrap_or(default_dt)),
    })
}

/// A list of `(dt, steps)` stretches (`--dt-schedule 1e-3:10,5e-4:20`: 10 steps of 1e-3, then
/// 20 of 5e-4), for implicit schemes, whose matrices take a new dt by a numeric update.
#[derive(Clone, Debug, PartialEq)]
pub struct DtSchedule(pub Vec<(f64, usize)>);

impl DtSchedule {
    /// Parses `DT:N,DT:N,...`: each `DT` positive and finite, each `N` at least 1.
    pub fn parse(text: &str) -> Result<DtSchedule> {
        let bad = |why: String| Error::input(format!("--dt-schedule '{text}': {why}"));
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim) {
            let (dt, n) = item
                .split_once(':')
                .ok_or_else(|| bad(format!("'{item}' is not DT:STEPS (e.g. 1e-3:10)")))?;
            let dt: f64 = dt.trim().parse().map_err(|_| bad(format!("'{dt}' is not a number")))?;
            if !(dt > 0.0 && dt.is_finite()) {
                return Err(bad(format!("dt must be positive and finite, got {dt}")));
            }
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| bad(format!("'{n}' is not a whole number of steps")))?;
            if n == 0 {
                return Err(bad(format!("'{item}' has no steps")));
            }
            out.push((dt, n));
        }
        Ok(DtSchedule(out))
    }

    /// The text form, as parsed.
    pub fn text(&self) -> String {
        let items: Vec<String> = self.0.iter().map(|(dt, n)| format!("{dt:e}:{n}")).collect();
        items.join(",")
    }
}

/// A stretch of equal steps: steps `first + 1 ..= first + count` of `dt`, starting at `t0`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    first: usize,
    t0: f64,
    dt: f64,
    count: usize,
}

impl Segment {
    fn end(&self) -> usize {
        self.first + self.count
    }
    /// The time after step `n` of this stretch: `t0 + (n − first)·dt`, not a running sum, so a
    /// run restarted at any step of the stretch reaches bitwise the same times (and a run of one
    /// stretch from 0 has the `n·dt` of old).
    fn time(&self, n: usize) -> f64 {
        self.t0 + (n - self.first) as f64 * self.dt
    }
}

/// One step of a [`Plan`]: step `n` goes from `t` to `t_next` with `dt`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlannedStep {
    /// The step's number (from 1; a restarted run continues the numbers).
    pub n: usize,
    /// The time before the step.
    pub t: f64,
    /// The step.
    pub dt: f64,
    /// The time after the step.
    pub t_next: f64,
}

/// The steps a run takes: stretches of equal steps from its start step to its last.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    segments: Vec<Segment>,
    start: usize,
}

impl Plan {
    /// `steps` steps of `dt` from step 0 at time 0.
    pub fn uniform(steps: usize, dt: f64) -> Plan {
        Plan::from_segments(0, 0.0, &[(dt, steps)])
    }

    /// The stretches of `schedule` from step 0 at time 0.
    pub fn schedule(schedule: &DtSchedule) -> Plan {
        Plan::from_segments(0, 0.0, &schedule.0)
    }

    /// Stretches `(dt, count)` one after the other from step `first` at time `t0`.
    fn from_segments(first: usize, t0: f64, items: &[(f64, usize)]) -> Plan {
        let mut segments = Vec::with_capacity(items.len());
        let (mut first, mut t0) = (first, t0);
        for &(dt, count) in items {
            let s = Segment { first, t0, dt, count };
            (first, t0) = (s.end(), s.time(s.end()));
            segments.push(s);
        }
        let start = segments.first().map_or(0, |s| s.first);
        Plan { segments, start }
    }

    /// The step the run starts from (0, or the checkpoint's).
    pub fn start(&self) -> usize {
        self.start
    }

    /// The last step.
    pub fn end(&self) -> usize {
        self.segments.last().map_or(self.start, Segment::end)
    }

    fn segment(&self, n: usize) -> Option<&Segment> {
        self.segments.iter().find(|s| n > s.first && n <= s.end())
    }

    /// The dt of step `n` (from the time after step `n − 1` to the time after step `n`); the
    /// first stretch's before the plan starts.
    pub fn dt(&self, n: usize) -> f64 {
        self.segment(n).or(self.segments.first()).map_or(0.0, |s| s.dt)
    }

    /// The time after step `n` (at the start step: the start time).
    pub fn time(&self, n: usize) -> f64 {
        match self.segment(n) {
            Some(s) => s.time(n),
            None => self.segments.first().map_or(0.0, |s| s.t0),
        }
    }

    /// The steps after the start, in order, without a search per step.
    pub fn steps(&self) -> impl Iterator<Item = PlannedStep> + '_ {
        self.segments.iter().flat_map(move |s| {
            (s.first.max(self.start) + 1..=s.end()).map(move |n| PlannedStep {
                n,
                t: s.time(n - 1),
                dt: s.dt,
                t_next: s.time(n),
            })
        })
    }

    /// The number of times dt changes between consecutive steps after the start.
    pub fn dt_changes(&self) -> usize {
        let live: Vec<f64> = self
            .segments
            .iter()
            .filter(|s| s.end() > self.start && s.count > 0)
            .map(|s| s.dt)
            .collect();
        live.windows(2).filter(|w| w[0].to_bits() != w[1].to_bits()).count()
    }

    /// The dt of steps `from + 1 ..= to`.
    pub fn dts(&self, from: usize, to: usize) -> Vec<f64> {
        (from + 1..=to).map(|n| self.dt(n)).collect()
    }

    /// Whether this plan took exactly the steps of `history` to reach `time` at step
    /// `history.len()` (bitwise, so continuing it gives what the run without a stop gives).
    fn took(&self, history: &[f64], time: f64) -> bool {
        let k = history.len();
        k <= self.end()
            && self.time(k).to_bits() == time.to_bits()
            && history
                .iter()
                .enumerate()
                .all(|(i, dt)| self.dt(i + 1).to_bits() == dt.to_bits())
    }
}

/// Where a restarted run continues: a checkpoint's step, time and dt history.
#[derive(Clone, Debug, PartialEq)]
pub struct Resume {
    /// Steps taken.
    pub step: usize,
    /// Time reached.
    pub time: f64,
    /// The dt of every step taken.
    pub history: Vec<f64>,
}

/// The time-step options of a run, resolved into a [`Plan`] once the stability limit is known.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOptions {
    /// Number of steps, if fixed (the run's last step, also on a restart).
    pub steps: Option<usize>,
    /// Time step, if fixed.
    pub dt: Option<f64>,
    /// Final time, if fixed.
    pub t_final: Option<f64>,
    /// Fraction of the stable step used when `dt` is not given (explicit schemes).
    pub cfl: f64,
    /// The most steps a run may take.
    pub max_steps: usize,
    /// A dt schedule instead of `steps` / `dt` / `t_final` (implicit schemes).
    pub schedule: Option<DtSchedule>,
}

impl StepOptions {
    /// The plan of the whole run from step 0 for a stepper whose stable step is `dt_stable`
    /// (infinite for implicit schemes).
    pub fn plan(&self, dt_stable: f64) -> Result<Plan> {
        let implicit = dt_stable == f64::INFINITY;
        if let Some(s) = &self.schedule {
            if !implicit {
                return Err(Error::input(
                    "--dt-schedule needs an implicit scheme (--scheme be or cn): explicit steps are bound by the stability limit",
                ));
            }
            if self.steps.is_some() || self.dt.is_some() || self.t_final.is_some() {
                return Err(Error::input(
                    "--dt-schedule gives the steps and their dt: drop --steps, --dt and --t-final",
                ));
            }
            let total: f64 = s.0.iter().map(|&(_, n)| n as f64).sum();
            if total > self.max_steps as f64 {
                return Err(Error::input(format!(
                    "--dt-schedule asks for {total:.3e} steps, more than max-steps = {} (raise --max-steps if you mean it)",
                    self.max_steps
                )));
            }
            return Ok(Plan::schedule(s));
        }
        let (steps, dt) = self.uniform(self.steps, self.t_final, dt_stable)?;
        Ok(Plan::uniform(steps, dt))
    }

    /// `(steps, dt)` of a run of one dt: `steps` and `t_final` are those left to run.
    fn uniform(&self, steps: Option<usize>, t_final: Option<f64>, dt_stable: f64) -> Result<(usize, f64)> {
        if dt_stable == f64::INFINITY {
            // No stability limit: without --dt the final time is split into --steps (100).
            if self.dt.is_none() && t_final.is_none() {
                return Err(Error::input("implicit time stepping needs --dt or --t-final"));
            }
            let steps = steps.or(self.dt.is_none().then_some(100));
            return time_steps(steps, self.dt, t_final, f64::INFINITY, 1.0, self.max_steps);
        }
        time_steps(steps, self.dt, t_final, dt_stable, self.cfl, self.max_steps)
    }

    /// The plan continuing from `at`. When this run's plan from step 0 took exactly the
    /// checkpoint's steps, it is continued as it stands (the same steps at bitwise the same
    /// times as a run without a stop); otherwise (another `--t-final` or `--dt`) the rest is
    /// planned afresh from the checkpoint's step and time: `--steps` and `--t-final` still count
    /// from 0. A dt schedule must match the checkpoint's steps, since it describes the whole run.
    pub fn resume(&self, dt_stable: f64, at: &Resume) -> Result<Plan> {
        let k = at.step;
        if at.history.len() != k {
            return Err(Error::input(format!(
                "the checkpoint is at step {k} but holds {} time steps",
                at.history.len()
            )));
        }
        let nothing_left = |end: String| {
            Error::input(format!(
                "the checkpoint is at step {k} (t = {:e}), {end}: ask for more (--steps, --t-final or --dt-schedule)",
                at.time
            ))
        };
        let full = self.plan(dt_stable)?;
        if full.took(&at.history, at.time) {
            if full.end() <= k {
                return Err(nothing_left(format!("the end of this run (step {})", full.end())));
            }
            return Ok(Plan {
                start: k,
                segments: full.segments,
            });
        }
        if self.schedule.is_some() {
            let n = (1..=k).find(|&n| full.dt(n).to_bits() != at.history[n - 1].to_bits());
            let why = match n {
                Some(n) => format!(
                    "it gives dt = {:e} at step {n}, the checkpoint took {:e}",
                    full.dt(n),
                    at.history[n - 1]
                ),
                None => format!("it has {} steps, the checkpoint {k}", full.end()),
            };
            return Err(Error::input(format!(
                "--dt-schedule does not match the checkpoint's steps ({why}): a schedule describes the whole run from t = 0"
            )));
        }
        let steps = match self.steps {
            Some(n) if n <= k => return Err(nothing_left(format!("at or beyond --steps {n}"))),
            n => n.map(|n| n - k),
        };
        let t_final = match self.t_final {
            Some(t) if t <= at.time => return Err(nothing_left(format!("at or beyond --t-final {t:e}"))),
            t => t.map(|t| t - at.time),
        };
        let (n, dt) = self.uniform(steps, t_final, dt_stable)?;
        Ok(Plan::from_segments(k, at.time, &[(dt, n)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_selection() {
        let m = DEFAULT_MAX_STEPS;
        assert_eq!(time_steps(Some(10), Some(0.1), None, 1.0, 0.9, m).unwrap(), (10, 0.1));
        let (n, dt) = time_steps(None, None, Some(1.0), 0.3, 0.9, m).unwrap();
        assert_eq!(n, 4);
        assert!((dt - 0.25).abs() < 1e-15);
        assert!(time_steps(None, Some(0.5), None, 0.3, 0.9, m)
            .unwrap_err()
            .to_string()
            .contains("unstable"));
        assert!(time_steps(None, Some(-1.0), None, 0.3, 0.9, m).is_err());
        assert!(time_steps(Some(0), None, None, 0.3, 0.9, m).is_err());
        assert!(time_steps(Some(3), Some(0.1), Some(1.0), 0.3, 0.9, m).is_err());
        assert!(time_steps(Some(2), None, Some(1.0), 0.3, 0.9, m).is_err());
    }

    #[test]
    fn step_counts_are_bounded_before_any_conversion() {
        // A tiny dt (or a huge kappa's tiny stable step) would need ~1e300 steps: refused with
        // the limit named, instead of saturating to usize::MAX and running forever.
        let m = DEFAULT_MAX_STEPS;
        let e = time_steps(None, Some(1e-300), Some(1.0), f64::INFINITY, 1.0, m)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1.000e300 steps") && e.contains("max-steps = 100000000"),
            "{e}"
        );
        let e = time_steps(None, None, Some(1.0), 1e-305, 0.9, m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("stability limit 1e-305"), "{e}");
        assert!(time_steps(Some(m + 1), Some(1e-9), None, 1.0, 0.9, m).is_err());
        assert_eq!(time_steps(None, Some(1e-3), Some(1.0), 1.0, 0.9, 1000).unwrap().0, 1000);
        assert!(time_steps(None, Some(1e-3), Some(1.0), 1.0, 0.9, 999).is_err());
    }

    fn options() -> StepOptions {
        StepOptions {
            steps: None,
            dt: None,
            t_final: None,
            cfl: 0.9,
            max_steps: DEFAULT_MAX_STEPS,
            schedule: None,
        }
    }

    #[test]
    fn schedules_parse_and_plan() {
        let s = DtSchedule::parse("1e-3:10, 5e-4:20").unwrap();
        assert_eq!(s.0, vec![(1e-3, 10), (5e-4, 20)]);
        for bad in ["", "1e-3", "1e-3:0", "-1:3", "nan:2", "1e-3:x", "1e-3:10,"] {
            assert!(DtSchedule::parse(bad).is_err(), "{bad}");
        }
        let o = StepOptions {
            schedule: Some(s),
            ..options()
        };
        assert!(o.plan(1.0).unwrap_err().to_string().contains("implicit"));
        let p = o.plan(f64::INFINITY).unwrap();
        assert_eq!((p.start(), p.end(), p.dt_changes()), (0, 30, 1));
        assert_eq!((p.dt(10), p.dt(11)), (1e-3, 5e-4));
        assert_eq!(p.time(10), 10.0 * 1e-3);
        assert_eq!(p.time(12), 10.0 * 1e-3 + 2.0 * 5e-4);
        let steps: Vec<PlannedStep> = p.steps().collect();
        assert_eq!(steps.len(), 30);
        assert_eq!((steps[10].n, steps[10].dt, steps[10].t), (11, 5e-4, p.time(10)));
        assert_eq!(steps[10].t_next, p.time(11));
        let both = StepOptions { dt: Some(1e-3), ..o };
        assert!(both.plan(f64::INFINITY).is_err());
    }

    #[test]
    fn a_restart_continues_the_same_steps_or_replans_the_rest() {
        let o = StepOptions {
            steps: Some(400),
            ..options()
        };
        let full = o.plan(1e-3).unwrap();
        let at = Resume {
            step: 50,
            time: full.time(50),
            history: full.dts(0, 50),
        };
        let p = o.resume(1e-3, &at).unwrap();
        assert_eq!((p.start(), p.end()), (50, 400));
        // Bitwise the same times as the plan without a stop.
        assert!((50..=400).all(|n| p.time(n).to_bits() == full.time(n).to_bits()));
        assert_eq!(p.steps().next().map(|s| s.n), Some(51));
        // Another t-final: the rest is planned from the checkpoint's time.
        let longer = StepOptions {
            steps: None,
            t_final: Some(2.0 * full.time(400)),
            ..o.clone()
        };
        let p = longer.resume(1e-3, &at).unwrap();
        assert_eq!(p.start(), 50);
        assert!((p.time(p.end()) - 2.0 * full.time(400)).abs() < 1e-12);
        // Nothing left, a damaged history, a schedule that does not match.
        let end = Resume {
            step: 400,
            time: full.time(400),
            history: full.dts(0, 400),
        };
        assert!(o
            .resume(1e-3, &end)
            .unwrap_err()
            .to_string()
            .contains("end of this run"));
        let short = Resume {
            history: vec![1e-3; 3],
            ..at.clone()
        };
        assert!(o.resume(1e-3, &short).is_err());
        let s = StepOptions {
            steps: None,
            schedule: Some(DtSchedule(vec![(2e-3, 100)])),
            ..o
        };
        assert!(s
            .resume(f64::INFINITY, &at)
            .unwrap_err()
            .to_string()
            .contains("does not match"));
    }
}

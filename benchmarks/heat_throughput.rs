//! Throughput of the explicit FD heat step against the machine's memory bandwidth.
//!
//! What it measures, on every rank at once (rank 0 prints and writes the JSON):
//!
//! 1. **Memory bandwidth**: a STREAM-like triad `a[i] = b[i] + s c[i]` on three arrays of
//!    `--triad-n` doubles per rank (default 16M, 384 MiB per rank, far beyond any cache), run
//!    simultaneously on all ranks after a barrier so each rank sees the same contention as in the
//!    stencil run. Bandwidth counts 24 bytes per element (the STREAM convention: the write
//!    allocate of `a` is not counted); the best of `--triad-reps` repetitions is used for the bound
//!    (STREAM reports the best), the median is reported as well. STREAM scale `a = s b` (16 B per
//!    element: one read and one write stream, the stencil's access pattern) is measured likewise.
//! 2. **Explicit FD heat** ([`ddkit::fd::FdHeat`], cell-centred 5/7-point stencil, exact decaying
//!    mode with Dirichlet data, block partition) on a `--grid` structured grid, stepping `--steps`
//!    steps per repetition in each [`HaloMode`]: `overlap` (exchange hidden behind the interior
//!    sweep), `blocking` (exchange, then compute) and `skip` (no exchange at all: the pure compute
//!    reference). One operator is reused; each mode gets a warm-up step, and the modes are
//!    interleaved within each of the `--reps` repetitions so machine noise affects all alike. The
//!    step loop is timed between a barrier and a max over ranks; medians over repetitions are
//!    reported, with the halo phases (post, shadow, wait; max over ranks) per step.
//! 3. **Bandwidth bound**: a cell update must at least read `u` and write `u_new`, 16 bytes
//!    (neighbour reads hit cache), so the bound is `triad bandwidth per rank / 16` updates per
//!    second per rank. Both numbers then leave out the write allocate, so they are consistent; the
//!    stricter-looking 24-byte variant (write allocate counted for the stencil only) is printed
//!    too. The target is ≥ 70 % of the 16-byte bound.
//! 4. **Hidden communication**: `comm = t(blocking) − t(skip)`, `exposed = t(overlap) − t(skip)`,
//!    hidden fraction `1 − exposed / comm` (undefined when `comm` is within noise), and the
//!    overlap slowdown `t(overlap) / t(skip) − 1` (target ≤ 5 %).
//!
//! ```text
//! cargo build --release --examples
//! mpirun -np 2 --bind-to core target/release/examples/heat_throughput \
//!     [--grid 4096x4096[xNZ]] [--steps 50] [--reps 5] [--triad-n 16777216] [--triad-reps 10] \
//!     [--kappa 1] [--json FILE]
//! ```
//!
//! `benchmarks/run_heat_throughput.sh` runs it on 1 and 2 ranks and saves the JSON results.

use ddkit::comm::{Comm, HaloMode, HaloStats};
use ddkit::fd::FdHeat;
use ddkit::mesh::{structured::parse_grid, Adjacency, Mesh};
use ddkit::partition::{distribute, Method};
use ddkit::pde::{Exact, HeatData};
use ddkit::problems::partition_collective;
use ddkit::time::Stepper;
use ddkit::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Bytes of one cell update: read `u`, write `u_new`.
const BYTES_MIN: f64 = 16.0;
/// The same with the write allocate of `u_new` counted.
const BYTES_WA: f64 = 24.0;
/// Below this many seconds per step a communication cost is treated as noise.
const TINY: f64 = 1e-6;

/// Command-line options (see the module documentation).
#[derive(clap::Parser, Debug)]
#[command(about = "Explicit FD heat throughput against the memory bandwidth (run under mpirun)")]
struct Args {
    /// Structured grid NXxNY or NXxNYxNZ.
    #[arg(long, default_value = "4096x4096")]
    grid: String,
    /// Steps per repetition and mode.
    #[arg(long, default_value_t = 50, value_parser = positive)]
    steps: usize,
    /// Repetitions (medians are reported).
    #[arg(long, default_value_t = 5, value_parser = positive)]
    reps: usize,
    /// Doubles per array and rank for the triad and scale kernels.
    #[arg(long, default_value_t = 16 << 20, value_parser = positive)]
    triad_n: usize,
    /// Repetitions of the bandwidth kernels (best is used).
    #[arg(long, default_value_t = 10, value_parser = positive)]
    triad_reps: usize,
    /// Diffusion coefficient.
    #[arg(long, default_value_t = 1.0)]
    kappa: f64,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}': expected a positive integer")),
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Machine description for the JSON.
#[derive(Serialize)]
struct Machine {
    /// Processors the machine has online (`processor` lines of /proc/cpuinfo).
    nproc: usize,
    /// Processors rank 0 may run on (its affinity mask, e.g. 1 under `--bind-to core`).
    cpus_available_to_rank0: usize,
    cpu_model: Option<String>,
    hostname: Option<String>,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_string());
    let cpus_available_to_rank0 = std::thread::available_parallelism().map_or(0, |n| n.get());
    let nproc = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    Machine {
        nproc: if nproc > 0 { nproc } else { cpus_available_to_rank0 },
        cpus_available_to_rank0,
        cpu_model,
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

/// One STREAM-like kernel run on all ranks at once.
#[derive(Serialize)]
struct Stream {
    kernel: &'static str,
    /// Bytes counted per element (STREAM convention: the write allocate is not counted).
    bytes_per_element: f64,
    elements_per_rank: usize,
    repetitions: usize,
    /// Which repetition statistic `per_rank_gbs` / `aggregate_gbs` are.
    statistic: &'static str,
    /// Aggregate bandwidth over all ranks, best repetition.
    aggregate_gbs: f64,
    /// `aggregate_gbs / ranks`: the bandwidth one rank gets with all ranks streaming.
    per_rank_gbs: f64,
    aggregate_gbs_median: f64,
    per_rank_gbs_median: f64,
    /// Per-rank bandwidth with the write allocate counted (8 more bytes per element), best.
    per_rank_gbs_write_allocate: f64,
    /// Aggregate bandwidth of every repetition.
    aggregate_gbs_all: Vec<f64>,
}

/// Collective: a STREAM kernel on every rank at once, `reps` timed repetitions after an untimed
/// one (page faults, warm loop), each started after a barrier. `triad`: `a = b + s c` (24 B per
/// element); otherwise scale, `a = s b` (16 B: one read and one write stream, the access pattern
/// of the stencil). Scale rather than copy, because a copy may become `memcpy` with
/// non-temporal stores, which the stencil cannot use.
fn stream(comm: &Comm, n: usize, reps: usize, triad: bool) -> Stream {
    let b = vec![1.0f64; n];
    let c = vec![2.0f64; if triad { n } else { 0 }];
    let mut a = vec![0.0f64; n];
    let s = std::hint::black_box(3.0);
    let bytes = if triad { 24.0 } else { 16.0 };
    let mut aggregate = Vec::with_capacity(reps + 1);
    for _ in 0..=reps {
        comm.barrier();
        let t0 = Instant::now();
        if triad {
            for ((ai, bi), ci) in a.iter_mut().zip(&b).zip(&c) {
                *ai = bi + s * ci;
            }
        } else {
            for (ai, bi) in a.iter_mut().zip(&b) {
                *ai = s * bi;
            }
        }
        std::hint::black_box(&mut a);
        let dt = t0.elapsed().as_secs_f64();
        aggregate.push(comm.sum_f64(bytes * n as f64 / dt) * 1e-9);
    }
    aggregate.remove(0);
    let expect = if triad { 7.0 } else { 3.0 };
    if a.iter().step_by(4099).any(|&x| x != expect) {
        eprintln!(
            "heat_throughput: rank {}: STREAM kernel produced a wrong value",
            comm.rank()
        );
    }
    let p = comm.size() as f64;
    let best = aggregate.iter().copied().fold(0.0, f64::max);
    let med = median(&aggregate);
    Stream {
        kernel: if triad { "triad a = b + s c" } else { "scale a = s b" },
        bytes_per_element: bytes,
        elements_per_rank: n,
        repetitions: reps,
        statistic: "best of repetitions (STREAM convention); *_median: median",
        aggregate_gbs: best,
        per_rank_gbs: best / p,
        aggregate_gbs_median: med,
        per_rank_gbs_median: med / p,
        per_rank_gbs_write_allocate: best / p * (bytes + 8.0) / bytes,
        aggregate_gbs_all: aggregate,
    }
}

#[derive(Serialize)]
struct ModeResult {
    mode: HaloMode,
    /// Median seconds per step (max over ranks of each repetition's loop time / steps).
    seconds_per_step: f64,
    seconds_per_step_all: Vec<f64>,
    /// Cell updates per second per rank at the median step time.
    updates_per_second_per_rank: f64,
    /// Fraction of the 16-byte bandwidth bound.
    fraction_of_bound: f64,
    /// Fraction of the 24-byte (write-allocate) bound.
    fraction_of_bound_24b: f64,
    /// Fraction of the STREAM-scale bound (16 B at the scale bandwidth).
    fraction_of_scale_bound: f64,
    /// Median per step of the halo phases, max over ranks (seconds).
    post_per_step: f64,
    shadow_per_step: f64,
    wait_per_step: f64,
    /// Bytes sent per step by all ranks.
    bytes_sent_per_step: f64,
}

#[derive(Serialize)]
struct Comparison {
    /// `t(blocking) − t(skip)` per step.
    comm_cost_per_step: f64,
    /// `t(overlap) − t(skip)` per step.
    exposed_with_overlap_per_step: f64,
    /// `1 − exposed / comm_cost`; `None` when the cost is within noise (< 1 µs per step).
    hidden_fraction: Option<f64>,
    /// `t(overlap) / t(skip) − 1`, in percent.
    overlap_slowdown_percent: f64,
    /// `t(blocking) / t(skip) − 1`, in percent.
    blocking_slowdown_percent: f64,
    /// Repetition noise: the largest half-range of the per-repetition step times over the
    /// modes. Differences of step times below it (e.g. the comm cost) are not significant.
    noise_per_step: f64,
}

#[derive(Serialize)]
struct Report {
    benchmark: &'static str,
    ranks: i32,
    grid: Vec<usize>,
    cells: u64,
    /// Smallest and largest owned-cell count over ranks.
    owned_cells_min: u64,
    owned_cells_max: u64,
    /// Fraction of owned cells (min over ranks) updated by the structured interior sweep.
    interior_sweep_fraction: f64,
    steps_per_rep: usize,
    reps: usize,
    dt: f64,
    setup_seconds: f64,
    machine: Machine,
    triad: Stream,
    /// STREAM scale (one read, one write stream), for comparison with the stencil's pattern.
    scale: Stream,
    /// Scale bandwidth per rank / 16 B: the bound for a one-read-one-write sweep.
    scale_bound_updates_per_second_per_rank: f64,
    bytes_per_update: f64,
    bytes_per_update_write_allocate: f64,
    bound_updates_per_second_per_rank: f64,
    bound_updates_per_second_per_rank_24b: f64,
    target_fraction_of_bound: f64,
    modes: Vec<ModeResult>,
    comparison: Comparison,
    target_overlap_slowdown_percent: f64,
}

fn mode_name(m: HaloMode) -> &'static str {
    match m {
        HaloMode::Overlap => "overlap",
        HaloMode::Blocking => "blocking",
        HaloMode::Skip => "skip",
    }
}

fn delta(a: &HaloStats, b: &HaloStats) -> HaloStats {
    HaloStats {
        exchanges: a.exchanges - b.exchanges,
        post: a.post - b.post,
        shadow: a.shadow - b.shadow,
        wait: a.wait - b.wait,
        bytes_sent: a.bytes_sent - b.bytes_sent,
    }
}

/// Collective: measures the memory bandwidth (triad and scale), sets the problem up and times
/// the steps of every halo mode.
fn run(comm: &Comm, args: &Args) -> Result<Report> {
    let mach = machine();
    let size = comm.size();
    let dims = parse_grid(&args.grid)?;

    let tr = stream(comm, args.triad_n, args.triad_reps, true);
    let sc = stream(comm, args.triad_n, args.triad_reps, false);
    let bound = tr.per_rank_gbs * 1e9 / BYTES_MIN;
    let bound24 = tr.per_rank_gbs * 1e9 / BYTES_WA;
    let scale_bound = sc.per_rank_gbs * 1e9 / BYTES_MIN;

    let (mut op, setup_seconds) = set_up(comm, args, &dims)?;
    let cells: u64 = dims.iter().map(|&n| n as u64).product();
    let owned = op.solution().len() as f64;
    let interior_sweep_fraction = comm.min_f64(op.interior_cells() as f64 / owned.max(1.0));
    let owned_cells_min = comm.min_f64(owned) as u64;
    let owned_cells_max = comm.max_f64(owned) as u64;
    let dt = 0.9 * op.stable_dt();

    let (times, phases) = measure(comm, args, &mut op, dt)?;
    if !op.solution().iter().all(|u| u.is_finite()) {
        eprintln!("heat_throughput: rank {}: solution is not finite", comm.rank());
    }
    let cells_per_rank = cells as f64 / size as f64;
    let modes = mode_results(&times, &phases, cells_per_rank, [bound, bound24, scale_bound]);
    let comparison = compare(&modes);
    Ok(Report {
        benchmark: "heat_throughput",
        ranks: size,
        grid: dims.clone(),
        cells,
        owned_cells_min,
        owned_cells_max,
        interior_sweep_fraction,
        steps_per_rep: args.steps,
        reps: args.reps,
        dt,
        setup_seconds,
        machine: mach,
        triad: tr,
        scale_bound_updates_per_second_per_rank: sc.per_rank_gbs * 1e9 / BYTES_MIN,
        scale: sc,
        bytes_per_update: BYTES_MIN,
        bytes_per_update_write_allocate: BYTES_WA,
        bound_updates_per_second_per_rank: bound,
        bound_updates_per_second_per_rank_24b: bound24,
        target_fraction_of_bound: 0.7,
        modes,
        comparison,
        target_overlap_slowdown_percent: 5.0,
    })
}

/// Collective: the FD heat operator on the structured grid `dims` (block partition, one ghost
/// layer), and the set-up seconds (maximum over ranks).
fn set_up(comm: &Comm, args: &Args, dims: &[usize]) -> Result<(FdHeat, f64)> {
    let t_setup = Instant::now();
    let mesh = comm.agree(Mesh::structured(dims, false))?;
    let grid = comm.agree(
        mesh.grid
            .clone()
            .ok_or_else(|| Error::input("the structured mesh carries no grid description")),
    )?;
    let data = comm.agree(HeatData::new(
        &mesh,
        args.kappa,
        Some(Exact::Mode),
        0.0,
        &BTreeMap::new(),
    ))?;
    let dual = mesh.cell_graph(Adjacency::Facet);
    let part = partition_collective(comm, &mesh, &dual, comm.size() as usize, &Method::Blocks(None))?;
    let lm = comm.agree(distribute(comm.rank() as usize, &mesh, &part, &dual, 1))?;
    drop((dual, part));
    let op = comm.agree(FdHeat::new(comm, &lm, &grid, &data))?;
    drop((lm, mesh));
    let setup_seconds = comm.max_f64(t_setup.elapsed().as_secs_f64());
    Ok((op, setup_seconds))
}

/// The halo modes measured, in the order of [`Report::modes`].
const MODES: [HaloMode; 3] = [HaloMode::Overlap, HaloMode::Blocking, HaloMode::Skip];

/// Seconds per step of each repetition, per mode.
type StepTimes = Vec<Vec<f64>>;
/// Per-step post / shadow / wait seconds and bytes sent of each repetition, per mode.
type StepPhases = Vec<Vec<[f64; 4]>>;

/// Collective: one warm-up step per mode, then `args.reps` repetitions of `args.steps` steps in
/// each mode, timed (maximum over ranks) with the halo phases of each.
fn measure(comm: &Comm, args: &Args, op: &mut FdHeat, dt: f64) -> Result<(StepTimes, StepPhases)> {
    let mut t = 0.0;
    for mode in MODES {
        op.set_halo_mode(mode);
        op.step(comm, t, dt)?;
        t += dt;
    }
    // Per mode: seconds per step, and per-step post / shadow / wait / bytes of each repetition.
    let mut times = vec![Vec::new(); 3];
    let mut phases = vec![Vec::new(); 3];
    for rep in 0..args.reps {
        // The starting mode rotates, so no mode always runs right after the same one.
        for k in (0..3).map(|i| (i + rep) % 3) {
            let mode = MODES[k];
            let before = op.halo.stats;
            op.set_halo_mode(mode);
            comm.barrier();
            let t0 = Instant::now();
            for _ in 0..args.steps {
                op.step(comm, t, dt)?;
                t += dt;
            }
            let local = t0.elapsed().as_secs_f64();
            let d = delta(&op.halo.stats, &before);
            let s = args.steps as f64;
            times[k].push(comm.max_f64(local) / s);
            phases[k].push([
                comm.max_f64(d.post) / s,
                comm.max_f64(d.shadow) / s,
                comm.max_f64(d.wait) / s,
                comm.sum_u64(d.bytes_sent) as f64 / s,
            ]);
        }
    }
    Ok((times, phases))
}

/// The medians of each mode's measurements, with the update rate as a fraction of the triad
/// (16 and 24 B per update) and scale bounds `[bound, bound24, scale_bound]`.
fn mode_results(times: &StepTimes, phases: &StepPhases, cells_per_rank: f64, bounds: [f64; 3]) -> Vec<ModeResult> {
    let [bound, bound24, scale_bound] = bounds;
    MODES
        .into_iter()
        .enumerate()
        .map(|(k, mode)| {
            let sps = median(&times[k]);
            let ups = cells_per_rank / sps;
            let ph = |i: usize| median(&phases[k].iter().map(|p| p[i]).collect::<Vec<_>>());
            ModeResult {
                mode,
                seconds_per_step: sps,
                seconds_per_step_all: times[k].clone(),
                updates_per_second_per_rank: ups,
                fraction_of_bound: ups / bound,
                fraction_of_bound_24b: ups / bound24,
                fraction_of_scale_bound: ups / scale_bound,
                post_per_step: ph(0),
                shadow_per_step: ph(1),
                wait_per_step: ph(2),
                bytes_sent_per_step: ph(3),
            }
        })
        .collect()
}

/// The modes against each other: the communication cost (blocking − skip), how much of it the
/// overlap hides, and the repetition noise.
fn compare(modes: &[ModeResult]) -> Comparison {
    let (to, tb, ts) = (
        modes[0].seconds_per_step,
        modes[1].seconds_per_step,
        modes[2].seconds_per_step,
    );
    let comm_cost = tb - ts;
    let noise = modes
        .iter()
        .map(|m| {
            let v = &m.seconds_per_step_all;
            let (lo, hi) = v.iter().fold((f64::MAX, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
            0.5 * (hi - lo)
        })
        .fold(0.0, f64::max);
    let exposed = to - ts;
    Comparison {
        comm_cost_per_step: comm_cost,
        exposed_with_overlap_per_step: exposed,
        hidden_fraction: (comm_cost > TINY).then(|| 1.0 - exposed / comm_cost),
        overlap_slowdown_percent: 100.0 * (to / ts - 1.0),
        blocking_slowdown_percent: 100.0 * (tb / ts - 1.0),
        noise_per_step: noise,
    }
}

/// The report in words: the setting, one line per mode and the comparison.
fn print_report(r: &Report) {
    print_setting(r);
    print_modes(r);
    print_comparison(r);
}

/// The run, the measured bandwidths and the bounds they give.
fn print_setting(r: &Report) {
    let grid = r.grid.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("x");
    println!(
        "heat_throughput: {} rank(s) on {} CPU(s) ({}), grid {grid} ({} cells, {}..{} owned per rank, \
         {:.1}% in the interior sweep), {} steps x {} reps, set-up {:.2} s",
        r.ranks,
        r.machine.nproc,
        r.machine.cpu_model.as_deref().unwrap_or("unknown CPU"),
        r.cells,
        r.owned_cells_min,
        r.owned_cells_max,
        100.0 * r.interior_sweep_fraction,
        r.steps_per_rep,
        r.reps,
        r.setup_seconds
    );
    for t in [&r.triad, &r.scale] {
        println!(
            "{} ({} doubles per array and rank, best of {}): {:.2} GB/s per rank, {:.2} GB/s aggregate \
             (median {:.2} / {:.2}); {:.2} GB/s per rank counting the write allocate",
            t.kernel,
            t.elements_per_rank,
            t.repetitions,
            t.per_rank_gbs,
            t.aggregate_gbs,
            t.per_rank_gbs_median,
            t.aggregate_gbs_median,
            t.per_rank_gbs_write_allocate
        );
    }
    println!(
        "bound: {:.3e} updates/s/rank at {} B/update of the triad bandwidth ({:.3e} at {} B; {:.3e} at {} B of \
         the scale bandwidth); target ≥ {:.0}% of the {} B triad bound",
        r.bound_updates_per_second_per_rank,
        r.bytes_per_update,
        r.bound_updates_per_second_per_rank_24b,
        r.bytes_per_update_write_allocate,
        r.scale_bound_updates_per_second_per_rank,
        r.bytes_per_update,
        100.0 * r.target_fraction_of_bound,
        r.bytes_per_update
    );
}

/// One line per halo mode.
fn print_modes(r: &Report) {
    println!(
        "{:<9} {:>9} {:>13} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8}",
        "mode",
        "ms/step",
        "updates/s/rk",
        "triad16",
        "triad24",
        "scale16",
        "post ms",
        "shadow ms",
        "wait ms",
        "KB/step"
    );
    for m in &r.modes {
        println!(
            "{:<9} {:>9.3} {:>13.3e} {:>7.1}% {:>7.1}% {:>7.1}% {:>9.4} {:>9.3} {:>9.4} {:>8.1}",
            mode_name(m.mode),
            1e3 * m.seconds_per_step,
            m.updates_per_second_per_rank,
            100.0 * m.fraction_of_bound,
            100.0 * m.fraction_of_bound_24b,
            100.0 * m.fraction_of_scale_bound,
            1e3 * m.post_per_step,
            1e3 * m.shadow_per_step,
            1e3 * m.wait_per_step,
            m.bytes_sent_per_step / 1e3
        );
    }
}

/// What the overlap hides of the communication cost.
fn print_comparison(r: &Report) {
    let c = &r.comparison;
    let hidden = c.hidden_fraction.map_or_else(
        || "n/a (no measurable comm cost)".to_string(),
        |h| format!("{:.1}%", 100.0 * h),
    );
    println!(
        "comm cost (blocking - skip) {:.4} ms/step, exposed with overlap (overlap - skip) {:.4} ms/step, \
         hidden fraction {hidden}{}",
        1e3 * c.comm_cost_per_step,
        1e3 * c.exposed_with_overlap_per_step,
        if c.comm_cost_per_step < c.noise_per_step {
            format!(
                " (comm cost below the repetition noise ±{:.4} ms/step)",
                1e3 * c.noise_per_step
            )
        } else {
            format!(" (repetition noise ±{:.4} ms/step)", 1e3 * c.noise_per_step)
        }
    );
    println!(
        "overlap slowdown vs skip {:+.2}% (target ≤ {:.0}%), blocking slowdown {:+.2}%",
        c.overlap_slowdown_percent, r.target_overlap_slowdown_percent, c.blocking_slowdown_percent
    );
}

fn main() -> ExitCode {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("heat_throughput: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Argument errors (and --help) are the same on every rank; only rank 0 prints them.
    let args = match <Args as clap::Parser>::try_parse() {
        Ok(a) => a,
        Err(e) => {
            if comm.is_root() {
                let _ = e.print();
            }
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let report = match run(&comm, &args) {
        Ok(r) => r,
        Err(e) => {
            if comm.is_root() {
                eprintln!("heat_throughput: error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    if comm.is_root() {
        print_report(&report);
        if let Some(path) = &args.json {
            let written = serde_json::to_string_pretty(&report)
                .map_err(|e| e.to_string())
                .and_then(|s| std::fs::write(path, s + "\n").map_err(|e| e.to_string()));
            if let Err(e) = written {
                eprintln!("heat_throughput: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

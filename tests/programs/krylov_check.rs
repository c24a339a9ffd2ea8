//! Multi-rank check of the Krylov solvers, run under `mpirun` by `tests/krylov.rs`: on a 2D
//! Laplacian (SPD) and an upwind convection–diffusion operator (nonsymmetric), assembled with
//! contributions to rows owned by other ranks, every method must reach a true residual
//! `‖b − A x‖/‖b‖ ≤ 1.01·rtol` recomputed here, agree with a dense direct solve on a small grid,
//! and stop for the right reason on bad input. Prints one line per solve,
//! `krylov_check: NAME iterations N residual R checksum C` (C = Σ x_i w_i with fixed weights, to
//! compare rank counts), then `krylov_check: OK` or `krylov_check: FAIL reason` (exit 1).

use ddkit::comm::Comm;
use ddkit::krylov::{self, SolveStats, SolverOptions, StopReason};
use ddkit::linalg::{DistMatrix, DistVector, Identity, Jacobi, LinearOperator, Preconditioner};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Grid size of the main problems (n×n unknowns).
const N: usize = 40;
/// Convection velocity of the nonsymmetric problem: −Δu + VEL ∂u/∂x.
const VEL: f64 = 10.0;
/// Relative tolerance of the main solves.
const RTOL: f64 = 1e-8;

/// A reproducible pseudo-random value in [−0.5, 0.5) per (index, salt) (SplitMix64 finalizer).
fn hash(id: u64, salt: u64) -> f64 {
    let mut z = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64 - 0.5
}

/// This rank's contiguous block `[lo, hi)` of `n` rows.
fn block(comm: &Comm, n: usize) -> (u64, u64) {
    let (size, rank) = (comm.size() as usize, comm.rank() as usize);
    let lo = rank * (n / size) + rank.min(n % size);
    let hi = lo + n / size + usize::from(rank < n % size);
    (lo as u64, hi as u64)
}

/// Diffusion coefficient at node `g`, in [1, 10): a rough coefficient so that Jacobi is not a
/// multiple of the identity.
fn kappa(g: u64) -> f64 {
    1.0 + 9.0 * (hash(g, 2) + 0.5)
}

/// Triplets of `h²(−∇·κ∇ + vel ∂x)` (5-point stencil, edge coefficient the mean of its nodes',
/// upwind convection, Dirichlet boundary) on an n×n grid for the nodes `lo..hi`, assembled edge
/// by edge: each edge belongs to its lower-numbered node, so its contributions to the other
/// node's row (east and north) go to another rank at block boundaries and exercise the stash.
fn grid_triplets(n: usize, vel: f64, lo: u64, hi: u64) -> Vec<(u64, u64, f64)> {
    let c = vel / (n as f64 + 1.0); // vel·h after scaling by h²
    let n64 = n as u64;
    let mut t = Vec::new();
    for g in lo..hi {
        let (i, j) = (g % n64, g / n64);
        // Dirichlet neighbours outside the grid add to the diagonal only.
        let missing = [i == 0, i == n64 - 1, j == 0, j == n64 - 1]
            .iter()
            .filter(|&&m| m)
            .count();
        t.push((g, g, missing as f64 * kappa(g) + if i == 0 { c } else { 0.0 }));
        let mut edge = |q: u64| {
            let k = 0.5 * (kappa(g) + kappa(q));
            t.extend([(g, g, k), (q, q, k), (g, q, -k), (q, g, -k)]);
        };
        if i + 1 < n64 {
            edge(g + 1); // east edge
        }
        if j + 1 < n64 {
            edge(g + n64); // north edge
        }
        if i + 1 < n64 && c != 0.0 {
            let e = g + 1; // upwind convection c(u_e − u_g) in row e
            t.extend([(e, e, c), (e, g, -c)]);
        }
    }
    t
}

/// Collective: the distributed grid operator, its right-hand side and the checksum weights.
fn problem(comm: &Comm, n: usize, vel: f64) -> Result<(DistMatrix, DistVector), String> {
    let (lo, hi) = block(comm, n * n);
    let a =
        DistMatrix::assemble(comm, (hi - lo) as usize, &grid_triplets(n, vel, lo, hi)).map_err(|e| e.to_string())?;
    let b: Vec<f64> = (lo..hi).map(|g| hash(g, 1)).collect();
    let b = DistVector::from_owned(a.layout(), &b);
    Ok((a, b))
}

/// Collective: Σ x_i w_i with weights fixed by the global index.
fn checksum(comm: &Comm, a: &DistMatrix, x: &DistVector) -> f64 {
    let off = a.layout().offset;
    comm.sum_f64(
        x.owned()
            .iter()
            .enumerate()
            .map(|(i, v)| v * hash(off + i as u64, 7))
            .sum(),
    )
}

/// Collective: `‖b − A x‖ / ‖b‖` recomputed with the matrix product.
fn true_residual(comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> f64 {
    let mut r = DistVector::zeros(a.layout());
    a.spmv(comm, x, &mut r);
    r.aypx(-1.0, b); // r = b − A x
    r.norm2(comm) / b.norm2(comm)
}

/// A Krylov method of `ddkit::krylov`.
type Method = fn(
    &Comm,
    &dyn LinearOperator,
    &mut dyn Preconditioner,
    &DistVector,
    &mut DistVector,
    &SolverOptions,
) -> ddkit::Result<SolveStats>;

/// Collective: solves from `x0` (zero if `None`), checks convergence and the true residual,
/// prints the result line; returns the solution and the statistics.
#[allow(clippy::too_many_arguments)]
fn solve(
    comm: &Comm,
    name: &str,
    method: Method,
    a: &DistMatrix,
    m: &mut dyn Preconditioner,
    b: &DistVector,
    x0: Option<&DistVector>,
    opts: &SolverOptions,
) -> Result<(DistVector, SolveStats), String> {
    let mut x = DistVector::zeros(a.layout());
    if let Some(x0) = x0 {
        x.copy_from(x0);
    }
    let stats = method(comm, a, m, b, &mut x, opts).map_err(|e| format!("{name}: {e}"))?;
    let res = true_residual(comm, a, b, &mut x);
    let sum = checksum(comm, a, &x);
    if comm.is_root() {
        let it = stats.iterations;
        print!("krylov_check: {name} iterations {it} residual {res:.3e} checksum {sum:.12e}");
        let (reason, rel, secs) = (&stats.reason, stats.relative_residual, stats.solve_seconds);
        println!(" ({reason:?}, reported {rel:.3e}, {secs:.3} s)");
    }
    if !stats.converged() {
        return Err(format!(
            "{name}: stopped with {:?} after {} iterations",
            stats.reason, stats.iterations
        ));
    }
    if res.is_nan() || res > 1.01 * opts.rtol || stats.relative_residual > opts.rtol {
        return Err(format!(
            "{name}: true residual {res:e} (reported {:e}) above rtol {:e}",
            stats.relative_residual, opts.rtol
        ));
    }
    Ok((x, stats))
}

/// A preconditioner that is not symmetric: `z_i = r_i + r_{i−1}/2` on owned entries.
struct Lopsided;

impl Preconditioner for Lopsided {
    fn apply(&mut self, _comm: &Comm, r: &DistVector, z: &mut DistVector) {
        let (r, z) = (r.owned(), z.owned_mut());
        for i in 0..r.len() {
            z[i] = r[i] + if i > 0 { 0.5 * r[i - 1] } else { 0.0 };
        }
    }
    fn is_symmetric(&self) -> bool {
        false
    }
    fn name(&self) -> String {
        "lopsided-test".into()
    }
}

/// Jacobi with entrywise factors in [0.75, 1.25) that change at every application: a
/// preconditioner only a flexible method can use.
struct Wobbly {
    inv_diag: Vec<f64>,
    offset: u64,
    calls: u64,
}

impl Preconditioner for Wobbly {
    fn apply(&mut self, _comm: &Comm, r: &DistVector, z: &mut DistVector) {
        self.calls += 1;
        let z = z.owned_mut().iter_mut().zip(r.owned()).zip(&self.inv_diag);
        for (i, ((zi, ri), di)) in z.enumerate() {
            *zi = (1.0 + 0.5 * hash(self.offset + i as u64, 100 + self.calls)) * ri * di;
        }
    }
    fn is_symmetric(&self) -> bool {
        false
    }
    fn name(&self) -> String {
        "wobbly-jacobi".into()
    }
}

/// Dense `A x = b` by Gaussian elimination with partial pivoting (`a` row-major n×n).
fn dense_solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Result<Vec<f64>, String> {
    let n = b.len();
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| a[i * n + k].abs().total_cmp(&a[j * n + k].abs()))
            .unwrap_or(k);
        if a[p * n + k] == 0.0 {
            return Err("dense reference: singular matrix".into());
        }
        for c in 0..n {
            a.swap(k * n + c, p * n + c);
        }
        b.swap(k, p);
        for i in k + 1..n {
            let l = a[i * n + k] / a[k * n + k];
            for c in k..n {
                a[i * n + c] -= l * a[k * n + c];
            }
            b[i] -= l * b[k];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|c| a[i * n + c] * x[c]).sum();
        x[i] = (b[i] - s) / a[i * n + i];
    }
    Ok(x)
}

/// Collective: every method on a small grid against a dense direct solve of the same system,
/// which every rank builds redundantly from all rows' triplets.
fn direct_comparison(comm: &Comm) -> Result<(), String> {
    let n = 6;
    let opts = SolverOptions {
        rtol: 1e-10,
        ..SolverOptions::default()
    };
    for (vel, methods) in [
        (0.0, vec![("cg", krylov::cg as Method), ("gmres", krylov::gmres)]),
        (
            VEL,
            vec![
                ("gmres", krylov::gmres as Method),
                ("fgmres", krylov::fgmres),
                ("bicgstab", krylov::bicgstab),
            ],
        ),
    ] {
        let nn = n * n;
        let mut dense = vec![0.0; nn * nn];
        for (r, c, v) in grid_triplets(n, vel, 0, nn as u64) {
            dense[r as usize * nn + c as usize] += v;
        }
        let x_direct = dense_solve(dense, (0..nn as u64).map(|g| hash(g, 1)).collect())?;
        let scale = x_direct.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (a, b) = problem(comm, n, vel)?;
        for (mname, method) in methods {
            let name = format!("direct-{mname}-jacobi-{}", if vel == 0.0 { "spd" } else { "nonsym" });
            let mut jac = Jacobi::new(&a);
            let (x, _) = solve(comm, &name, method, &a, &mut jac, &b, None, &opts)?;
            let off = a.layout().offset as usize;
            let err = x
                .owned()
                .iter()
                .enumerate()
                .fold(0.0f64, |m, (i, v)| m.max((v - x_direct[off + i]).abs()));
            let err = comm.max_f64(err);
            if err.is_nan() || err > 1e-6 * scale {
                return Err(format!("{name}: max |x − x_direct| = {err:e} > 1e-6 · {scale:e}"));
            }
        }
    }
    Ok(())
}

/// Collective: the bad-input and early-stop cases.
fn refusals(comm: &Comm, lap: &DistMatrix, cd: &DistMatrix, b_cd: &DistVector) -> Result<(), String> {
    let b_lap = DistVector::from_owned(lap.layout(), &vec![1.0; lap.layout().n_owned]);
    let mut x = DistVector::zeros(lap.layout());
    let opts = SolverOptions::default();
    // CG with a non-symmetric preconditioner or operator must refuse, naming the culprit.
    match krylov::cg(comm, lap, &mut Lopsided, &b_lap, &mut x, &opts) {
        Err(ddkit::Error::Config(msg)) if msg.contains("lopsided-test") && msg.contains("not symmetric") => {}
        other => return Err(format!("CG with a non-symmetric preconditioner: {other:?}")),
    }
    let mut xc = DistVector::zeros(cd.layout());
    match krylov::cg(comm, cd, &mut Identity, b_cd, &mut xc, &opts) {
        Err(ddkit::Error::Config(msg)) if msg.contains("operator declares itself non-symmetric") => {}
        other => return Err(format!("CG with a non-symmetric operator: {other:?}")),
    }
    let methods: [(&str, Method); 4] = [
        ("cg", krylov::cg),
        ("gmres", krylov::gmres),
        ("fgmres", krylov::fgmres),
        ("bicgstab", krylov::bicgstab),
    ];
    for (name, method) in methods {
        // Zero iterations is a configuration error.
        let zero = SolverOptions {
            max_iter: 0,
            ..opts.clone()
        };
        match method(comm, lap, &mut Identity, &b_lap, &mut x, &zero) {
            Err(ddkit::Error::Config(msg)) if msg.contains("zero iterations") => {}
            other => return Err(format!("{name} with max-iter 0: {other:?}")),
        }
        // Too few iterations: stops at the cap, not converged, residual still large.
        let few = SolverOptions {
            max_iter: 5,
            ..opts.clone()
        };
        x.fill(0.0);
        let s = method(comm, lap, &mut Identity, &b_lap, &mut x, &few).map_err(|e| e.to_string())?;
        let res = true_residual(comm, lap, &b_lap, &mut x);
        if s.reason != StopReason::MaxIterations || s.iterations != 5 || s.converged() || res < 1e-3 {
            return Err(format!(
                "{name} with max-iter 5: {:?} after {} iterations, residual {res:e}",
                s.reason, s.iterations
            ));
        }
        // A zero right-hand side gives x = 0 in zero iterations whatever the initial guess.
        let zero_b = DistVector::zeros(lap.layout());
        for (i, v) in x.owned_mut().iter_mut().enumerate() {
            *v = hash(i as u64, 5);
        }
        let s = method(comm, lap, &mut Identity, &zero_b, &mut x, &opts).map_err(|e| e.to_string())?;
        let xmax = comm.max_f64(x.owned().iter().fold(0.0f64, |m, v| m.max(v.abs())));
        if !s.converged() || s.iterations != 0 || xmax != 0.0 {
            return Err(format!(
                "{name} with b = 0: {:?} after {} iterations, max |x| = {xmax:e}",
                s.reason, s.iterations
            ));
        }
    }
    Ok(())
}

/// One of the main problems: its operator, right-hand side and Jacobi preconditioner.
struct Case {
    a: DistMatrix,
    b: DistVector,
    jac: Jacobi,
}

impl Case {
    /// Collective: [`solve`] of this case's system preconditioned by its Jacobi.
    fn jacobi(
        &mut self,
        comm: &Comm,
        name: &str,
        method: Method,
        x0: Option<&DistVector>,
        opts: &SolverOptions,
    ) -> Result<(DistVector, SolveStats), String> {
        solve(comm, name, method, &self.a, &mut self.jac, &self.b, x0, opts)
    }
}

/// Collective: all checks; `Err` carries the first failure (the same on every rank, since every
/// decision is taken on globally reduced values).
fn run(comm: &Comm) -> Result<(), String> {
    let opts = SolverOptions {
        rtol: RTOL,
        ..SolverOptions::default()
    };
    let (lap, b_lap) = problem(comm, N, 0.0)?;
    let (cd, b_cd) = problem(comm, N, VEL)?;
    // Symmetry is declared per rank (from the owned block): reduce so every rank decides alike.
    let sym = |a: &DistMatrix| comm.min_f64(if a.is_symmetric() { 1.0 } else { 0.0 }) == 1.0;
    if !sym(&lap) || sym(&cd) {
        return Err("assembled operators have the wrong symmetry".into());
    }
    let mut lap = Case {
        jac: Jacobi::new(&lap),
        a: lap,
        b: b_lap,
    };
    let mut cd = Case {
        jac: Jacobi::new(&cd),
        a: cd,
        b: b_cd,
    };
    spd_solves(comm, &mut lap, &opts)?;
    nonsymmetric_solves(comm, &mut cd, &opts)?;
    bicgstab_solves(comm, &mut lap, &mut cd, &opts)?;
    initial_guess_solves(comm, &mut lap, &mut cd, &opts)?;
    workspaces_are_kept(comm, &lap.a, &mut lap.jac, &lap.b, &cd.a, &mut cd.jac, &cd.b, &opts)?;
    null_space_from_vectors(comm)?;
    direct_comparison(comm)?;
    refusals(comm, &lap.a, &cd.a, &cd.b)
}

/// Collective: CG without and with Jacobi, and GMRES, on the SPD Laplacian; GMRES's residual
/// history must be complete and never increase.
fn spd_solves(comm: &Comm, lap: &mut Case, opts: &SolverOptions) -> Result<(), String> {
    solve(comm, "cg-none", krylov::cg, &lap.a, &mut Identity, &lap.b, None, opts)?;
    lap.jacobi(comm, "cg-jacobi", krylov::cg, None, opts)?;
    let hist = SolverOptions {
        record_history: true,
        ..opts.clone()
    };
    let (_, s) = lap.jacobi(comm, "gmres-jacobi-spd", krylov::gmres, None, &hist)?;
    // GMRES minimizes the residual: its history never increases (up to rounding).
    if s.history.len() != s.iterations + 1
        || s.history[0] != s.initial_residual
        || s.history.last() != Some(&s.final_residual)
        || s.history.windows(2).any(|w| w[1] > w[0] * (1.0 + 1e-8))
    {
        return Err(format!("gmres-jacobi-spd: inconsistent history {:?}", &s.history));
    }
    Ok(())
}

/// Collective: GMRES and FGMRES on the convection–diffusion operator, with Jacobi and with a
/// preconditioner that changes at every application, which FGMRES must handle better.
fn nonsymmetric_solves(comm: &Comm, cd: &mut Case, opts: &SolverOptions) -> Result<(), String> {
    cd.jacobi(comm, "gmres-jacobi", krylov::gmres, None, opts)?;
    cd.jacobi(comm, "fgmres-jacobi", krylov::fgmres, None, opts)?;
    let mut wobbly = Wobbly {
        inv_diag: cd.a.diagonal().iter().map(|d| 1.0 / d).collect(),
        offset: cd.a.layout().offset,
        calls: 0,
    };
    let (a, b) = (&cd.a, &cd.b);
    let (_, flex) = solve(comm, "fgmres-wobbly", krylov::fgmres, a, &mut wobbly, b, None, opts)?;
    // Plain GMRES still converges with it (each cycle ends on the true residual) but wastes its
    // cycles: x += M⁻¹V y applies the last M⁻¹ to directions built with the others.
    let (_, plain) = solve(comm, "gmres-wobbly", krylov::gmres, a, &mut wobbly, b, None, opts)?;
    if flex.iterations >= plain.iterations {
        return Err(format!(
            "fgmres-wobbly took {} iterations, plain GMRES with the same changing preconditioner {}",
            flex.iterations, plain.iterations
        ));
    }
    Ok(())
}

/// Collective: BiCGStab with Jacobi on both operators, and a tight solve of the nonsymmetric one.
fn bicgstab_solves(comm: &Comm, lap: &mut Case, cd: &mut Case, opts: &SolverOptions) -> Result<(), String> {
    cd.jacobi(comm, "bicgstab-jacobi", krylov::bicgstab, None, opts)?;
    lap.jacobi(comm, "bicgstab-jacobi-spd", krylov::bicgstab, None, opts)?;
    // BiCGStab's iterates depend on rounding far more than CG's or GMRES's, so its solution at
    // rtol 1e-8 varies with the rank count at the 1e-6 level; a tight solve pins it down.
    let tight = SolverOptions {
        rtol: 1e-12,
        ..opts.clone()
    };
    cd.jacobi(comm, "bicgstab-jacobi-tight", krylov::bicgstab, None, &tight)?;
    Ok(())
}

/// Collective: a nonzero initial guess gives the same solution, the tolerance still relative to
/// ‖b‖.
fn initial_guess_solves(comm: &Comm, lap: &mut Case, cd: &mut Case, opts: &SolverOptions) -> Result<(), String> {
    let guess = |a: &DistMatrix| {
        let off = a.layout().offset;
        let x0: Vec<f64> = (0..a.layout().n_owned).map(|i| hash(off + i as u64, 11)).collect();
        DistVector::from_owned(a.layout(), &x0)
    };
    let x0 = guess(&lap.a);
    lap.jacobi(comm, "cg-jacobi-x0", krylov::cg, Some(&x0), opts)?;
    let x0 = guess(&cd.a);
    cd.jacobi(comm, "gmres-jacobi-x0", krylov::gmres, Some(&x0), opts)?;
    cd.jacobi(comm, "bicgstab-jacobi-x0", krylov::bicgstab, Some(&x0), opts)?;
    Ok(())
}

/// Collective: a singular operator (the graph Laplacian of the grid: Neumann everywhere) with
/// its null space given as vectors, as an embedding code would: the solver layer solves a
/// compatible system to its tolerance with a solution orthogonal to the null space, refuses an
/// incompatible right-hand side, and linearly dependent null-space vectors are refused.
fn null_space_from_vectors(comm: &Comm) -> Result<(), String> {
    use ddkit::linalg::NullSpace;
    use ddkit::solver::{SolverConfig, SolverInputs};
    let (lo, hi) = block(comm, N * N);
    let n64 = N as u64;
    let mut t = Vec::new();
    for g in lo..hi {
        let (i, j) = (g % n64, g / n64);
        for (ok, q) in [
            (i > 0, g.wrapping_sub(1)),
            (i + 1 < n64, g + 1),
            (j > 0, g.wrapping_sub(n64)),
            (j + 1 < n64, g + n64),
        ] {
            if ok {
                let k = 0.5 * (kappa(g) + kappa(q));
                t.extend([(g, g, k), (g, q, -k)]);
            }
        }
    }
    let a = DistMatrix::assemble(comm, (hi - lo) as usize, &t).map_err(|e| e.to_string())?;
    let n_owned = a.layout().n_owned;
    let ones = vec![1.0; n_owned];
    let twice = vec![2.0; n_owned];
    if NullSpace::from_vectors(comm, a.layout(), &[ones.clone(), twice]).is_ok() {
        return Err("dependent null-space vectors were accepted".into());
    }
    let ns = NullSpace::from_vectors(comm, a.layout(), &[ones]).map_err(|e| e.to_string())?;
    let cfg = SolverConfig::load("cg-jacobi").map_err(|e| e.to_string())?;
    let inputs = SolverInputs {
        null_space: Some(&ns),
        ..SolverInputs::default()
    };
    let mut solver = cfg.build(comm, &a, &inputs).map_err(|e| e.to_string())?;
    // A compatible right-hand side: pseudo-random with its mean removed, plus a rounding-level
    // constant part (removed by the solver).
    let mut b = DistVector::from_owned(a.layout(), &(lo..hi).map(|g| hash(g, 5)).collect::<Vec<_>>());
    let mean = comm.sum_f64(b.owned().iter().sum()) / (N * N) as f64;
    b.owned_mut().iter_mut().for_each(|v| *v -= mean - 1e-9);
    let mut x = DistVector::zeros(a.layout());
    let s = solver.solve(comm, &a, &b, &mut x).map_err(|e| e.to_string())?;
    let sum = comm.sum_f64(x.owned().iter().sum());
    let mut b_range = b.clone();
    b_range.owned_mut().iter_mut().for_each(|v| *v -= 1e-9);
    let res = true_residual(comm, &a, &b_range, &mut x);
    let xn = x.norm2(comm);
    if !s.converged() || res > 1e-7 || sum.abs() > 1e-10 * xn * (N as f64) {
        return Err(format!(
            "singular solve: {:?} after {} iterations, residual {res:e}, sum of x {sum:e}",
            s.reason, s.iterations
        ));
    }
    b.owned_mut().iter_mut().for_each(|v| *v += 1.0);
    match solver.solve(comm, &a, &b, &mut x) {
        Err(e) if e.to_string().contains("not compatible") => Ok(()),
        other => Err(format!("an incompatible right-hand side gave {other:?}")),
    }
}

/// Counts heap allocations, to check that a Krylov solver kept between solves allocates nothing
/// in its second solve.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator, only counting them.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Collective: each method kept as a struct solves twice from a zero guess; the second solve
/// gives the same iterations and, on one rank (where no halo messages are posted, whose request
/// lists rsmpi allocates), allocates nothing at all: the workspace is reused.
#[allow(clippy::too_many_arguments)]
fn workspaces_are_kept(
    comm: &Comm,
    lap: &DistMatrix,
    jac_lap: &mut Jacobi,
    b_lap: &DistVector,
    cd: &DistMatrix,
    jac_cd: &mut Jacobi,
    b_cd: &DistVector,
    opts: &SolverOptions,
) -> Result<(), String> {
    let (mut cg, mut gm, mut fgm, mut bi) = (
        krylov::Cg::default(),
        krylov::Gmres::new(false),
        krylov::Gmres::new(true),
        krylov::Bicgstab::default(),
    );
    let mut counts = Vec::new();
    for name in ["cg", "gmres", "fgmres", "bicgstab"] {
        let mut runs = Vec::new();
        for _ in 0..2 {
            let (a, b) = if name == "cg" { (lap, b_lap) } else { (cd, b_cd) };
            let mut x = DistVector::zeros(a.layout());
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let s = match name {
                "cg" => cg.solve(comm, a, jac_lap, b, &mut x, opts),
                "gmres" => gm.solve(comm, a, jac_cd, b, &mut x, opts),
                "fgmres" => fgm.solve(comm, a, jac_cd, b, &mut x, opts),
                _ => bi.solve(comm, a, jac_cd, b, &mut x, opts),
            }
            .map_err(|e| e.to_string())?;
            runs.push((s.iterations, ALLOCATIONS.load(Ordering::Relaxed) - before));
        }
        if runs[0].0 != runs[1].0 || runs[1].1 >= runs[0].1 {
            return Err(format!(
                "{name} kept between solves: (iterations, allocations) {runs:?}"
            ));
        }
        if comm.size() == 1 && runs[1].1 != 0 {
            return Err(format!("{name}: the second solve allocated {} times", runs[1].1));
        }
        counts.push(format!("{name} {}/{}", runs[0].1, runs[1].1));
    }
    if comm.is_root() {
        println!("krylov_check: allocations first/second solve: {}", counts.join(", "));
    }
    Ok(())
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("krylov_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    let code = match run(&comm) {
        Ok(()) => {
            if comm.is_root() {
                println!("krylov_check: OK on {} ranks", comm.size());
            }
            0
        }
        Err(e) => {
            if comm.is_root() {
                println!("krylov_check: FAIL {e}");
            }
            1
        }
    };
    drop(comm);
    std::process::exit(code);
}

//! Embedding ddkit's solvers in another code: this program owns its data — a 2D anisotropic
//! diffusion operator on its own `n × n` grid, rows split in contiguous slabs over the ranks —
//! assembles it into a [`DistMatrix`] through the library API (each rank also contributes to
//! rows it does not own, as finite-element codes do), builds the same solver a preset describes
//! (here in code, with the key paths of `solvers/cg-asm.toml`), and solves.
//!
//! ```text
//! cargo build --release --examples
//! mpirun -np 2 target/release/examples/embed_schwarz [N] [SUBDOMAINS_PER_RANK]
//! ```

use ddkit::comm::Comm;
use ddkit::linalg::{DistMatrix, DistVector};
use ddkit::solver::{SolverConfig, SolverInputs};
use ddkit::Result;
use std::process::ExitCode;

fn run(comm: &Comm) -> Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let per_rank: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(4);
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    // This code's own decomposition: grid rows j in [j0, j1) belong to this rank.
    let (j0, j1) = (n * rank / size, n * (rank + 1) / size);
    let id = |i: u64, j: u64| i + n * j;
    let (ax, ay) = (1.0, 0.01); // anisotropic coefficients
    let mut triplets = Vec::new();
    // Edge contributions, as an element loop would make them: the edge (p, q) adds to rows p and
    // q, and q may live on the next rank — the matrix assembly sends it there.
    for j in j0..j1 {
        for i in 0..n {
            let p = id(i, j);
            triplets.push((p, p, 1e-3)); // a small reaction term keeps every row nonsingular
            for (q, a) in [
                (i + 1 < n).then(|| id(i + 1, j)).map(|q| (q, ax)),
                (j + 1 < n).then(|| id(i, j + 1)).map(|q| (q, ay)),
            ]
            .into_iter()
            .flatten()
            {
                triplets.extend_from_slice(&[(p, p, a), (q, q, a), (p, q, -a), (q, p, -a)]);
            }
        }
        // Dirichlet-like boundary: stronger diagonal on the outer grid lines.
        for i in [0, n - 1] {
            triplets.push((id(i, j), id(i, j), ax));
        }
        if j == 0 || j == n - 1 {
            for i in 0..n {
                triplets.push((id(i, j), id(i, j), ay));
            }
        }
    }
    let n_owned = ((j1 - j0) * n) as usize;
    let a = DistMatrix::assemble(comm, n_owned, &triplets)?;
    // The keys of solvers/cg-asm.toml, set in code by the paths of the presets and of
    // `--set solver.pc.overlap=1` (the typed fields, `cfg.pc.overlap = 1`, reach the same tree).
    let cfg = SolverConfig::default()
        .set("krylov.method", "cg")?
        .set("pc.type", "asm")?
        .set("pc.overlap", 1)?
        .set("pc.subdomains-per-rank", per_rank)?
        .set("pc.local.solver", "cholesky")?;
    // The solver layer: set up once for `a`; `update` would take new values of the same pattern.
    let mut solver = cfg.build(comm, &a, &SolverInputs::default())?;
    let b = DistVector::from_owned(a.layout(), &vec![1.0; n_owned]);
    let mut x = DistVector::zeros(a.layout());
    let stats = solver.solve(comm, &a, &b, &mut x)?.ensure_converged()?;
    let rel = ddkit::problems::poisson::relative_residual(comm, &a, &b, &mut x);
    if comm.is_root() {
        println!(
            "embed_schwarz: {} unknowns on {size} ranks, {}: {:?} in {} iterations, relative residual {rel:.3e}",
            a.n_global(),
            solver.name(),
            stats.reason,
            stats.iterations
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("embed_schwarz: {e}");
            return ExitCode::FAILURE;
        }
    };
    ddkit::linalg::init_sequential();
    match run(&comm) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if comm.is_root() {
                eprintln!("embed_schwarz: error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

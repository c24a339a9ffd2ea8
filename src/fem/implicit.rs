//! Implicit P1 or P2 heat steps with the θ-scheme and a lumped (P1) or consistent mass `M`:
//! `(M + θ dt K) uⁿ⁺¹ = (M − (1−θ) dt K) uⁿ + dt (θ Fⁿ⁺¹ + (1−θ) Fⁿ)` on free points, with the
//! Dirichlet values `T(tⁿ⁺¹) S` eliminated symmetrically (their columns move to the right-hand
//! side as `T(tⁿ⁺¹)·lift`). The explicit part `B = M − (1−θ) dt K` is assembled without
//! elimination, since `uⁿ` carries the Dirichlet values. Matrices and preconditioner are built
//! once for the fixed step.

use super::assemble::{assemble, FemLoads, FemSystem, MassKind, Terms};
use crate::comm::{Comm, HaloMode, HaloStats};
use crate::error::Result;
use crate::linalg::{DistMatrix, DistVector};
use crate::mesh::Mesh;
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData, HeatStepper};
use crate::solver::{LinearSolver, SolverConfig, SolverInputs};

/// The implicit P1 / P2 heat stepper on one rank.
pub struct FemImplicitHeat {
    theta: f64,
    sys: FemSystem,
    /// `B = M − (1−θ) dt K` without elimination.
    b_full: DistMatrix,
    solver: Box<dyn LinearSolver>,
    u: DistVector,
    /// `uⁿ` on `B`'s layout, and `B uⁿ`.
    ub: DistVector,
    bu: DistVector,
    rhs: DistVector,
    data: HeatData,
}

impl FemImplicitHeat {
    /// Collective: assembles `M + θ dt K` and `M − (1−θ) dt K` and builds the preconditioner.
    #[allow(clippy::too_many_arguments)] // the θ-scheme's parameters, each needed at set-up
    pub fn new(
        comm: &Comm,
        mesh: &Mesh,
        lm: &LocalMesh,
        data: &HeatData,
        theta: f64,
        dt: f64,
        mass_kind: MassKind,
        solver: &SolverConfig,
    ) -> Result<FemImplicitHeat> {
        let terms = |stiff, eliminate| Terms {
            mass: 1.0,
            mass_kind,
            stiff,
            eliminate,
        };
        let sys = assemble(comm, mesh, lm, data, terms(theta * dt, true))?;
        let b_full = assemble(comm, mesh, lm, data, terms(-(1.0 - theta) * dt, false))?.a;
        let step_solver = solver.build(comm, &sys.a, &SolverInputs::default())?;
        let init: Vec<f64> = sys.points[..sys.dirichlet.len()]
            .iter()
            .map(|x| data.exact_value(x, 0.0))
            .collect();
        let u = DistVector::from_owned(sys.a.layout(), &init);
        // B u needs u on B's own layout (same owned rows, its own ghosts).
        let (ub, bu) = (DistVector::zeros(b_full.layout()), DistVector::zeros(b_full.layout()));
        Ok(FemImplicitHeat {
            theta,
            rhs: DistVector::zeros(sys.a.layout()),
            ub,
            bu,
            u,
            b_full,
            solver: step_solver,
            sys,
            data: data.clone(),
        })
    }
}

impl HeatStepper for FemImplicitHeat {
    fn stable_dt(&self) -> f64 {
        f64::INFINITY
    }

    fn step(&mut self, comm: &Comm, t: f64, dt: f64, _mode: HaloMode) -> Result<()> {
        let th = self.theta;
        let d = &self.data;
        self.ub.copy_from(&self.u);
        self.b_full.spmv(comm, &mut self.ub, &mut self.bu); // (M − (1−θ) dt K) uⁿ
        let (t0, t1) = (d.time_factor(t), d.time_factor(t + dt));
        let (s0, s1) = (d.source_time(t), d.source_time(t + dt));
        let FemLoads {
            lift,
            shape,
            mass,
            neumann,
            dirichlet_shape,
        } = &self.sys.loads; // `mass` is ∫ φ_i, the same for lumped and consistent
        let load = |i: usize, tf: f64, sf: f64| sf * shape[i] + d.constant_source * mass[i] + tf * neumann[i];
        for i in 0..self.sys.dirichlet.len() {
            self.rhs.data[i] = if self.sys.dirichlet[i] {
                t1 * dirichlet_shape[i]
            } else {
                self.bu.data[i] + dt * (th * load(i, t1, s1) + (1.0 - th) * load(i, t0, s0)) + t1 * lift[i]
            };
        }
        self.solver
            .solve(comm, &self.sys.a, &self.rhs, &mut self.u)?
            .ensure_converged()
            .map(|_| ())
    }

    fn solution(&self) -> &[f64] {
        self.u.owned()
    }

    fn errors(&mut self, comm: &Comm, t: f64) -> ErrorNorms {
        self.sys.errors(comm, &self.u, &self.data, t).0
    }

    fn halo_stats(&self) -> HaloStats {
        self.sys.a.halo_stats()
    }

    fn compute_time(&self) -> f64 {
        self.solver.timings().solve
    }

    fn linear_iterations(&self) -> u64 {
        self.solver.timings().iterations
    }
}

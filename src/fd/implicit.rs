//! Implicit FD heat steps with the θ-scheme (θ = 1 backward Euler, θ = ½ Crank–Nicolson):
//! `(I + θ dt K) uⁿ⁺¹ = (I − (1−θ) dt K) uⁿ + dt (θ bⁿ⁺¹ + (1−θ) bⁿ)`, with `K` the FD `-κΔ` and
//! `b(t)` its boundary data and source. The matrix and the solver are set up once; a new dt
//! refills the matrix's values from `I` and `K` on the same pattern and updates the solver
//! numerically. Each solve starts from the previous solution.

use super::assemble_fd;
use super::stencil::{cell_ijk, centre};
use crate::comm::{Comm, HaloStats};
use crate::error::Result;
use crate::io::FieldSpec;
use crate::linalg::{DistMatrix, DistVector};
use crate::mesh::GridInfo;
use crate::partition::LocalMesh;
use crate::pde::{ErrorNorms, HeatData, HEAT_FIELD};
use crate::solver::{LinearSolver, SolverConfig, SolverInputs, SolverTimings};
use crate::time::{restore_field, AffineValues, Stepper};

/// The implicit FD heat stepper on one rank.
pub struct FdImplicitHeat {
    theta: f64,
    dt: f64,
    /// `I + θ dt K`, refilled from `values` when dt changes.
    a: DistMatrix,
    values: AffineValues,
    solver: Box<dyn LinearSolver>,
    /// Boundary-data part of `b` at time factor 1, and the source's spatial factor.
    bc: Vec<f64>,
    src: Vec<f64>,
    u: DistVector,
    au: DistVector,
    rhs: DistVector,
    centres: Vec<[f64; 3]>,
    cell_volume: f64,
    data: HeatData,
}

impl FdImplicitHeat {
    /// Collective: assembles `I + θ dt K` and builds the solver (once; later dts are numeric
    /// updates, [`Stepper::set_dt`]).
    pub fn new(
        comm: &Comm,
        lm: &LocalMesh,
        grid: &GridInfo,
        data: &HeatData,
        theta: f64,
        dt: f64,
        solver: &SolverConfig,
    ) -> Result<FdImplicitHeat> {
        // `I` and `K` from the same stencil walk, so they share the pattern of `I + c K`.
        let identity = assemble_fd(comm, lm, grid, data, 1.0, 0.0)?;
        let k = assemble_fd(comm, lm, grid, data, 0.0, 1.0)?;
        let values = AffineValues::new(comm, &identity.a, &k.a)?;
        let mut a = identity.a;
        values.fill(&mut a, theta * dt);
        let step_solver = solver.build(comm, &a, &SolverInputs::default())?;
        let centres: Vec<[f64; 3]> = lm.cell_orig[..lm.cells.n_owned]
            .iter()
            .map(|&c| centre(grid, &cell_ijk(grid, c as usize)))
            .collect();
        let init: Vec<f64> = centres.iter().map(|x| data.exact_value(x, 0.0)).collect();
        let u = DistVector::from_owned(a.layout(), &init);
        Ok(FdImplicitHeat {
            theta,
            dt,
            bc: k.b.owned().to_vec(),
            src: centres.iter().map(|x| data.source_space(x)).collect(),
            au: DistVector::zeros(a.layout()),
            rhs: DistVector::zeros(a.layout()),
            u,
            a,
            values,
            solver: step_solver,
            centres,
            cell_volume: grid.h[..grid.dim].iter().product(),
            data: data.clone(),
        })
    }
}

impl Stepper for FdImplicitHeat {
    fn stable_dt(&self) -> f64 {
        f64::INFINITY
    }

    fn set_dt(&mut self, comm: &Comm, dt: f64) -> Result<()> {
        self.values.fill(&mut self.a, self.theta * dt);
        self.solver.update(comm, &self.a, &SolverInputs::default())?;
        self.dt = dt;
        Ok(())
    }

    fn step(&mut self, comm: &Comm, t: f64, dt: f64) -> Result<()> {
        debug_assert!(
            (dt - self.dt).abs() <= 1e-12 * self.dt,
            "the matrix was built for dt = {}",
            self.dt
        );
        let th = self.theta;
        // (I − (1−θ) dt K) u = u − ((1−θ)/θ) (A u − u), with A = I + θ dt K.
        self.rhs.copy_from(&self.u);
        if th < 1.0 {
            self.a.spmv(comm, &mut self.u, &mut self.au);
            let c = (1.0 - th) / th;
            for ((r, au), u) in self.rhs.owned_mut().iter_mut().zip(self.au.owned()).zip(self.u.owned()) {
                *r -= c * (au - u);
            }
        }
        let d = &self.data;
        let (w0, w1) = (dt * (1.0 - th), dt * th);
        let (t0, t1) = (d.time_factor(t), d.time_factor(t + dt));
        let (s0, s1) = (d.source_time(t), d.source_time(t + dt));
        for ((r, bc), s) in self.rhs.owned_mut().iter_mut().zip(&self.bc).zip(&self.src) {
            // dt (θ b(t+dt) + (1−θ) b(t)), b(t) = T(t) bc + f_t(t) S + f0.
            *r += w1 * (t1 * bc + s1 * s + d.constant_source) + w0 * (t0 * bc + s0 * s + d.constant_source);
        }
        self.solver
            .solve(comm, &self.a, &self.rhs, &mut self.u)?
            .ensure_converged()
            .map(|_| ())
    }

    fn fields(&self) -> Vec<(FieldSpec, &[f64])> {
        vec![(FieldSpec::cells(HEAT_FIELD, 1), self.u.owned())]
    }

    fn restore(&mut self, fields: &[(FieldSpec, Vec<f64>)]) -> Result<()> {
        restore_field(fields, &FieldSpec::cells(HEAT_FIELD, 1), self.u.owned_mut())
    }

    fn errors(&mut self, comm: &Comm, t: f64) -> Option<ErrorNorms> {
        Some(super::cell_errors(
            comm,
            self.u.owned(),
            &self.centres,
            &self.data,
            t,
            self.cell_volume,
        ))
    }

    fn halo_stats(&self) -> HaloStats {
        self.a.halo_stats()
    }

    fn compute_time(&self) -> f64 {
        self.solver.timings().solve
    }

    fn solver_timings(&self) -> Option<SolverTimings> {
        Some(self.solver.timings())
    }
}

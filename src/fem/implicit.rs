//! Implicit P1 or P2 heat steps with the θ-scheme and a lumped (P1) or consistent mass `M`:
//! `(M + θ dt K) uⁿ⁺¹ = (M − (1−θ) dt K) uⁿ + dt (θ Fⁿ⁺¹ + (1−θ) Fⁿ)` on free points, with the
//! Dirichlet values `T(tⁿ⁺¹) S` eliminated symmetrically (their columns move to the right-hand
//! side as `T(tⁿ⁺¹)·lift`). The explicit part `B = M − (1−θ) dt K` is assembled without
//! elimination, since `uⁿ` carries the Dirichlet values. `M` and `K` are assembled apart on one
//! pattern, so a new dt refills both matrices and the lift and updates the solver numerically;
//! the solver (GenEO with the subdomains' element matrices of `M + θ dt K`, or FETI on element
//! substructures whose Neumann matrices keep `M_s` and `K_s` apart) is set up once.

use super::assemble::{assemble, FemLoads, FemSystem, MassKind, Terms};
use super::{element_parts, SubdomainNeumann};
use crate::comm::{Comm, HaloStats};
use crate::error::{Error, Result};
use crate::io::FieldSpec;
use crate::linalg::{Csr, DistMatrix, DistVector};
use crate::mesh::Mesh;
use crate::partition::{point_numbering, LocalMesh, Partition};
use crate::pde::{ErrorNorms, HeatData, HEAT_FIELD};
use crate::solver::{
    CoarseKind, Family, LinearSolver, NeumannFn, SolverConfig, SolverInputs, SolverTimings, SubstructuresFn,
};
use crate::time::{restore_field, AffineValues, Stepper};

/// The implicit P1 / P2 heat stepper on one rank.
pub struct FemImplicitHeat {
    theta: f64,
    /// The system of `A = M + θ dt K` (Dirichlet rows eliminated), its values from `values`.
    sys: FemSystem,
    values: AffineValues,
    /// `B = M − (1−θ) dt K` without elimination, its values from `explicit`.
    b_full: DistMatrix,
    explicit: AffineValues,
    /// The lift of the eliminated Dirichlet columns, `lift_m + θ dt lift_k`.
    lift: Vec<f64>,
    lift_m: Vec<f64>,
    lift_k: Vec<f64>,
    solver: Box<dyn LinearSolver>,
    /// FETI's substructures (family = feti), recombined for every new dt.
    substructures: Option<Substructures>,
    spec: FieldSpec,
    u: DistVector,
    /// `uⁿ` on `B`'s layout, and `B uⁿ`.
    ub: DistVector,
    bu: DistVector,
    rhs: DistVector,
    data: HeatData,
}

impl FemImplicitHeat {
    /// Collective: assembles `M + θ dt K` and `M − (1−θ) dt K` and builds the solver; `part` is
    /// the partition `lm` comes from (it numbers the rows of GenEO's Neumann matrices).
    #[allow(clippy::too_many_arguments)] // the θ-scheme's parameters, each needed at set-up
    pub fn new(
        comm: &Comm,
        mesh: &Mesh,
        lm: &LocalMesh,
        part: &Partition,
        data: &HeatData,
        (theta, dt): (f64, f64),
        mass_kind: MassKind,
        solver: &SolverConfig,
    ) -> Result<FemImplicitHeat> {
        let terms = |mass, stiff, eliminate| Terms {
            mass,
            mass_kind,
            stiff,
            eliminate,
        };
        let mut sys = assemble(comm, mesh, lm, data, terms(1.0, 0.0, true))?;
        let k = assemble(comm, mesh, lm, data, terms(0.0, 1.0, true))?;
        // Eliminated Dirichlet rows stay the identity whatever dt.
        let values = AffineValues::new(comm, &sys.a, &k.a)?.keep_base_rows(&sys.a, &sys.dirichlet);
        values.fill(&mut sys.a, theta * dt);
        let mut b_full = assemble(comm, mesh, lm, data, terms(1.0, 0.0, false))?.a;
        let k_full = assemble(comm, mesh, lm, data, terms(0.0, 1.0, false))?.a;
        let explicit = AffineValues::new(comm, &b_full, &k_full)?;
        explicit.fill(&mut b_full, -(1.0 - theta) * dt);
        let (lift_m, lift_k) = (sys.loads.lift.clone(), k.loads.lift);
        let substructures = match solver.family {
            Family::Feti => {
                let source = (mesh, lm, part, data);
                Some(Substructures::new(
                    comm,
                    source,
                    &sys,
                    mass_kind,
                    solver.pc.subdomains_per_rank,
                )?)
            }
            Family::Krylov => None,
        };
        let step_solver = build_solver(
            comm,
            solver,
            mesh,
            part,
            data,
            &sys,
            (theta * dt, mass_kind),
            substructures.as_ref(),
        )?;
        let init: Vec<f64> = sys.points[..sys.dirichlet.len()]
            .iter()
            .map(|x| data.exact_value(x, 0.0))
            .collect();
        let u = DistVector::from_owned(sys.a.layout(), &init);
        // B u needs u on B's own layout (same owned rows, its own ghosts).
        let (ub, bu) = (DistVector::zeros(b_full.layout()), DistVector::zeros(b_full.layout()));
        let spec = if mesh.cell_type.degree() == 2 {
            FieldSpec::p2(HEAT_FIELD, 1)
        } else {
            FieldSpec::p1(HEAT_FIELD, 1)
        };
        Ok(FemImplicitHeat {
            theta,
            rhs: DistVector::zeros(sys.a.layout()),
            ub,
            bu,
            u,
            b_full,
            explicit,
            lift: combine(&lift_m, &lift_k, theta * dt),
            lift_m,
            lift_k,
            solver: step_solver,
            substructures,
            spec,
            sys,
            values,
            data: data.clone(),
        })
    }
}

/// `m + c k`, entry by entry.
fn combine(m: &[f64], k: &[f64], c: f64) -> Vec<f64> {
    m.iter().zip(k).map(|(m, k)| m + c * k).collect()
}

/// FETI's element substructures of the step matrix: every part of the rank's cells with its rows
/// and its mass and stiffness Neumann matrices apart, so that a new dt recombines them.
struct Substructures {
    per_rank: usize,
    parts: Vec<(Vec<u64>, Csr, Csr)>,
}

impl Substructures {
    /// Collective: splits the rank's own cells into `per_rank` parts (METIS) and assembles each
    /// part's `M_s` and `K_s` (`mass_kind` as the step matrix's).
    fn new(
        comm: &Comm,
        (mesh, lm, part, data): (&Mesh, &LocalMesh, &Partition, &HeatData),
        sys: &FemSystem,
        mass_kind: MassKind,
        per_rank: usize,
    ) -> Result<Substructures> {
        let numbering = point_numbering(mesh, part);
        let mass = SubdomainNeumann::new(comm, mesh, data, &numbering, &sys.dirichlet).with_terms(1.0, mass_kind, 0.0);
        let stiff = SubdomainNeumann::new(comm, mesh, data, &numbering, &sys.dirichlet).with_terms(0.0, mass_kind, 1.0);
        let mut cells: Vec<u32> = lm.cell_orig[..lm.cells.n_owned].to_vec();
        cells.sort_unstable();
        let parts = element_parts(mesh, &cells, per_rank).and_then(|parts| {
            parts
                .iter()
                .map(|cells| {
                    let ((rows, m), (_, k)) = (mass.cells_matrix(cells)?, stiff.cells_matrix(cells)?);
                    Ok((rows, m, k))
                })
                .collect::<Result<Vec<_>>>()
        });
        Ok(Substructures {
            per_rank,
            parts: comm.agree(parts)?,
        })
    }

    /// The source of substructures for `M + c K` that [`SolverInputs::substructures`] takes.
    fn source(s: Option<&Substructures>, c: f64) -> impl Fn(usize) -> Result<Vec<(Vec<u64>, Csr)>> + '_ {
        move |k| match s {
            Some(s) => s.at(k, c),
            None => Err(Error::input("no element substructures")),
        }
    }

    /// The parts' rows and Neumann matrices `M_s + c K_s` (on the union of both patterns, the
    /// same for every `c`), for `k` parts per rank.
    fn at(&self, k: usize, c: f64) -> Result<Vec<(Vec<u64>, Csr)>> {
        if k != self.per_rank {
            return Err(Error::Config(format!(
                "FETI asked for {k} substructures per rank, the heat step has {}",
                self.per_rank
            )));
        }
        Ok(self
            .parts
            .iter()
            .map(|(rows, m, k)| {
                let mut t = Vec::with_capacity(m.nnz() + k.nnz());
                for (a, scale) in [(m, 1.0), (k, c)] {
                    for i in 0..a.nrows {
                        let (cols, vals) = a.row(i);
                        t.extend(cols.iter().zip(vals).map(|(&j, &v)| (i as u32, j, scale * v)));
                    }
                }
                (rows.clone(), Csr::from_triplets(rows.len(), rows.len(), &t))
            })
            .collect())
    }
}

/// Collective: the step's solver for `sys.a`; GenEO gets the subdomains' element matrices of
/// `M + c K` (`terms`: `c` and the mass kind), which the algebraic splitting cannot give for P2;
/// FETI its element substructures.
#[allow(clippy::too_many_arguments)] // the mesh's pieces, the system and what the solver needs of them
fn build_solver(
    comm: &Comm,
    config: &SolverConfig,
    mesh: &Mesh,
    part: &Partition,
    data: &HeatData,
    sys: &FemSystem,
    (c, mass_kind): (f64, MassKind),
    substructures: Option<&Substructures>,
) -> Result<Box<dyn LinearSolver>> {
    let source = (config.pc.coarse.space == CoarseKind::Geneo).then(|| {
        let numbering = point_numbering(mesh, part);
        SubdomainNeumann::new(comm, mesh, data, &numbering, &sys.dirichlet).with_terms(1.0, mass_kind, c)
    });
    let neumann = |rows: &[u64]| match &source {
        Some(s) => s.matrix(rows),
        None => Err(Error::input("no element Neumann matrices")),
    };
    let parts = Substructures::source(substructures, c);
    let inputs = SolverInputs {
        neumann: source.is_some().then_some(&neumann as NeumannFn),
        // M + c K is nonsingular whatever the boundary conditions: no null space.
        null_space: None,
        substructures: substructures.is_some().then_some(&parts as SubstructuresFn),
    };
    config.build(comm, &sys.a, &inputs)
}

impl Stepper for FemImplicitHeat {
    fn stable_dt(&self) -> f64 {
        f64::INFINITY
    }

    fn set_dt(&mut self, comm: &Comm, dt: f64) -> Result<()> {
        let c = self.theta * dt;
        self.values.fill(&mut self.sys.a, c);
        self.explicit.fill(&mut self.b_full, -(1.0 - self.theta) * dt);
        self.lift = combine(&self.lift_m, &self.lift_k, c);
        let parts = Substructures::source(self.substructures.as_ref(), c);
        let inputs = SolverInputs {
            substructures: self.substructures.is_some().then_some(&parts as SubstructuresFn),
            ..SolverInputs::default()
        };
        self.solver.update(comm, &self.sys.a, &inputs)
    }

    fn step(&mut self, comm: &Comm, t: f64, dt: f64) -> Result<()> {
        let th = self.theta;
        let d = &self.data;
        self.ub.copy_from(&self.u);
        self.b_full.spmv(comm, &mut self.ub, &mut self.bu); // (M − (1−θ) dt K) uⁿ
        let (t0, t1) = (d.time_factor(t), d.time_factor(t + dt));
        let (s0, s1) = (d.source_time(t), d.source_time(t + dt));
        let FemLoads {
            shape,
            mass,
            neumann,
            dirichlet_shape,
            ..
        } = &self.sys.loads; // `mass` is ∫ φ_i, the same for lumped and consistent
        let load = |i: usize, tf: f64, sf: f64| sf * shape[i] + d.constant_source * mass[i] + tf * neumann[i];
        for (i, &fixed) in self.sys.dirichlet.iter().enumerate() {
            self.rhs.data[i] = if fixed {
                t1 * dirichlet_shape[i]
            } else {
                self.bu.data[i] + dt * (th * load(i, t1, s1) + (1.0 - th) * load(i, t0, s0)) + t1 * self.lift[i]
            };
        }
        self.solver
            .solve(comm, &self.sys.a, &self.rhs, &mut self.u)?
            .ensure_converged()
            .map(|_| ())
    }

    fn fields(&self) -> Vec<(FieldSpec, &[f64])> {
        vec![(self.spec.clone(), self.u.owned())]
    }

    fn restore(&mut self, fields: &[(FieldSpec, Vec<f64>)]) -> Result<()> {
        restore_field(fields, &self.spec, self.u.owned_mut())
    }

    fn errors(&mut self, comm: &Comm, t: f64) -> Option<ErrorNorms> {
        Some(self.sys.errors(comm, &self.u, &self.data, t).0)
    }

    fn halo_stats(&self) -> HaloStats {
        self.sys.a.halo_stats()
    }

    fn compute_time(&self) -> f64 {
        self.solver.timings().solve
    }

    fn solver_timings(&self) -> Option<SolverTimings> {
        Some(self.solver.timings())
    }
}

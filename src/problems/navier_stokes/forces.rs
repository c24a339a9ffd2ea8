//! Forces on a body by the volume-integral (residual) method (John 2004; Braack & Richter):
//! the force in direction d is minus the momentum residual tested with a velocity function
//! `v_d` that is `e_d` at the body's nodes and zero at every other node,
//! `F_d = −[(∂u/∂t, v_d) + ν(∇u, ∇v_d) + c(u; u, v_d) − (p, ∇·v_d)]`, which converges with the
//! order of the flow field itself, where differentiating the field at the wall loses one.
//! Only the cells around the body contribute; their element matrices are the scheme's.

use super::spaces::Spaces;
use crate::comm::Comm;
use crate::fem::boundary::boundary_facets;
use crate::fem::element::{ElementMatrix, MAX_NODES};
use crate::fem::taylor_hood::{cell_matrices, convection, CellMatrices};
use crate::linalg::DistVector;

/// The body's nodes on one rank, the local cells around them with their constant matrices, and
/// the work arrays of [`Body::force`] (allocated once: the force is evaluated every step).
pub struct Body {
    /// Per local velocity node: whether it lies on the body (owned nodes only are set).
    on_body: Vec<bool>,
    /// Local cells with an owned body node, with their constant matrices.
    cells: Vec<(usize, CellMatrices)>,
    /// Velocity and its time derivative per component, on the local velocity nodes.
    ul: Vec<Vec<f64>>,
    tl: Vec<Vec<f64>>,
    /// Pressure on the local pressure nodes.
    pl: Vec<f64>,
}

impl Body {
    /// Local: the owned nodes on the boundaries tagged `tags` and the cells around them.
    pub fn new(s: &Spaces, tags: &[i32]) -> Body {
        let mut on_body = vec![false; s.points.len()];
        for f in boundary_facets(&s.mesh, &s.lm_u, &s.points) {
            if tags.contains(&f.tag) {
                for &v in f.points.iter().filter(|&&v| (v as usize) < s.n_u()) {
                    on_body[v as usize] = true;
                }
            }
        }
        let nn = s.el.num_nodes();
        let mut x = [[0.0; 3]; MAX_NODES];
        let cells = (0..s.lm_u.num_local_cells())
            .filter(|&c| s.lm_u.cell(c).iter().any(|&v| on_body[v as usize]))
            .map(|c| {
                s.cell_nodes(c, &mut x);
                (c, cell_matrices(&s.el, &x[..nn]))
            })
            .collect();
        let local = || vec![vec![0.0; s.points.len()]; s.dim];
        Body {
            on_body,
            cells,
            ul: local(),
            tl: local(),
            pl: vec![0.0; s.points_p.len()],
        }
    }

    /// Collective: the force `F` (per direction) on the body for velocity `u`, its time
    /// derivative `dudt` (per component) and pressure `p`.
    pub fn force(
        &mut self,
        comm: &Comm,
        s: &mut Spaces,
        nu: f64,
        (u, dudt, p): (&[DistVector], &[DistVector], &DistVector),
    ) -> [f64; 3] {
        for (l, v) in self.ul.iter_mut().zip(u).chain(self.tl.iter_mut().zip(dudt)) {
            l[..s.n_u()].copy_from_slice(v.owned());
            s.halo_u.forward(comm, l);
        }
        self.pl[..s.n_p()].copy_from_slice(p.owned());
        s.halo_p.forward(comm, &mut self.pl);
        let (ul, tl, pl) = (&self.ul, &self.tl, &self.pl);
        let nn = s.el.num_nodes();
        let (mut x, mut w) = ([[0.0; 3]; MAX_NODES], [[0.0; 3]; MAX_NODES]);
        let mut ce: ElementMatrix = [[0.0; MAX_NODES]; MAX_NODES];
        let mut residual = [0.0; 3];
        for (c, cm) in &self.cells {
            s.cell_nodes(*c, &mut x);
            let (vu, vp) = (s.lm_u.cell(*c), s.lm_p.cell(*c));
            for (k, &v) in vu.iter().enumerate() {
                w[k] = std::array::from_fn(|d| ul.get(d).map_or(0.0, |ud| ud[v as usize]));
            }
            convection(&s.el, &x[..nn], &w[..nn], &mut ce);
            for (i, _) in vu.iter().enumerate().filter(|(_, &a)| self.on_body[a as usize]) {
                for (d, r) in residual.iter_mut().enumerate().take(s.dim) {
                    let mut sum = 0.0;
                    for (j, &b) in vu.iter().enumerate() {
                        let b = b as usize;
                        sum += cm.mass[i][j] * tl[d][b] + (nu * cm.stiffness[i][j] + ce[i][j]) * ul[d][b];
                    }
                    for (k, &q) in vp.iter().enumerate() {
                        sum -= cm.div[d][i][k] * pl[q as usize];
                    }
                    *r += sum;
                }
            }
        }
        residual.map(|r| -comm.sum_f64(r))
    }
}

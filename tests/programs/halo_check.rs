//! Multi-rank check of the exchange plan, run under `mpirun` by `tests/halo.rs`: on a METIS
//! partition with two ghost layers, forward and reverse-add (plain and overlapped) on
//! pseudo-random data must match a serial reference computed from the replicated mesh. Prints
//! `halo_check: OK ...` or `halo_check: FAIL ...` (exit 1).

use ddkit::comm::{Comm, Halo};
use ddkit::mesh::{gmsh, Adjacency, Mesh};
use ddkit::partition::{distribute, LocalMesh, Method};
use ddkit::problems::partition_collective;

/// A reproducible pseudo-random value per (entity, salt) (SplitMix64 finalizer).
fn value(id: u64, salt: u64) -> f64 {
    let mut z = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64 - 0.5
}

fn check(comm: &Comm, mesh: &Mesh, layers: usize) -> Result<usize, String> {
    let dual = mesh.cell_graph(Adjacency::Facet);
    let vgraph = mesh.cell_graph(Adjacency::Vertex);
    let size = comm.size() as usize;
    let part = partition_collective(comm, mesh, &dual, size, &Method::MetisKway).map_err(|e| e.to_string())?;
    let all: Vec<LocalMesh> = (0..size)
        .map(|r| distribute(r, mesh, &part, &vgraph, layers))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let me = &all[comm.rank() as usize];
    let mut checked = 0;
    for (what, layout, orig, all_orig) in [
        (
            "cells",
            &me.cells,
            &me.cell_orig,
            all.iter().map(|l| (&l.cells, &l.cell_orig)).collect::<Vec<_>>(),
        ),
        (
            "points",
            &me.points,
            &me.point_orig,
            all.iter().map(|l| (&l.points, &l.point_orig)).collect::<Vec<_>>(),
        ),
    ] {
        let mut halo = Halo::new(comm, layout).map_err(|e| e.to_string())?;
        for overlapped in [false, true] {
            // Forward: ghosts receive their owners' values.
            let mut x: Vec<f64> = (0..layout.n_local())
                .map(|i| {
                    if i < layout.n_owned {
                        value(orig[i] as u64, 1)
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            let owned_sum = if overlapped {
                halo.forward_overlapped(comm, &mut x, |x| x[..layout.n_owned].iter().sum::<f64>())
            } else {
                halo.forward(comm, &mut x);
                x[..layout.n_owned].iter().sum::<f64>()
            };
            let expect_sum: f64 = (0..layout.n_owned).map(|i| value(orig[i] as u64, 1)).sum();
            if owned_sum != expect_sum {
                return Err(format!("{what}: shadow computation saw modified owned values"));
            }
            for i in layout.n_owned..layout.n_local() {
                if x[i] != value(orig[i] as u64, 1) {
                    return Err(format!(
                        "{what}: forward ghost {i} (mesh id {}) = {} expected {}",
                        orig[i],
                        x[i],
                        value(orig[i] as u64, 1)
                    ));
                }
                checked += 1;
            }
            // Reverse-add: every rank's ghost contribution is summed into the owner, in rank
            // order; the serial reference adds the same terms in the same order.
            let salt = 2 + comm.rank() as u64;
            let mut y: Vec<f64> = (0..layout.n_local())
                .map(|i| {
                    if i < layout.n_owned {
                        value(orig[i] as u64, 0)
                    } else {
                        value(orig[i] as u64, salt)
                    }
                })
                .collect();
            if overlapped {
                halo.reverse_add_overlapped(comm, &mut y, |_| ());
            } else {
                halo.reverse_add(comm, &mut y);
            }
            for i in 0..layout.n_owned {
                let id = orig[i];
                let mut expect = value(id as u64, 0);
                for (r, (lay, o)) in all_orig.iter().enumerate() {
                    if o[lay.n_owned..].contains(&id) {
                        expect += value(id as u64, 2 + r as u64);
                    }
                }
                if (y[i] - expect).abs() > 1e-15 * (1.0 + expect.abs()) {
                    return Err(format!(
                        "{what}: reverse-add owner {i} (mesh id {id}) = {} expected {expect}",
                        y[i]
                    ));
                }
                checked += 1;
            }
        }
        if halo.stats.exchanges != 4 {
            return Err(format!(
                "{what}: {} exchanges counted, expected 4",
                halo.stats.exchanges
            ));
        }
    }
    Ok(checked)
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("halo_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    let square = Mesh::structured(&[13, 11], true).map_err(|e| e.to_string());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/meshes/box3d.msh");
    let cube = gmsh::read(std::path::Path::new(path)).map_err(|e| e.to_string());
    let mut total = 0;
    let mut failure = None;
    for (name, mesh, layers) in [("square", square, 2), ("box3d", cube, 1)] {
        let r = mesh.and_then(|m| check(&comm, &m, layers));
        let r = comm.agree(r.map_err(ddkit::Error::Input));
        match r {
            Ok(n) => total += comm.sum_u64(n as u64),
            Err(e) => {
                failure = Some(format!("{name}: {e}"));
                break;
            }
        }
    }
    let code = match failure {
        None => {
            if comm.is_root() {
                println!("halo_check: OK {total} values checked on {} ranks", comm.size());
            }
            0
        }
        Some(e) => {
            if comm.is_root() {
                println!("halo_check: FAIL {e}");
            }
            1
        }
    };
    drop(comm);
    std::process::exit(code);
}

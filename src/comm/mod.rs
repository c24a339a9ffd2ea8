//! MPI context and the collective conventions every stage relies on: one [`Comm`] per run,
//! errors agreed on by all ranks at phase boundaries ([`Comm::agree`]), the [`Layout`] of owned
//! and ghost entities, and the [`Halo`] exchange plan built from it.

mod halo;
mod layout;

pub use halo::{Halo, HaloMode, HaloStats, SparseRow};
pub use layout::Layout;

use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The MPI environment of a run: owns MPI initialization (finalized on drop) and the world
/// communicator.
pub struct Comm {
    world: SimpleCommunicator,
    // Dropping the universe finalizes MPI, so it must outlive every use of `world`.
    _universe: mpi::environment::Universe,
}

impl Comm {
    /// Initializes MPI (as a singleton when started without `mpirun`). Call once per process.
    pub fn init() -> Result<Comm> {
        let universe = mpi::initialize().ok_or_else(|| Error::input("MPI was already initialized in this process"))?;
        let world = universe.world();
        Ok(Comm {
            world,
            _universe: universe,
        })
    }
    /// The world communicator, for direct rsmpi calls.
    pub fn world(&self) -> &SimpleCommunicator {
        &self.world
    }
    /// This process's rank.
    pub fn rank(&self) -> i32 {
        self.world.rank()
    }
    /// Number of ranks.
    pub fn size(&self) -> i32 {
        self.world.size()
    }
    /// Whether this is rank 0, the rank that speaks.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Collective: turns a per-rank result into one all ranks agree on. If any rank failed,
    /// every rank returns the error of the lowest failing rank (message broadcast from it), so
    /// rank 0 can print it and all ranks exit together instead of deadlocking in a later
    /// collective.
    pub fn agree<T>(&self, r: Result<T>) -> Result<T> {
        let mine = if r.is_err() { self.rank() } else { self.size() };
        let mut first = 0;
        self.world.all_reduce_into(&mine, &mut first, SystemOperation::min());
        if first == self.size() {
            return r;
        }
        let mut msg = match &r {
            Err(e) if self.rank() == first => e.to_string().into_bytes(),
            _ => Vec::new(),
        };
        let mut len = msg.len() as u64;
        let root = self.world.process_at_rank(first);
        root.broadcast_into(&mut len);
        msg.resize(len as usize, 0);
        root.broadcast_into(&mut msg[..]);
        match r {
            Err(e) if self.rank() == first => Err(e),
            _ => Err(Error::Remote {
                rank: first,
                msg: String::from_utf8_lossy(&msg).into_owned(),
            }),
        }
    }

    /// Collective sum of one number.
    pub fn sum_f64(&self, x: f64) -> f64 {
        let mut s = 0.0;
        self.world.all_reduce_into(&x, &mut s, SystemOperation::sum());
        s
    }
    /// Collective sum of one count.
    pub fn sum_u64(&self, x: u64) -> u64 {
        let mut s = 0;
        self.world.all_reduce_into(&x, &mut s, SystemOperation::sum());
        s
    }
    /// Collective maximum.
    pub fn max_f64(&self, x: f64) -> f64 {
        let mut s = 0.0;
        self.world.all_reduce_into(&x, &mut s, SystemOperation::max());
        s
    }
    /// Collective minimum.
    pub fn min_f64(&self, x: f64) -> f64 {
        let mut s = 0.0;
        self.world.all_reduce_into(&x, &mut s, SystemOperation::min());
        s
    }
    /// Collective exclusive prefix sum: the sum of `x` over ranks below this one.
    pub fn exclusive_scan_u64(&self, x: u64) -> u64 {
        let mut all = vec![0u64; self.size() as usize];
        self.world.all_gather_into(&x, &mut all[..]);
        all[..self.rank() as usize].iter().sum()
    }
    /// Collective: every rank's value of `x`, in rank order.
    pub fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        let mut all = vec![0u64; self.size() as usize];
        self.world.all_gather_into(&x, &mut all[..]);
        all
    }
    /// Collective: personalized all-to-all. `send` holds the items for rank 0, then rank 1, ...
    /// (`counts[r]` items for rank `r`); returns the items received, grouped by source rank in
    /// rank order, and how many came from each rank.
    pub fn all_to_all_v<T: Equivalence + Default + Clone>(&self, send: &[T], counts: &[i32]) -> (Vec<T>, Vec<i32>) {
        let size = self.size() as usize;
        let mut rcounts = vec![0i32; size];
        self.world.all_to_all_into(counts, &mut rcounts[..]);
        let (sd, rd) = (displacements(counts), displacements(&rcounts));
        let mut recv = vec![T::default(); rcounts.iter().sum::<i32>() as usize];
        {
            let sp = Partition::new(send, counts, &sd[..]);
            let mut rp = PartitionMut::new(&mut recv[..], &rcounts[..], &rd[..]);
            self.world.all_to_all_varcount_into(&sp, &mut rp);
        }
        (recv, rcounts)
    }

    /// Collective: every rank's `send` concatenated in rank order (the lengths may differ).
    pub fn all_gather_v<T: Equivalence + Default + Clone>(&self, send: &[T]) -> Vec<T> {
        let counts: Vec<i32> = self
            .all_gather_u64(send.len() as u64)
            .iter()
            .map(|&c| c as i32)
            .collect();
        let displs = displacements(&counts);
        let mut recv = vec![T::default(); counts.iter().sum::<i32>() as usize];
        {
            let mut rp = PartitionMut::new(&mut recv[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(send, &mut rp);
        }
        recv
    }

    /// Collective barrier.
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Collective, bounded: waits at a barrier for at most `limit` and says whether every rank
    /// arrived. For exit paths: after an agreed error, rank 0 prints the message and all ranks
    /// meet here before exiting, so that mpirun (which stops the job at the first non-zero exit)
    /// cannot kill rank 0 before it has written its line; the bound keeps a rank that failed
    /// alone from hanging there.
    pub fn barrier_within(&self, limit: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        let mut request = self.world.immediate_barrier();
        loop {
            match request.test() {
                Ok(_) => return true,
                Err(r) if start.elapsed() < limit => request = r,
                Err(r) => {
                    // rsmpi panics on dropping an incomplete request; the process is exiting.
                    std::mem::forget(r);
                    return false;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Exclusive prefix sums of `counts` (MPI displacements).
pub fn displacements(counts: &[i32]) -> Vec<i32> {
    let mut d = Vec::with_capacity(counts.len());
    let mut s = 0;
    for &c in counts {
        d.push(s);
        s += c;
    }
    d
}

//! MPI context and the collective conventions every stage relies on: one [`Comm`] per run
//! (owning MPI, or embedded in a host's communicator),
//! errors agreed on by all ranks at phase boundaries ([`Comm::agree`]), the [`Layout`] of owned
//! and ghost entities, and the [`Halo`] exchange plan built from it.

mod halo;
mod layout;

pub use halo::{Halo, HaloMode, HaloStats, SparseRow, TAG_FORWARD, TAG_REVERSE};
pub use layout::Layout;

use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The MPI context of a ddkit run: the communicator every stage uses (rank, size, collectives,
/// halo exchanges, METIS scatter, HDF5 MPI-IO), and possibly the ownership of MPI itself.
///
/// Ownership rule: a `Comm` finalizes MPI on drop only if it initialized MPI, which only
/// [`Comm::init`] does and only when nothing had initialized MPI before. When a host code
/// initialized MPI, the host finalizes it, and it must drop every `Comm` first (the duplicated
/// communicators they hold are freed on drop; a `Comm` dropped after `MPI_Finalize` leaks its
/// handle rather than calling MPI). Likewise a `Comm` that owns MPI must outlive the `Comm`s
/// built from it with [`Comm::with_communicator`].
pub struct Comm {
    // Declared before `universe`: fields drop in order, so a duplicated communicator is freed
    // before an owned universe finalizes MPI.
    comm: SimpleCommunicator,
    // Some only when this Comm initialized MPI; dropping it calls MPI_Finalize.
    universe: Option<mpi::environment::Universe>,
}

impl Comm {
    /// Collective over the world: the context of a ddkit program. Initializes MPI (as a
    /// singleton when started without `mpirun`) and finalizes it on drop; inside a host that
    /// already initialized MPI, works on a duplicate of the world communicator and leaves
    /// finalization to the host.
    pub fn init() -> Result<Comm> {
        if !mpi::environment::is_initialized() {
            avoid_ompio_named_semaphore();
        }
        // `initialize` answers None exactly when MPI is already initialized: then a host owns it.
        match mpi::initialize() {
            Some(universe) => Ok(Comm {
                comm: universe.world(),
                universe: Some(universe),
            }),
            None => Comm::with_communicator(&SimpleCommunicator::world()),
        }
    }

    /// Collective over `c`: a context over a duplicate of the host's intracommunicator `c`, so
    /// ddkit's messages and collectives can never match the host's. Never initializes or
    /// finalizes MPI; fails if MPI is not initialized (or already finalized).
    pub fn with_communicator(c: &impl Communicator) -> Result<Comm> {
        if !mpi::environment::is_initialized() {
            return Err(Error::input(
                "MPI is not initialized: initialize it before Comm::with_communicator, or use Comm::init",
            ));
        }
        if mpi::environment::is_finalized() {
            return Err(Error::input("MPI was already finalized in this process"));
        }
        Ok(Comm {
            comm: c.duplicate(),
            universe: None,
        })
    }

    /// Whether this `Comm` initialized MPI and so finalizes it on drop.
    pub fn owns_mpi(&self) -> bool {
        self.universe.is_some()
    }

    /// This context's communicator, for direct rsmpi calls: the world when this `Comm` owns MPI,
    /// otherwise a duplicate of the host's communicator (not `MPI_COMM_WORLD`).
    pub fn world(&self) -> &SimpleCommunicator {
        &self.comm
    }
    /// This process's rank.
    pub fn rank(&self) -> i32 {
        self.comm.rank()
    }
    /// Number of ranks.
    pub fn size(&self) -> i32 {
        self.comm.size()
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
        self.comm.all_reduce_into(&mine, &mut first, SystemOperation::min());
        if first == self.size() {
            return r;
        }
        let mut msg = match &r {
            Err(e) if self.rank() == first => e.to_string().into_bytes(),
            _ => Vec::new(),
        };
        let mut len = msg.len() as u64;
        let root = self.comm.process_at_rank(first);
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
        self.comm.all_reduce_into(&x, &mut s, SystemOperation::sum());
        s
    }
    /// Collective sum of one count.
    pub fn sum_u64(&self, x: u64) -> u64 {
        let mut s = 0;
        self.comm.all_reduce_into(&x, &mut s, SystemOperation::sum());
        s
    }
    /// Collective maximum.
    pub fn max_f64(&self, x: f64) -> f64 {
        let mut s = 0.0;
        self.comm.all_reduce_into(&x, &mut s, SystemOperation::max());
        s
    }
    /// Collective minimum.
    pub fn min_f64(&self, x: f64) -> f64 {
        let mut s = 0.0;
        self.comm.all_reduce_into(&x, &mut s, SystemOperation::min());
        s
    }
    /// Collective exclusive prefix sum: the sum of `x` over ranks below this one.
    pub fn exclusive_scan_u64(&self, x: u64) -> u64 {
        let mut all = vec![0u64; self.size() as usize];
        self.comm.all_gather_into(&x, &mut all[..]);
        all[..self.rank() as usize].iter().sum()
    }
    /// Collective: every rank's value of `x`, in rank order.
    pub fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        let mut all = vec![0u64; self.size() as usize];
        self.comm.all_gather_into(&x, &mut all[..]);
        all
    }
    /// Collective: personalized all-to-all. `send` holds the items for rank 0, then rank 1, ...
    /// (`counts[r]` items for rank `r`); returns the items received, grouped by source rank in
    /// rank order, and how many came from each rank.
    pub fn all_to_all_v<T: Equivalence + Default + Clone>(&self, send: &[T], counts: &[i32]) -> (Vec<T>, Vec<i32>) {
        let size = self.size() as usize;
        let mut rcounts = vec![0i32; size];
        self.comm.all_to_all_into(counts, &mut rcounts[..]);
        let (sd, rd) = (displacements(counts), displacements(&rcounts));
        let mut recv = vec![T::default(); rcounts.iter().sum::<i32>() as usize];
        {
            let sp = Partition::new(send, counts, &sd[..]);
            let mut rp = PartitionMut::new(&mut recv[..], &rcounts[..], &rd[..]);
            self.comm.all_to_all_varcount_into(&sp, &mut rp);
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
            self.comm.all_gather_varcount_into(send, &mut rp);
        }
        recv
    }

    /// Collective barrier.
    pub fn barrier(&self) {
        self.comm.barrier();
    }

    /// Collective, bounded: waits at a barrier for at most `limit` and says whether every rank
    /// arrived. For exit paths: after an agreed error, rank 0 prints the message and all ranks
    /// meet here before exiting, so that mpirun (which stops the job at the first non-zero exit)
    /// cannot kill rank 0 before it has written its line; the bound keeps a rank that failed
    /// alone from hanging there.
    pub fn barrier_within(&self, limit: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        let mut request = self.comm.immediate_barrier();
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

impl Drop for Comm {
    fn drop(&mut self) {
        // A host that finalized MPI before dropping this Comm: freeing the duplicate now would be
        // an MPI call after MPI_Finalize, which aborts; leaking one handle is the lesser harm.
        if self.universe.is_none() && mpi::environment::is_finalized() {
            // The placeholder, MPI_COMM_SELF, is never freed by rsmpi.
            std::mem::forget(std::mem::replace(&mut self.comm, SimpleCommunicator::self_comm()));
        }
    }
}

/// Keeps Open MPI's MPI-IO (HDF5's `mpio` files: output series and checkpoints) away from its
/// `sm` shared-file-pointer component, unless the user chose with `OMPI_MCA_sharedfp`; only
/// effective before `MPI_Init`, so a host that initializes MPI itself decides for its own
/// process.
///
/// Why: with `sm`, Open MPI 4.1's OMPIO opens every file under a system-wide named semaphore,
/// `/dev/shm/sem.OMPIO_<file name>`, which rank 0 takes and releases during the open. A process
/// killed inside that window (SIGKILL, out of memory, a job's time limit) leaves it taken, and
/// every later open of a file of the same name on that machine (the next run's
/// `checkpoint.h5.tmp`) waits on it forever: a hang, not an error. The next component,
/// `lockedfile`, uses `fcntl` locks, which the kernel releases when a process dies (a killed
/// writer leaves its small `NAME-ID-PID.lock` file beside the file). ROMIO, the other MPI-IO
/// component, keeps no such state but takes a colon in a path for a file-system prefix
/// (`out:1/x.h5` fails), so OMPIO stays. Other MPI libraries ignore the variable.
fn avoid_ompio_named_semaphore() {
    if std::env::var_os("OMPI_MCA_sharedfp").is_none() {
        // Before MPI_Init, so before any thread of ours or of MPI exists.
        std::env::set_var("OMPI_MCA_sharedfp", "^sm");
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

#[cfg(test)]
mod tests {
    use super::*;

    // No unit test initializes MPI (multi-rank behaviour is tested under mpirun in
    // tests/embedding.rs), so MPI is uninitialized in this process.
    #[test]
    fn with_communicator_refuses_without_mpi() {
        let e = Comm::with_communicator(&SimpleCommunicator::world()).err();
        assert!(
            matches!(&e, Some(Error::Input(m)) if m.contains("not initialized")),
            "{e:?}"
        );
    }
}

//! Guards against inputs that are valid but absurd: memory that a parameter would make ddkit
//! allocate is compared with what the machine has *before* the allocation, so a typo such as
//! `--restart 100000000` gets one error line naming the limit instead of an abort, a hang in
//! the kernel's overcommit or the OOM killer.

use crate::comm::Comm;
use crate::error::{Error, Result};
use mpi::traits::*;

/// Bytes this node can still give to new allocations (Linux `MemAvailable`), if known.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Collective: how many ranks of `comm` share this rank's node (and so its memory).
pub fn ranks_on_node(comm: &Comm) -> usize {
    comm.world().split_shared(0).size() as usize
}

/// Formats a byte count for messages (GiB, MiB or bytes).
pub fn human_bytes(bytes: f64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes / MIB)
    } else {
        format!("{bytes:.0} bytes")
    }
}

/// Collective: refuses, on every rank alike, an allocation of `bytes` per rank (computed in
/// floating point so that absurd sizes cannot overflow) when the ranks of a node together would
/// need more than the node has available. `what` names the allocation and the parameter behind
/// it, e.g. "the GMRES basis of restart = 100000000". Where the available memory is unknown,
/// only sizes that no address space can hold are refused.
pub fn check_memory(comm: &Comm, what: &str, bytes: f64) -> Result<()> {
    let per_rank = comm.max_f64(bytes);
    let available = available_memory().map_or(isize::MAX as f64, |a| a as f64);
    let available = comm.min_f64(available); // the tightest node decides
                                             // Every rank on one node is the worst case; only when that does not fit is the (collective,
                                             // communicator-creating) count of the ranks per node worth taking. Both reductions above
                                             // give every rank the same values, so all take the same branch.
    if per_rank * comm.size() as f64 <= available {
        return Ok(());
    }
    let node_ranks = comm.max_f64(ranks_on_node(comm) as f64);
    let need = per_rank * node_ranks;
    if need > available {
        return Err(Error::input(format!(
            "{what} needs {} per rank, {} for the {} rank(s) of a node, more than the {} \
             available: choose a smaller value",
            human_bytes(need / node_ranks),
            human_bytes(need),
            node_ranks,
            human_bytes(available)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(3.0 * 1048576.0), "3.0 MiB");
        assert_eq!(human_bytes(80e9), "74.5 GiB");
        assert!(available_memory().is_some_and(|m| m > 0), "/proc/meminfo on Linux");
    }
}

//! What every time-dependent problem shares about checkpoints and restarts: where checkpoints
//! go and how often, probing their directory before the work, reading a checkpoint back with
//! its options checked, and telling whether a restart runs on the checkpoint's partition (so
//! that it may continue the output series).

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::checkpoint::{check_options, tmp_path};
use crate::io::{Checkpoint, CheckpointMesh, FieldSpec};
use crate::partition::Partition;
use std::path::{Path, PathBuf};

/// Where and how often a run writes its checkpoint ([`CHECKPOINT_FILE`] in `dir`); also at the
/// end of a run that did not fail, so that it can be continued.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointParams {
    /// The directory of the checkpoint file.
    pub dir: PathBuf,
    /// Every this many steps (0: not by step count).
    pub every: usize,
    /// Every this many seconds of wall time.
    pub interval: Option<f64>,
}

/// The name of a run's checkpoint file in its directory (each checkpoint replaces the previous
/// one, which stays intact until the new one is complete).
pub const CHECKPOINT_FILE: &str = "checkpoint.h5";

/// Collective: probes the checkpoint directory (created if needed) by writing and removing the
/// temporary file a checkpoint is written to, so that a bad path fails before the work (as
/// `--out` and `--report` do) instead of at the first checkpoint.
pub fn probe_checkpoint_dir(comm: &Comm, dir: &Path) -> Result<()> {
    let probed = if comm.is_root() {
        let probe = tmp_path(&dir.join(CHECKPOINT_FILE));
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&probe, b""))
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|source| Error::Io {
                path: format!("checkpoint directory {}", dir.display()),
                source,
            })
    } else {
        Ok(())
    };
    comm.agree(probed)
}

/// Collective: reads the checkpoint at `path` for this run (its mesh and the fields `specs`)
/// and refuses one written with other problem options (`options` JSON compared at `keys`),
/// with one error on every rank.
pub fn read_restart(
    comm: &Comm,
    path: &Path,
    mesh: &CheckpointMesh,
    specs: &[FieldSpec],
    (options, keys): (&str, &[&str]),
) -> Result<Checkpoint> {
    if !path.exists() && path.to_str().is_some_and(|s| s.parse::<usize>().is_ok()) {
        // `--restart N` of old was GMRES's restart length, which heat now takes as --set.
        return comm.agree(Err(Error::input(format!(
            "--restart {}: no such checkpoint file (--restart names the checkpoint to continue; \
             the GMRES restart length is --set solver.krylov.restart=N)",
            path.display()
        ))));
    }
    let ck = Checkpoint::read(comm, path, mesh, specs)?;
    let same = check_options(&ck.options, options, keys).map_err(|e| {
        let why = match e {
            Error::Input(m) => m,
            e => e.to_string(),
        };
        Error::input(format!("checkpoint {}: {why}", path.display()))
    });
    comm.agree(same)?;
    Ok(ck)
}

/// FNV-1a over the part of every cell: the same on every rank (mesh and partition are), stored
/// in a run's options to tell a restart on the same partition.
pub fn partition_hash(part: &Partition) -> u64 {
    part.parts.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &q| {
        (h ^ u64::from(q)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Whether two runs' options (JSON with `ranks` and `partition` keys) name the same rank count
/// and partition.
pub fn same_partition(a: &str, b: &str) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a.get("ranks") == b.get("ranks") && a.get("partition") == b.get("partition"),
        _ => false,
    }
}

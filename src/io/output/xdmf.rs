//! The XDMF file of a [`super::Writer`] on disk (rank 0 only): kept a well-formed document that
//! lists the registered snapshots however the run is interrupted, at a cost per snapshot that
//! does not grow with the length of the series.
//!
//! Overwriting the footer in place with the next grid and a new footer is not safe: a run killed
//! in the middle of that write leaves XML without its closing tags. Writing the whole file
//! beside and renaming it is safe, but costs the whole file per snapshot, quadratic over a run
//! (measured: `heat --grid 16x16 --steps 3000 --snapshot-every 1` on 2 ranks spends 27 s in
//! output that way, 2.8 s with the append below; writing a cached 3 MB text and renaming alone
//! takes 3.7 ms, more than the HDF5 part of such a snapshot). So the file carries a *reserve*,
//! a comment of spaces before the footer:
//!
//! ```text
//!     <!--                         -->
//!     </Grid>
//!   </Domain>
//! </Xdmf>
//! ```
//!
//! and a grid is appended in four writes, the last three of one byte, which a kill cannot split:
//!
//! 1. ` - >⏎GRID     !- ` over the start of the reserve's spaces: all of it is still comment
//!    (a grid written this way holds no `--`), so a partial write changes nothing a reader sees;
//! 2. ` - >` becomes ` -->`: the comment ends before the grid, which is now listed; what
//!    follows, `     !- ... -->`, is character data, where `!`, `-` and `>` are allowed;
//! 3. ` !- ` becomes ` !--`, still character data;
//! 4. ` !--` becomes `<!--`: the rest of the reserve is a comment again.
//!
//! Every state in between is well-formed and lists either the old grids or the old grids and the
//! new one (the unit test below replays every partial write). When the reserve is too small, or
//! a grid holds `--` (from a field name), the file is rewritten beside and renamed, with a
//! reserve as long as its grids, so that rewrites are geometrically rarer: O(1) amortized bytes
//! per snapshot. The final file (after [`super::Writer::finish`]) has no reserve.

use crate::error::{Error, Result};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

const HEADER: &str = "<?xml version=\"1.0\"?>\n<Xdmf Version=\"3.0\">\n  <Domain>\n    \
                      <Grid Name=\"TimeSeries\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
const FOOTER: &str = "    </Grid>\n  </Domain>\n</Xdmf>\n";
/// Opens the reserve comment (a whole line with the footer's indentation).
const RESERVE_OPEN: &str = "    <!--";
const RESERVE_CLOSE: &str = "-->\n";
/// Written before an appended grid; byte `PRE_FLIP` becomes `-` to close the comment.
const PRE: &[u8] = b" - >\n";
const PRE_FLIP: usize = 2;
/// Written after an appended grid; byte `POST_DASH` becomes `-`, then byte `POST_LT` becomes `<`,
/// which turns it into [`RESERVE_OPEN`].
const POST: &[u8] = b"     !- ";
const POST_DASH: usize = 7;
const POST_LT: usize = 4;
/// Smallest reserve written, in bytes: room for a dozen grids of a few fields.
const RESERVE_MIN: usize = 16 * 1024;

/// Where the reserve of the file on disk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reserve {
    /// Offset of the reserve comment's content (just after its `<!--`).
    at: u64,
    /// Number of spaces in it.
    len: usize,
    /// Number of snapshot grids the file lists.
    listed: usize,
}

/// The XDMF file as rank 0 last left it.
#[derive(Debug)]
pub(super) struct XdmfFile {
    path: PathBuf,
    /// The reserve, when the file has one and no write to it failed since.
    reserve: Option<Reserve>,
}

impl XdmfFile {
    /// The file at `path`, which this object will replace at the first [`XdmfFile::rewrite`].
    pub(super) fn new(path: PathBuf) -> Self {
        XdmfFile { path, reserve: None }
    }

    /// Makes the next update a rewrite (the grids written so far changed, e.g. a static field
    /// was added to every grid).
    pub(super) fn invalidate(&mut self) {
        self.reserve = None;
    }

    /// Replaces the file (write beside, then rename) with `grids`, which are `listed` snapshot
    /// grids (or the placeholder grid when `listed` is 0), followed by a reserve when `reserve`.
    pub(super) fn rewrite(&mut self, grids: &str, listed: usize, reserve: bool) -> Result<()> {
        self.reserve = None;
        let len = if reserve { grids.len().max(RESERVE_MIN) } else { 0 };
        let spaces = vec![b' '; len];
        let mut parts = vec![HEADER.as_bytes(), grids.as_bytes()];
        if reserve {
            parts.extend([RESERVE_OPEN.as_bytes(), &spaces, RESERVE_CLOSE.as_bytes()]);
        }
        parts.push(FOOTER.as_bytes());
        replace_file(&self.path, &parts)?;
        self.reserve = reserve.then_some(Reserve {
            at: (HEADER.len() + grids.len() + RESERVE_OPEN.len()) as u64,
            len,
            listed,
        });
        Ok(())
    }

    /// Appends `grid` as snapshot `listed` in place when the file lists exactly `listed`
    /// snapshots and its reserve can take the grid; returns whether it did (if not, the caller
    /// rewrites the file).
    pub(super) fn append(&mut self, grid: &str, listed: usize) -> Result<bool> {
        let Some(r) = self.reserve.filter(|r| r.listed == listed && listed > 0) else {
            return Ok(false);
        };
        let Some((writes, next)) = append_writes(r, grid) else {
            return Ok(false);
        };
        // Forget the reserve while the writes are under way: after a failed one the file still
        // is well-formed, but only a rewrite knows its layout again.
        self.reserve = None;
        let io = |source| Error::Io {
            path: self.path.display().to_string(),
            source,
        };
        let f = std::fs::OpenOptions::new().write(true).open(&self.path).map_err(io)?;
        for (offset, bytes) in &writes {
            f.write_all_at(bytes, *offset).map_err(io)?;
        }
        self.reserve = Some(next);
        Ok(true)
    }
}

/// Writes at file offsets, to be made in order.
type Writes = [(u64, Vec<u8>); 4];

/// The writes that append `grid` into the reserve `r`, and the reserve after them; `None` if
/// the grid does not fit or would end the comment early.
fn append_writes(r: Reserve, grid: &str) -> Option<(Writes, Reserve)> {
    let used = PRE.len() + grid.len() + POST.len();
    if grid.contains("--") || grid.ends_with('-') || used > r.len {
        return None;
    }
    let post = r.at + (PRE.len() + grid.len()) as u64;
    let body = [PRE, grid.as_bytes(), POST].concat();
    let writes = [
        (r.at, body),
        (r.at + PRE_FLIP as u64, b"-".to_vec()),
        (post + POST_DASH as u64, b"-".to_vec()),
        (post + POST_LT as u64, b"<".to_vec()),
    ];
    let next = Reserve {
        at: r.at + used as u64,
        len: r.len - used,
        listed: r.listed + 1,
    };
    Some((writes, next))
}

/// Replaces `path` with the concatenation of `parts` by writing `PATH.tmp` and renaming it, so
/// that a reader (or a run killed midway) sees the old file or the new one, never a mix.
pub(super) fn replace_file(path: &Path, parts: &[&[u8]]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| Error::Io { path, source }
    };
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    for part in parts {
        f.write_all(part).map_err(io(&tmp))?;
    }
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(k: usize, name: &str) -> String {
        format!(
            "      <Grid Name=\"mesh\" GridType=\"Uniform\">\n        <Time Value=\"{k}.0\"/>\n        \
             <Attribute Name=\"{name}\"><DataItem>a.h5:/fields/{name}/{k}</DataItem></Attribute>\n      </Grid>\n"
        )
    }

    /// Every state the file passes through during appends, partial writes included, checked by
    /// expat (Python's XML parser, as meshio uses): well-formed, listing the grids before or
    /// after the append.
    #[test]
    fn every_intermediate_state_of_an_append_is_well_formed() {
        let dir = std::env::temp_dir().join(format!("ddkit-xdmf-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join("a.xdmf");
        let mut x = XdmfFile::new(path.clone());
        x.rewrite(&grid(0, "u"), 1, true).expect("rewrite");
        let mut r = x.reserve.expect("a reserve");
        let mut doc = std::fs::read(&path).expect("read");
        // The replay: for each append, the document before it and its writes; Python applies
        // every prefix of every write in turn.
        let mut cases = Vec::new();
        let mut expected = 0;
        for k in 1..4 {
            let g = grid(k, "u-v");
            let (writes, next) = append_writes(r, &g).expect("fits");
            let ws: Vec<(u64, String)> = writes
                .iter()
                .map(|(o, b)| (*o, String::from_utf8(b.clone()).expect("ascii")))
                .collect();
            expected += writes.iter().map(|w| w.1.len()).sum::<usize>();
            cases.push(serde_json::json!({
                "doc": String::from_utf8(doc.clone()).expect("ascii"), "writes": ws, "before": k
            }));
            for (o, b) in &writes {
                let o = *o as usize;
                doc[o..o + b.len()].copy_from_slice(b);
            }
            r = next;
        }
        // The real file, appended through the file system, is the replayed document.
        for k in 1..4 {
            assert!(x.append(&grid(k, "u-v"), k).expect("append"), "append {k}");
        }
        assert_eq!(std::fs::read(&path).expect("read"), doc);
        // A grid with `--` or too large for the reserve is refused (the caller rewrites).
        assert!(!x.append(&grid(4, "u--v"), 4).expect("refused"));
        assert!(!x.append(&" ".repeat(RESERVE_MIN), 4).expect("refused"));
        assert!(!x.append(&grid(9, "u"), 9).expect("wrong count"));

        let script = r#"
import json, sys, xml.etree.ElementTree as ET
states = 0
for case in json.load(sys.stdin):
    doc = bytearray(case["doc"].encode())
    k = case["before"]
    for off, text in case["writes"]:
        data = text.encode()
        for n in range(1, len(data) + 1):
            cur = bytearray(doc)
            cur[off:off + n] = data[:n]
            root = ET.fromstring(bytes(cur))
            grids = root.findall("./Domain/Grid/Grid")
            assert len(grids) in (k, k + 1), (len(grids), k)
            states += 1
        doc[off:off + len(data)] = data
    assert len(ET.fromstring(bytes(doc)).findall("./Domain/Grid/Grid")) == k + 1
print(states)
"#;
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("/usr/bin/python3");
        let input = serde_json::to_vec(&cases).expect("json");
        child.stdin.take().expect("stdin").write_all(&input).expect("write");
        let out = child.wait_with_output().expect("python");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let states: usize = String::from_utf8_lossy(&out.stdout).trim().parse().expect("count");
        assert_eq!(states, expected, "states replayed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

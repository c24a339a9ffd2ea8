//! Reader for binary Gmsh MSH files (versions 2.2 and 4.1, as `gmsh -bin` writes them). It feeds
//! the same [`Builder`] as the ASCII reader in the parent module, so both encodings of one mesh give
//! the same [`Mesh`]: same nodes in the same order, cells, facets, tags and names.
//!
//! Layout (Gmsh reference manual, "MSH file format"): the `$MeshFormat` line
//! `version file-type data-size` is followed by the integer 1 written in binary, which reveals the
//! byte order. Section headers, `$PhysicalNames` and the 2.2 node / element counts stay ASCII
//! lines; the rest is raw little-endian data. In 2.2 every integer is an int32 and `$Elements`
//! comes in blocks (`type count ntags` header, then `number tags... nodes...` per element). In 4.1
//! counts and node / element tags are `size_t` of `data-size` bytes, while entity tags,
//! dimensions, element types and physical tags are int32; coordinates are f64 everywhere.
//!
//! Nothing read from the file is trusted: every count is checked against the bytes left before
//! anything is allocated or looped over, reads past the end become errors, and every error
//! names the byte offset where the problem was seen.

use super::{element_kind, quote, Builder, Version, MAX_ELEMENT_NODES, PARAMETRIC_22};
use crate::error::{Error, Result};
use crate::mesh::Mesh;

/// Whether `bytes` start like a binary MSH file: `$MeshFormat`, a version, then file type 1.
pub(super) fn is_binary(bytes: &[u8]) -> bool {
    let mut toks = bytes.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty());
    toks.next() == Some(b"$MeshFormat") && toks.nth(1) == Some(b"1")
}

/// Parses a binary MSH 2.2 or 4.1 file; `path` is only used in error messages.
pub(super) fn parse(bytes: &[u8], path: &str) -> Result<Mesh> {
    let mut r = Bytes {
        buf: bytes,
        pos: 0,
        path,
        size_t: 8,
    };
    let mut b = Builder::default();
    while let Some((at, line)) = r.header()? {
        let Some(section) = line.strip_prefix(b"$") else {
            let msg = format!("expected a section header such as $Nodes, found '{}'", quote(line));
            return Err(r.err_at(at, msg));
        };
        let v41 = match b.version {
            Some(v) => v == Version::V41,
            None if section == b"MeshFormat" => false,
            None => {
                let msg = format!("'{}' before $MeshFormat (not a Gmsh MSH file?)", quote(line));
                return Err(r.err_at(at, msg));
            }
        };
        match section {
            b"MeshFormat" => {
                let (version, size_t) = read_format(&mut r)?;
                (b.version, r.size_t) = (Some(version), size_t);
            }
            b"PhysicalNames" => read_names(&mut r, &mut b)?,
            b"Entities" if v41 => read_entities(&mut r, &mut b)?,
            b"Nodes" if v41 => read_nodes41(&mut r, &mut b)?,
            b"Nodes" => read_nodes22(&mut r, &mut b)?,
            b"ParametricNodes" if !v41 => return Err(r.err_at(at, PARAMETRIC_22)),
            b"Elements" if b.points.is_empty() => {
                return Err(r.err_at(at, "$Elements before (or without) $Nodes"));
            }
            b"Elements" if v41 => read_elements41(&mut r, &mut b)?,
            b"Elements" => read_elements22(&mut r, &mut b)?,
            _ if section.starts_with(b"End") => {
                let msg = format!("'{}' without a matching section start", quote(line));
                return Err(r.err_at(at, msg));
            }
            // $Periodic, $NodeData, ...: not needed for a mesh, skipped whole.
            _ => r.skip_section(at, section)?,
        }
    }
    if b.version.is_none() {
        return Err(Error::mesh(
            path,
            "no $MeshFormat section (empty or not a Gmsh MSH file)",
        ));
    }
    b.finish(path)
}

/// A little-endian reader over the file's bytes that knows its offset for error messages.
struct Bytes<'a> {
    buf: &'a [u8],
    /// Offset of the next unread byte; never beyond `buf.len()`.
    pos: usize,
    path: &'a str,
    /// Width in bytes of a 4.1 `size_t` (the data-size of `$MeshFormat`).
    size_t: usize,
}

/// Decodes a little-endian unsigned integer of up to eight bytes.
fn le_uint(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |acc, &b| acc << 8 | u64::from(b))
}

impl<'a> Bytes<'a> {
    /// A mesh error located at byte `at`.
    fn err_at(&self, at: usize, msg: impl std::fmt::Display) -> Error {
        Error::mesh(self.path, format!("{msg} (byte {at})"))
    }

    /// Number of bytes not read yet.
    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes; `what` names them if the file ends first.
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n);
        let Some(s) = end.and_then(|end| self.buf.get(self.pos..end)) else {
            let left = self.left();
            let msg = format!("unexpected end of file while reading {what} ({n} bytes needed, {left} left)");
            return Err(self.err_at(self.pos, msg));
        };
        self.pos += n;
        Ok(s)
    }

    fn i32(&mut self, what: &str) -> Result<i32> {
        let s = self.take(4, what)?;
        Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// A non-negative int32 as a tag or count (2.2 node numbers, block sizes, ...).
    fn u32(&mut self, what: &str) -> Result<u64> {
        let at = self.pos;
        let v = self.i32(what)?;
        u64::try_from(v).map_err(|_| self.err_at(at, format!("invalid {what} {v}")))
    }

    /// A 4.1 `size_t`.
    fn size(&mut self, what: &str) -> Result<u64> {
        Ok(le_uint(self.take(self.size_t, what)?))
    }

    /// A finite f64 coordinate.
    fn coord(&mut self) -> Result<f64> {
        let s = self.take(8, "coordinate")?;
        let x = f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]);
        if !x.is_finite() {
            return Err(self.err_at(self.pos - 8, format!("non-finite coordinate {x}")));
        }
        Ok(x)
    }

    /// `n` (read at byte `at`) as a count of items of at least `item_bytes` bytes each, refused
    /// when the rest of the file cannot hold that many: a garbage count must not drive an
    /// allocation or a long loop.
    fn bounded(&self, at: usize, n: u64, item_bytes: usize, what: &str) -> Result<usize> {
        let left = self.left();
        match usize::try_from(n) {
            Ok(n) if n <= left / item_bytes.max(1) => Ok(n),
            _ => Err(self.err_at(
                at,
                format!(
                    "{what} {n} cannot fit in the {left} bytes left ({item_bytes} or more bytes \
                     each): a garbage count or a truncated file"
                ),
            )),
        }
    }

    /// The next ASCII line without its line break (and without a `\r` before it).
    fn line(&mut self, what: &str) -> Result<&'a [u8]> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            return Err(self.err_at(self.pos, format!("unexpected end of file while reading {what}")));
        }
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += (len + 1).min(rest.len());
        let l = rest.get(..len).unwrap_or(&[]);
        Ok(l.strip_suffix(b"\r").unwrap_or(l))
    }

    /// A number written as an ASCII line (the counts of `$PhysicalNames` and of 2.2 sections).
    fn ascii_count(&mut self, what: &str) -> Result<(usize, u64)> {
        let at = self.pos;
        let l = self.line(what)?;
        let n = std::str::from_utf8(l).ok().and_then(|t| t.trim().parse().ok());
        n.map(|n| (at, n))
            .ok_or_else(|| self.err_at(at, format!("invalid {what} '{}'", quote(l))))
    }

    fn skip_whitespace(&mut self) {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos += rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    }

    /// The next section header line and its offset; `None` at the end of the file.
    fn header(&mut self) -> Result<Option<(usize, &'a [u8])>> {
        self.skip_whitespace();
        if self.left() == 0 {
            return Ok(None);
        }
        let at = self.pos;
        Ok(Some((at, self.line("section header")?)))
    }

    /// Consumes the `$End<section>` line that must follow a section's announced content (Gmsh
    /// writes a line break between binary data and the marker).
    fn expect_end(&mut self, section: &str) -> Result<()> {
        self.skip_whitespace();
        let at = self.pos;
        if self.left() == 0 {
            return Err(self.err_at(at, format!("unexpected end of file: missing $End{section}")));
        }
        let l = self.line("end marker")?;
        if l.trim_ascii_end().strip_prefix(b"$End") == Some(section.as_bytes()) {
            return Ok(());
        }
        let msg = format!(
            "expected $End{section}, found '{}' (more entries than announced, or a missing end \
             marker?)",
            quote(l)
        );
        Err(self.err_at(at, msg))
    }

    /// Skips a section ddkit does not need (its content may be binary) up to its end marker.
    fn skip_section(&mut self, at: usize, section: &[u8]) -> Result<()> {
        let end = [b"$End".as_slice(), section].concat();
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        match rest.windows(end.len()).position(|w| w == end.as_slice()) {
            Some(i) => {
                self.pos += i;
                self.line("end marker").map(drop)
            }
            None => {
                let section = quote(section);
                let msg = format!("section ${section} has no $End{section}");
                Err(self.err_at(at, msg))
            }
        }
    }
}

/// Reads the rest of `$MeshFormat`: the format line, the binary 1 and the end marker. Returns the
/// version and the width of `size_t`.
fn read_format(r: &mut Bytes) -> Result<(Version, usize)> {
    let at = r.pos;
    let line = r.line("the format line")?;
    let mut toks = line.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty());
    let (Some(vtok), Some(ftok), Some(dtok)) = (toks.next(), toks.next(), toks.next()) else {
        let msg = format!("expected 'version file-type data-size', found '{}'", quote(line));
        return Err(r.err_at(at, msg));
    };
    let number = |t: &[u8]| std::str::from_utf8(t).ok().and_then(|t| t.parse::<f64>().ok());
    let version = match number(vtok) {
        Some(4.1) => Version::V41,
        Some(2.2) => Version::V22,
        Some(_) => {
            let msg = "(ddkit reads 2.2 and 4.1; re-export with -format msh41)";
            return Err(r.err_at(at, format!("unsupported MSH version {} {msg}", quote(vtok))));
        }
        None => return Err(r.err_at(at, format!("invalid MSH version '{}'", quote(vtok)))),
    };
    if ftok != b"1" {
        return Err(r.err_at(at, format!("invalid MSH file type '{}' for a binary file", quote(ftok))));
    }
    // 2.2 names the size of its floating-point numbers, 4.1 that of its size_t; f64 either way
    // for coordinates, and 4- or 8-byte size_t are both plausible writers.
    let size_t = match (version, dtok) {
        (Version::V22, b"8") | (Version::V41, b"8") => 8,
        (Version::V41, b"4") => 4,
        _ => {
            let msg = format!("unsupported data size '{}' in a binary MSH file", quote(dtok));
            return Err(r.err_at(at, msg));
        }
    };
    let at = r.pos;
    let one = r.take(4, "the binary integer 1 after the format line")?;
    if one != 1i32.to_le_bytes() {
        let msg = if one == 1i32.to_be_bytes() {
            "byte-swapped binary MSH file (written on a big-endian machine): ddkit reads \
             little-endian files; re-export it as ASCII (-format msh41 without -bin)"
                .to_string()
        } else {
            format!("expected the binary integer 1 after the format line, found bytes {one:02x?}")
        };
        return Err(r.err_at(at, msg));
    }
    r.expect_end("MeshFormat")?;
    Ok((version, size_t))
}

/// `$PhysicalNames`, ASCII even in binary files: a count, then `dim tag "name"` lines.
fn read_names(r: &mut Bytes, b: &mut Builder) -> Result<()> {
    let (at, n) = r.ascii_count("number of physical names")?;
    // Shortest line: "1 1\n".
    let n = r.bounded(at, n, 4, "number of physical names")?;
    for _ in 0..n {
        let at = r.pos;
        let text = String::from_utf8_lossy(r.line("physical name")?);
        let mut parts = text.trim().splitn(3, |c: char| c.is_ascii_whitespace());
        let dim = parts.next().and_then(|t| t.parse::<usize>().ok());
        let tag = parts.next().and_then(|t| t.parse::<i32>().ok());
        let (Some(dim), Some(tag)) = (dim, tag) else {
            let msg = format!("invalid physical name line '{}'", quote(text.as_bytes()));
            return Err(r.err_at(at, msg));
        };
        let raw = parts.next().unwrap_or("").trim();
        b.add_name(dim, tag, raw).map_err(|m| r.err_at(at, m))?;
    }
    r.expect_end("PhysicalNames")
}

/// 4.1 `$Entities`: only the entity → first physical tag maps are kept.
fn read_entities(r: &mut Bytes, b: &mut Builder) -> Result<()> {
    let mut counts = [0usize; 4];
    for (dim, c) in counts.iter_mut().enumerate() {
        let at = r.pos;
        let n = r.size("number of entities")?;
        // A point is a tag, three coordinates and a count; higher entities have a box and two.
        let min = if dim == 0 {
            4 + 24 + r.size_t
        } else {
            4 + 48 + 2 * r.size_t
        };
        *c = r.bounded(at, n, min, "number of entities")?;
    }
    for (dim, &count) in counts.iter().enumerate() {
        for _ in 0..count {
            let tag = r.i32("entity tag")?;
            r.take(if dim == 0 { 24 } else { 48 }, "entity coordinates")?;
            let at = r.pos;
            let n = r.size("number of physical tags")?;
            let nphys = r.bounded(at, n, 4, "number of physical tags")?;
            if nphys > 0 {
                // Several groups on one entity: the first one wins, as in the ASCII reader.
                let first = r.i32("physical tag")?;
                b.entity_phys[dim].insert(tag, first);
                r.take(4 * (nphys - 1), "physical tags")?;
            }
            if dim > 0 {
                let at = r.pos;
                let n = r.size("number of bounding entities")?;
                let nbound = r.bounded(at, n, 4, "number of bounding entities")?;
                r.take(4 * nbound, "bounding entity tags")?;
            }
        }
    }
    r.expect_end("Entities")
}

/// 2.2 `$Nodes`: an ASCII count, then `int32 number, 3 × f64` per node.
fn read_nodes22(r: &mut Bytes, b: &mut Builder) -> Result<()> {
    let (at, n) = r.ascii_count("number of nodes")?;
    let n = r.bounded(at, n, 4 + 24, "number of nodes")?;
    b.points.reserve(n);
    for _ in 0..n {
        let at = r.pos;
        let tag = r.u32("node number")?;
        let x = [r.coord()?, r.coord()?, r.coord()?];
        b.add_node(tag, x).map_err(|m| r.err_at(at, m))?;
    }
    r.expect_end("Nodes")
}

/// 4.1 `$Nodes`: blocks per entity, each with all its node tags, then all its coordinates.
fn read_nodes41(r: &mut Bytes, b: &mut Builder) -> Result<()> {
    let st = r.size_t;
    let at = r.pos;
    let (nblocks, total) = (r.size("number of node blocks")?, r.size("number of nodes")?);
    r.take(2 * st, "min/max node tag")?;
    let nblocks = r.bounded(at, nblocks, 12 + st, "number of node blocks")?;
    let total = r.bounded(at, total, st + 24, "number of nodes")?;
    b.points.reserve(total);
    let mut seen = 0usize;
    for _ in 0..nblocks {
        let at = r.pos;
        let dim = r.i32("node block entity dimension")?;
        let _entity = r.i32("node block entity tag")?;
        let parametric = r.i32("node block parametric flag")?;
        let (Ok(dim @ 0..=3), Ok(parametric @ 0..=1)) = (usize::try_from(dim), usize::try_from(parametric)) else {
            let msg = format!("invalid node block (dimension {dim}, parametric {parametric})");
            return Err(r.err_at(at, msg));
        };
        let n = r.size("number of nodes in block")?;
        // Parametric nodes carry `dim` extra coordinates that ddkit does not need.
        let extra = 8 * parametric * dim;
        let n = r.bounded(at, n, st + 24 + extra, "number of nodes in block")?;
        let tags = r.take(n * st, "node tags")?;
        for tag in tags.chunks_exact(st) {
            let at = r.pos;
            let x = [r.coord()?, r.coord()?, r.coord()?];
            b.add_node(le_uint(tag), x).map_err(|m| r.err_at(at, m))?;
            r.take(extra, "parametric coordinates")?;
        }
        seen += n;
    }
    if seen != total {
        let msg = format!("$Nodes announces {total} nodes, its blocks hold {seen}");
        return Err(r.err_at(r.pos, msg));
    }
    r.expect_end("Nodes")
}

/// 2.2 `$Elements`: an ASCII count, then blocks of one element type, each a header
/// `type count ntags` and per element `number tags... nodes...` (int32 throughout).
fn read_elements22(r: &mut Bytes, b: &mut Builder) -> Result<()> {
    let (at, total) = r.ascii_count("number of elements")?;
    // Shortest element: a point without tags (number and one node).
    let total = r.bounded(at, total, 8, "number of elements")?;
    let mut seen = 0usize;
    while seen < total {
        let at = r.pos;
        let etype = r.i32("element type")?;
        let kind = element_kind(etype).map_err(|m| r.err_at(at, m))?;
        let count = r.u32("number of elements in block")?;
        let ntags = r.u32("number of element tags")?;
        let ntags = r.bounded(at, ntags, 4, "number of element tags")?;
        let count = r.bounded(at, count, 4 * (1 + ntags + kind.1), "number of elements in block")?;
        if count == 0 || count > total - seen {
            let msg = format!(
                "element block of {count} elements, but {} of the announced {total} are left",
                total - seen
            );
            return Err(r.err_at(at, msg));
        }
        for _ in 0..count {
            let at = r.pos;
            let etag = r.u32("element number")?;
            // The first tag is the physical group, the second the elementary entity.
            let phys = if ntags > 0 { r.i32("physical tag")? } else { 0 };
            r.take(4 * ntags.saturating_sub(1), "element tags")?;
            let mut nodes = [0u64; MAX_ELEMENT_NODES];
            for slot in nodes.iter_mut().take(kind.1) {
                *slot = r.u32("element node number")?;
            }
            let nodes = nodes.get(..kind.1).unwrap_or(&[]);
            b.add_element(etag, kind, nodes, phys).map_err(|m| r.err_at(at, m))?;
        }
        seen += count;
    }
    r.expect_end("Elements")
}

/// 4.1 `$Elements`: blocks per entity and element type; the physical tag comes from the entity.
fn read_elements41(r: &mut Bytes, b: &mut Builder) -> Result<()> {
    let st = r.size_t;
    let at = r.pos;
    let (nblocks, total) = (r.size("number of element blocks")?, r.size("number of elements")?);
    r.take(2 * st, "min/max element tag")?;
    let nblocks = r.bounded(at, nblocks, 12 + st, "number of element blocks")?;
    let total = r.bounded(at, total, 2 * st, "number of elements")?;
    let mut seen = 0usize;
    for _ in 0..nblocks {
        let at = r.pos;
        let edim = r.i32("block entity dimension")?;
        let entity = r.i32("block entity tag")?;
        let etype = r.i32("element type")?;
        let kind = element_kind(etype).map_err(|m| r.err_at(at, m))?;
        if usize::try_from(edim) != Ok(kind.0) {
            return Err(r.err_at(at, format!("element type {etype} in a block of dimension {edim}")));
        }
        let n = r.size("number of elements in block")?;
        let n = r.bounded(at, n, (1 + kind.1) * st, "number of elements in block")?;
        // Untagged entities (or a file without $Entities) give tag 0.
        let phys = b
            .entity_phys
            .get(kind.0)
            .and_then(|m| m.get(&entity))
            .copied()
            .unwrap_or(0);
        for _ in 0..n {
            let at = r.pos;
            let etag = r.size("element tag")?;
            let mut nodes = [0u64; MAX_ELEMENT_NODES];
            for slot in nodes.iter_mut().take(kind.1) {
                *slot = r.size("element node tag")?;
            }
            let nodes = nodes.get(..kind.1).unwrap_or(&[]);
            b.add_element(etag, kind, nodes, phys).map_err(|m| r.err_at(at, m))?;
        }
        seen += n;
    }
    if seen != total {
        let msg = format!("$Elements announces {total} elements, its blocks hold {seen}");
        return Err(r.err_at(r.pos, msg));
    }
    r.expect_end("Elements")
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, read};
    use super::*;
    use std::path::{Path, PathBuf};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gmsh").join(name)
    }

    fn bytes(name: &str) -> Vec<u8> {
        std::fs::read(data(name)).expect("fixture")
    }

    /// Asserts that two readings of one mesh agree: same nodes in the same order (up to the last
    /// digit that ASCII files round away), cells, facets, tags and names.
    fn assert_same(a: &Mesh, b: &Mesh, what: &str) {
        assert_eq!((a.gdim, a.cell_type), (b.gdim, b.cell_type), "{what}");
        assert_eq!(a.points.len(), b.points.len(), "{what}");
        for (i, (p, q)) in a.points.iter().zip(&b.points).enumerate() {
            let d = (0..3).map(|k| (p[k] - q[k]).abs()).fold(0.0, f64::max);
            assert!(d <= 1e-15, "{what}: node {i} at {p:?} vs {q:?}");
        }
        assert_eq!(a.cells, b.cells, "{what}");
        assert_eq!(a.cell_tags, b.cell_tags, "{what}");
        assert_eq!(a.facets, b.facets, "{what}");
        assert_eq!(a.facet_tags, b.facet_tags, "{what}");
        assert_eq!(a.names, b.names, "{what}");
    }

    /// The error of parsing `b`, which must be an [`Error::Mesh`].
    fn mesh_err(b: &[u8]) -> String {
        match parse_bytes(b, "t.msh") {
            Err(e @ Error::Mesh { .. }) => e.to_string(),
            Err(e) => panic!("not a mesh error: {e}"),
            Ok(_) => panic!("parsed"),
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).position(|w| w == needle).expect("marker")
    }

    #[test]
    fn committed_binary_squares_match_ascii() {
        let ascii = read(&data("square_a41.msh")).unwrap();
        assert_eq!((ascii.num_cells(), ascii.num_facets(), ascii.names.len()), (14, 8, 5));
        for f in ["square_b22.msh", "square_b41.msh"] {
            assert!(is_binary(&bytes(f)), "{f}");
            assert_same(&ascii, &read(&data(f)).unwrap(), f);
        }
        assert!(!is_binary(&bytes("square_a41.msh")));
    }

    /// Runs `gmsh -DIM GEO -setnumber h H ARGS -o OUT`; false when gmsh is not installed.
    fn gmsh(geo: &str, dim: &str, h: &str, args: &[&str], out: &Path) -> bool {
        let geo = Path::new(env!("CARGO_MANIFEST_DIR")).join("meshes").join(geo);
        let run = std::process::Command::new("gmsh")
            .arg(dim)
            .arg(&geo)
            .args(["-setnumber", "h", h])
            .args(args)
            .arg("-o")
            .arg(out)
            .output();
        match run {
            Ok(o) if o.status.success() => true,
            Ok(o) => panic!("gmsh failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(_) => false,
        }
    }

    /// Every encoding gmsh writes of a 2D mesh with physical groups, a 3D tetrahedral one and one
    /// with parametric nodes parses to the ASCII 4.1 reading.
    #[test]
    fn gmsh_binary_files_match_ascii() {
        let dir = std::env::temp_dir().join(format!("ddkit-gmsh-binary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("unit_square.geo", "-2", "0.1", &[][..], 2),
            ("box3d.geo", "-3", "0.3", &[][..], 3),
            ("lshape.geo", "-2", "0.2", &["-save_parametric"][..], 2),
        ];
        for (geo, dim, h, extra, tdim) in cases {
            let reference = dir.join("ref.msh");
            let args = [extra, &["-format", "msh41"]].concat();
            if !gmsh(geo, dim, h, &args, &reference) {
                eprintln!("gmsh is not installed: gmsh_binary_files_match_ascii skipped");
                return;
            }
            let ascii = read(&reference).unwrap();
            assert_eq!(ascii.cell_type.dim(), tdim);
            let mut fmts = vec![&["-format", "msh41", "-bin"][..]];
            if extra.is_empty() {
                // MSH 2.2 keeps parametric coordinates in a section ddkit refuses.
                fmts.extend([&["-format", "msh22"][..], &["-format", "msh22", "-bin"]]);
            }
            for fmt in fmts {
                let out = dir.join("other.msh");
                assert!(gmsh(geo, dim, h, &[extra, fmt].concat(), &out));
                assert_same(&ascii, &read(&out).unwrap(), &format!("{geo} {fmt:?}"));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn truncated_files_are_mesh_errors() {
        for f in ["square_b22.msh", "square_b41.msh"] {
            let b = bytes(f);
            let complete = find(&b, b"$EndElements") + b"$EndElements".len();
            for cut in 0..b.len() {
                match parse_bytes(&b[..cut], "t.msh") {
                    Ok(_) => assert!(cut >= complete, "{f} cut at {cut} parsed"),
                    Err(e @ Error::Mesh { .. }) => {
                        let e = e.to_string();
                        let located = e.contains("(byte ") || e.contains("no triangles");
                        assert!(located || cut < 20, "{f} cut at {cut}: {e}");
                    }
                    Err(e) => panic!("{f} cut at {cut}: {e}"),
                }
            }
        }
        let b = bytes("square_b41.msh");
        let at = find(&b, b"$Nodes\n") + 7;
        let e = mesh_err(&b[..at + 100]);
        assert!(e.contains("a garbage count or a truncated file (byte 749)"), "{e}");
        // A cut the counts cannot see is met where it is.
        let e = mesh_err(&b[..find(&b, b"$EndMeshFormat") - 3]);
        assert!(
            e.contains("unexpected end of file while reading the binary integer 1"),
            "{e}"
        );
    }

    /// Counts that promise more than the file holds fail at once, before any allocation.
    #[test]
    fn garbage_counts_are_refused() {
        let huge = (u64::MAX / 3).to_le_bytes();
        let b41 = bytes("square_b41.msh");
        let nodes = find(&b41, b"$Nodes\n") + 7;
        let elems = find(&b41, b"$Elements\n") + 10;
        let ents = find(&b41, b"$Entities\n") + 10;
        // (offset of an 8-byte count, what the error must name)
        let cases = [
            (nodes, "number of node blocks"),
            (nodes + 8, "number of nodes"),
            (nodes + 32 + 12, "number of nodes in block"),
            (elems, "number of element blocks"),
            (elems + 8, "number of elements"),
            (elems + 32 + 12, "number of elements in block"),
            (ents, "number of entities"),
            (ents + 32 + 4 + 24, "number of physical tags"),
        ];
        for (at, what) in cases {
            let mut b = b41.clone();
            b[at..at + 8].copy_from_slice(&huge);
            let e = mesh_err(&b);
            assert!(e.contains(what) && e.contains("cannot fit"), "{what}: {e}");
        }
        let b22 = bytes("square_b22.msh");
        let e = mesh_err(
            &[&b22[..], b"\n"]
                .concat()
                .replace_first(b"$Nodes\n12\n", b"$Nodes\n99999999999999999\n"),
        );
        assert!(e.contains("number of nodes 99999999999999999 cannot fit"), "{e}");
        let blocks = find(&b22, b"$Elements\n22\n") + 13;
        for (off, what) in [(4, "number of elements in block"), (8, "number of element tags")] {
            let mut b = b22.clone();
            b[blocks + off..blocks + off + 4].copy_from_slice(&i32::MAX.to_le_bytes());
            let e = mesh_err(&b);
            assert!(e.contains(what) && e.contains("cannot fit"), "{what}: {e}");
        }
    }

    /// A small extension for the test: replace the first occurrence of a byte string.
    trait ReplaceFirst {
        fn replace_first(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }
    impl ReplaceFirst for Vec<u8> {
        fn replace_first(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            let i = find(self, from);
            [&self[..i], to, &self[i + from.len()..]].concat()
        }
    }

    #[test]
    fn located_content_errors() {
        let b22 = bytes("square_b22.msh");
        // First element: header (12 bytes), then number, two tags, nodes.
        let elem = find(&b22, b"$Elements\n22\n") + 13 + 12;
        let mut b = b22.clone();
        b[elem + 12..elem + 16].copy_from_slice(&999i32.to_le_bytes());
        let e = mesh_err(&b);
        assert!(
            e.ends_with(&format!("element 1 references undefined node 999 (byte {elem})")),
            "{e}"
        );
        let mut b = b22.clone();
        b[elem - 12..elem - 8].copy_from_slice(&3i32.to_le_bytes());
        assert!(mesh_err(&b).contains("element type 3 (4-node quadrangle)"));

        let mut b = b22.clone();
        let one = find(&b, b"2.2 1 8\n") + 8;
        b[one..one + 4].copy_from_slice(&1i32.to_be_bytes());
        assert!(mesh_err(&b).contains(&format!("byte-swapped binary MSH file (written on a big-endian machine): ddkit reads little-endian files; re-export it as ASCII (-format msh41 without -bin) (byte {one})")));
        b[one..one + 4].copy_from_slice(b"abcd");
        assert!(mesh_err(&b).contains("expected the binary integer 1"));

        let e = mesh_err(&b22.replace_first(b"2.2 1 8", b"3.0 1 8"));
        assert!(e.contains("unsupported MSH version 3.0"), "{e}");
        let e = mesh_err(&b22.replace_first(b"2.2 1 8", b"2.2 1 4"));
        assert!(e.contains("unsupported data size '4'"), "{e}");
        let e = mesh_err(&b22.replace_first(b"$EndNodes", b"$EndNodez"));
        assert!(e.contains("expected $EndNodes, found '$EndNodez'"), "{e}");
        let e = mesh_err(&b22.replace_first(b"\"left\"", b"\"le\x1bt\""));
        assert!(
            e.contains(r"physical name 'le\u{1b}t' contains control characters"),
            "{e}"
        );
        // The ASCII parser, handed a binary file as text, says what to do instead.
        let e = super::super::parse(&String::from_utf8_lossy(&b22), "t.msh").unwrap_err();
        assert!(e.to_string().contains("binary MSH file given as text"), "{e}");
    }

    /// Random corruption anywhere never panics and only ever gives mesh errors.
    #[test]
    fn corrupted_files_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for f in ["square_b22.msh", "square_b41.msh"] {
            let clean = bytes(f);
            for _ in 0..3000 {
                let mut b = clean.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() % b.len() as u64) as usize;
                    b[i] = next() as u8;
                }
                if let Err(e) = parse_bytes(&b, "t.msh") {
                    assert!(matches!(e, Error::Mesh { .. }), "{e}");
                    let line = e.to_string();
                    assert!(line.chars().all(|c| c == ' ' || c.is_ascii_graphic()), "{line}");
                }
            }
        }
    }
}

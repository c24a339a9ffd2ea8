//! Reader for Gmsh MSH ASCII files, format versions 4.1 and 2.2, producing a global [`Mesh`].
//!
//! The mesh dimension is the highest dimension of the linear simplices present: triangles give a
//! 2D mesh, tetrahedra a 3D one. Elements one dimension lower (lines in 2D, triangles in 3D)
//! become the boundary facets; anything lower still (points, lines in 3D) is ignored. Region and
//! boundary tags are the Gmsh physical tags: in 4.1 they are attached to the geometric entities
//! of `$Entities`, in 2.2 they are the first tag of each element. Node tags are renumbered to
//! `0..n` in order of appearance (all nodes are kept), and cells are reoriented to positive area /
//! volume because the FEM assembly relies on it.
//!
//! The parser works on whitespace-separated tokens (how MSH spreads values over lines is not
//! significant, except for physical names) and never panics: every malformed input becomes an
//! [`Error::Mesh`] with the line number where the problem was seen.

use super::{CellType, Mesh, PhysicalName};
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

/// Reads the Gmsh MSH 2.2 or 4.1 ASCII file at `path`.
///
/// Errors: [`Error::Io`] when the file cannot be read, [`Error::Mesh`] when it is not a mesh
/// ddkit can use (binary, other version, unsupported elements, malformed or truncated content).
pub fn read(path: &std::path::Path) -> Result<Mesh> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: name.clone(),
        source,
    })?;
    // Lossy on purpose: a binary MSH file is not UTF-8, but its ASCII header is enough to
    // recognise it and say so, instead of a confusing "invalid UTF-8" error.
    parse(&String::from_utf8_lossy(&bytes), &name)
}

/// Parses the text of a Gmsh MSH 2.2 or 4.1 ASCII file; `path` is only used in error messages.
pub fn parse(text: &str, path: &str) -> Result<Mesh> {
    let mut cur = Cursor {
        lines: text.lines(),
        line: "",
        pos: 0,
        lineno: 0,
        path,
    };
    let mut b = Builder::default();
    while let Some(tok) = cur.next_token() {
        let Some(section) = tok.strip_prefix('$') else {
            return Err(cur.err(format!("expected a section header such as $Nodes, found '{tok}'")));
        };
        let v41 = match b.version {
            Some(v) => v == Version::V41,
            None if section == "MeshFormat" => false,
            None => return Err(cur.err(format!("{tok} before $MeshFormat (not a Gmsh MSH file?)"))),
        };
        match section {
            "MeshFormat" => b.version = Some(read_format(&mut cur)?),
            "PhysicalNames" => b.read_names(&mut cur)?,
            "Entities" if v41 => b.read_entities(&mut cur)?,
            "Nodes" => b.read_nodes(&mut cur, v41)?,
            "Elements" => b.read_elements(&mut cur, v41)?,
            _ if section.starts_with("End") => {
                return Err(cur.err(format!("{tok} without a matching section start")));
            }
            // $Periodic, $NodeData, $Comments, ...: not needed for a mesh, skipped whole.
            _ => cur.skip_section(section)?,
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

/// The two MSH versions ddkit reads; they differ in the layout of `$Nodes` and `$Elements`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Version {
    V22,
    V41,
}

/// A token cursor over the file text that tracks the current line for error messages.
struct Cursor<'a> {
    lines: std::str::Lines<'a>,
    line: &'a str,
    pos: usize,
    lineno: usize,
    path: &'a str,
}

impl<'a> Cursor<'a> {
    /// A mesh error located at the current line.
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::mesh(self.path, format!("{msg} (line {})", self.lineno))
    }

    /// Moves to the start of the next line; false at end of file.
    fn next_line(&mut self) -> bool {
        let Some(l) = self.lines.next() else {
            return false;
        };
        (self.line, self.pos, self.lineno) = (l, 0, self.lineno + 1);
        true
    }

    /// The next whitespace-separated token, crossing line breaks; `None` at end of file.
    fn next_token(&mut self) -> Option<&'a str> {
        loop {
            let rest = self.line.get(self.pos..).unwrap_or("");
            let trimmed = rest.trim_start();
            if !trimmed.is_empty() {
                let len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
                self.pos += rest.len() - trimmed.len() + len;
                return trimmed.get(..len);
            }
            if !self.next_line() {
                return None;
            }
        }
    }

    /// The unread remainder of the current line, trimmed (physical names may contain spaces).
    fn rest_of_line(&mut self) -> &'a str {
        let rest = self.line.get(self.pos..).unwrap_or("");
        self.pos = self.line.len();
        rest.trim()
    }

    /// The next token parsed as a number; `what` names it in the error message.
    fn num<T: FromStr>(&mut self, what: &str) -> Result<T> {
        let Some(tok) = self.next_token() else {
            return Err(self.err(format!("unexpected end of file while reading {what}")));
        };
        if tok.starts_with('$') {
            // The usual symptom of a count that promises more entries than the section holds.
            return Err(self.err(format!(
                "section ended early at {tok} while reading {what} (fewer entries than announced?)"
            )));
        }
        tok.parse().map_err(|_| self.err(format!("invalid {what} '{tok}'")))
    }

    /// Reads and discards `n` numbers of type `T` (fields ddkit does not need, still validated).
    fn skip_nums<T: FromStr>(&mut self, n: usize, what: &str) -> Result<()> {
        (0..n).try_for_each(|_| self.num::<T>(what).map(drop))
    }

    /// A finite coordinate (Rust would happily parse "NaN" and "inf").
    fn coord(&mut self) -> Result<f64> {
        let x: f64 = self.num("coordinate")?;
        if !x.is_finite() {
            return Err(self.err(format!("non-finite coordinate {x}")));
        }
        Ok(x)
    }

    /// Consumes the `$End<section>` marker that must follow a section's announced content.
    fn expect_end(&mut self, section: &str) -> Result<()> {
        match self.next_token() {
            Some(tok) if tok.strip_prefix("$End") == Some(section) => Ok(()),
            Some(tok) => Err(self.err(format!(
                "expected $End{section}, found '{tok}' (more entries than announced, or a missing \
                 end marker?)"
            ))),
            None => Err(self.err(format!("unexpected end of file: missing $End{section}"))),
        }
    }

    /// Skips an unknown section line by line up to its end marker (its content may be free text).
    fn skip_section(&mut self, section: &str) -> Result<()> {
        let (start, end) = (self.lineno, format!("$End{section}"));
        while self.next_line() {
            if self.line.trim() == end {
                self.pos = self.line.len();
                return Ok(());
            }
        }
        Err(self.err(format!("section ${section} opened at line {start} has no {end}")))
    }
}

/// Reads the body of `$MeshFormat`: version, file type (0 = ASCII, 1 = binary), data size.
fn read_format(cur: &mut Cursor) -> Result<Version> {
    let vtok = cur.next_token().unwrap_or("");
    let file_type: i32 = cur.num("file type")?;
    let _data_size: usize = cur.num("data size")?;
    let version = match vtok.parse::<f64>() {
        Ok(4.1) => Version::V41,
        Ok(2.2) => Version::V22,
        Ok(_) => {
            let msg = "(ddkit reads 2.2 and 4.1; re-export with -format msh41)";
            return Err(cur.err(format!("unsupported MSH version {vtok} {msg}")));
        }
        Err(_) => return Err(cur.err(format!("invalid MSH version '{vtok}'"))),
    };
    match file_type {
        0 => {}
        1 => {
            let msg = "binary MSH not supported, re-export with -format msh41 or Mesh.Binary=0";
            return Err(cur.err(msg));
        }
        t => return Err(cur.err(format!("invalid MSH file type {t} (0 = ASCII, 1 = binary)"))),
    }
    cur.expect_end("MeshFormat")?;
    Ok(version)
}

/// (dimension, number of nodes) of the element types ddkit reads, by Gmsh type number: 2-node
/// line, 3-node triangle, 4-node tetrahedron, 1-node point.
fn element_kind(cur: &Cursor, etype: i32) -> Result<(usize, usize)> {
    match etype {
        1 => Ok((1, 2)),
        2 => Ok((2, 3)),
        4 => Ok((3, 4)),
        15 => Ok((0, 1)),
        _ => {
            let what = match etype {
                3 => " (4-node quadrangle)",
                5 => " (8-node hexahedron)",
                9 => " (6-node second-order triangle)",
                11 => " (10-node second-order tetrahedron)",
                _ => "",
            };
            Err(cur.err(format!(
                "unsupported element type {etype}{what}; ddkit reads linear lines (1), \
                 triangles (2), tetrahedra (4) and points (15)"
            )))
        }
    }
}

/// Connectivity (as node indices) and physical tags of the elements of one dimension.
#[derive(Default)]
struct Elems {
    conn: Vec<u32>,
    tags: Vec<i32>,
}

/// The state accumulated while reading sections.
#[derive(Default)]
struct Builder {
    version: Option<Version>,
    names: Vec<PhysicalName>,
    /// Per entity dimension: entity tag → its first physical tag (MSH 4.1 only).
    entity_phys: [HashMap<i32, i32>; 4],
    node_index: HashMap<u64, u32>,
    points: Vec<[f64; 3]>,
    /// Elements by dimension 0..=3 (dimension 0 stays empty: points are ignored).
    elems: [Elems; 4],
}

/// Caps pre-allocations by announced counts, so a garbage count cannot exhaust memory.
fn cap(n: usize) -> usize {
    n.min(1 << 20)
}

impl Builder {
    fn read_names(&mut self, cur: &mut Cursor) -> Result<()> {
        let n: usize = cur.num("number of physical names")?;
        for _ in 0..n {
            let dim: usize = cur.num("physical name dimension")?;
            let tag: i32 = cur.num("physical tag")?;
            if dim > 3 {
                return Err(cur.err(format!("invalid physical name dimension {dim}")));
            }
            let raw = cur.rest_of_line();
            let name = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
            self.names.push(PhysicalName {
                dim,
                tag,
                name: name.to_string(),
            });
        }
        cur.expect_end("PhysicalNames")
    }

    /// MSH 4.1 `$Entities`: only the entity → physical tag maps are kept.
    fn read_entities(&mut self, cur: &mut Cursor) -> Result<()> {
        let mut counts = [0usize; 4];
        for c in counts.iter_mut() {
            *c = cur.num("number of entities")?;
        }
        for (dim, &count) in counts.iter().enumerate() {
            for _ in 0..count {
                let tag: i32 = cur.num("entity tag")?;
                // Points carry one coordinate triple, higher entities a bounding box.
                cur.skip_nums::<f64>(if dim == 0 { 3 } else { 6 }, "entity coordinate")?;
                let nphys: usize = cur.num("number of physical tags")?;
                if nphys > 0 {
                    // Several groups on one entity: the first one wins.
                    let first: i32 = cur.num("physical tag")?;
                    self.entity_phys[dim].insert(tag, first);
                    cur.skip_nums::<i32>(nphys - 1, "physical tag")?;
                }
                if dim > 0 {
                    let nbound: usize = cur.num("number of bounding entities")?;
                    cur.skip_nums::<i32>(nbound, "bounding entity tag")?;
                }
            }
        }
        cur.expect_end("Entities")
    }

    /// Registers node `tag` at `x`, refusing duplicate tags (they would make references ambiguous).
    fn add_node(&mut self, cur: &mut Cursor, tag: u64) -> Result<()> {
        let x = [cur.coord()?, cur.coord()?, cur.coord()?];
        let idx = u32::try_from(self.points.len()).map_err(|_| cur.err("too many nodes"))?;
        if self.node_index.insert(tag, idx).is_some() {
            return Err(cur.err(format!("node {tag} defined twice")));
        }
        self.points.push(x);
        Ok(())
    }

    fn read_nodes(&mut self, cur: &mut Cursor, v41: bool) -> Result<()> {
        if !v41 {
            // 2.2: a count, then one `tag x y z` per node.
            let n: usize = cur.num("number of nodes")?;
            self.points.reserve(cap(n));
            for _ in 0..n {
                let tag = cur.num("node tag")?;
                self.add_node(cur, tag)?;
            }
            return cur.expect_end("Nodes");
        }
        // 4.1: blocks per entity, each listing all its tags first, then all coordinates.
        let nblocks: usize = cur.num("number of node blocks")?;
        let total: usize = cur.num("number of nodes")?;
        cur.skip_nums::<u64>(2, "min/max node tag")?;
        self.points.reserve(cap(total));
        let mut seen = 0usize;
        for _ in 0..nblocks {
            let dim: usize = cur.num("node block entity dimension")?;
            let _entity: i32 = cur.num("node block entity tag")?;
            let parametric: u8 = cur.num("node block parametric flag")?;
            let n: usize = cur.num("number of nodes in block")?;
            if dim > 3 || parametric > 1 {
                let msg = format!("invalid node block (dimension {dim}, parametric {parametric})");
                return Err(cur.err(msg));
            }
            let mut tags = Vec::with_capacity(cap(n));
            for _ in 0..n {
                tags.push(cur.num::<u64>("node tag")?);
            }
            for tag in tags {
                self.add_node(cur, tag)?;
                // Parametric nodes carry `dim` extra parametric coordinates we do not need.
                cur.skip_nums::<f64>(usize::from(parametric) * dim, "parametric coordinate")?;
            }
            seen = seen.saturating_add(n);
        }
        if seen != total {
            return Err(cur.err(format!("$Nodes announces {total} nodes, its blocks hold {seen}")));
        }
        cur.expect_end("Nodes")
    }

    /// Reads the node references of element `etag` of `kind` and stores it with tag `phys`.
    fn add_element(&mut self, cur: &mut Cursor, etag: u64, kind: (usize, usize), phys: i32) -> Result<()> {
        let (dim, nn) = kind;
        let mut v = [0u32; 4];
        for slot in v.iter_mut().take(nn) {
            let t: u64 = cur.num("element node tag")?;
            let idx = self.node_index.get(&t);
            *slot = *idx.ok_or_else(|| cur.err(format!("element {etag} references undefined node {t}")))?;
        }
        if let (1..=3, Some(refs)) = (dim, v.get(..nn)) {
            self.elems[dim].conn.extend_from_slice(refs);
            self.elems[dim].tags.push(phys);
        }
        Ok(())
    }

    fn read_elements(&mut self, cur: &mut Cursor, v41: bool) -> Result<()> {
        // Resolving node references immediately gives errors their line numbers.
        if self.points.is_empty() {
            return Err(cur.err("$Elements before (or without) $Nodes"));
        }
        if !v41 {
            // 2.2: `tag type ntags tags... nodes...`; the first tag is the physical group, the
            // second the elementary entity.
            let n: usize = cur.num("number of elements")?;
            for _ in 0..n {
                let etag: u64 = cur.num("element tag")?;
                let etype: i32 = cur.num("element type")?;
                let kind = element_kind(cur, etype)?;
                let ntags: usize = cur.num("number of element tags")?;
                let phys = if ntags > 0 { cur.num("physical tag")? } else { 0 };
                cur.skip_nums::<i32>(ntags.saturating_sub(1), "element tag value")?;
                self.add_element(cur, etag, kind, phys)?;
            }
            return cur.expect_end("Elements");
        }
        // 4.1: blocks per entity and element type; the physical tag comes from the entity.
        let nblocks: usize = cur.num("number of element blocks")?;
        let total: usize = cur.num("number of elements")?;
        cur.skip_nums::<u64>(2, "min/max element tag")?;
        let mut seen = 0usize;
        for _ in 0..nblocks {
            let edim: usize = cur.num("block entity dimension")?;
            let entity: i32 = cur.num("block entity tag")?;
            let etype: i32 = cur.num("element type")?;
            let n: usize = cur.num("number of elements in block")?;
            let kind = element_kind(cur, etype)?;
            if kind.0 != edim {
                return Err(cur.err(format!("element type {etype} in a block of dimension {edim}")));
            }
            // Untagged entities (or a file without $Entities) give tag 0.
            let phys = self.entity_phys[edim].get(&entity).copied().unwrap_or(0);
            for _ in 0..n {
                let etag = cur.num("element tag")?;
                self.add_element(cur, etag, kind, phys)?;
            }
            seen = seen.saturating_add(n);
        }
        if seen != total {
            return Err(cur.err(format!("$Elements announces {total} elements, its blocks hold {seen}")));
        }
        cur.expect_end("Elements")
    }

    /// Picks cells and facets, orients the cells and assembles the [`Mesh`].
    fn finish(mut self, path: &str) -> Result<Mesh> {
        let (tdim, cell_type) = if !self.elems[3].tags.is_empty() {
            (3, CellType::Tetrahedron)
        } else if !self.elems[2].tags.is_empty() {
            (2, CellType::Triangle)
        } else {
            let msg = "no triangles or tetrahedra: the file has no 2D or 3D cells (does the .geo \
                       define a Physical Surface / Volume?)";
            return Err(Error::mesh(path, msg));
        };
        // MSH 2.2 writes an element once per physical group it belongs to; keep the first copy.
        let (mut cells, cell_tags) = dedup(std::mem::take(&mut self.elems[tdim]), tdim + 1);
        let (facets, facet_tags) = dedup(std::mem::take(&mut self.elems[tdim - 1]), tdim);
        let planar = self.points.iter().all(|p| p[2].abs() <= 1e-12);
        let gdim = if tdim == 3 || !planar { 3 } else { 2 };
        // Orientation is only defined for triangles in the plane and for tetrahedra; a triangle
        // surface embedded in 3D is left as written.
        if gdim == tdim {
            orient(&self.points, &mut cells, tdim).map_err(|m| Error::mesh(path, m))?;
        }
        let names = self.names;
        let (points, grid) = (self.points, None);
        Ok(Mesh {
            gdim,
            points,
            cell_type,
            cells,
            cell_tags,
            facets,
            facet_tags,
            names,
            grid,
        })
    }
}

/// Removes repeated elements (same vertex set), keeping the first occurrence and its tag.
fn dedup(elems: Elems, nv: usize) -> (Vec<u32>, Vec<i32>) {
    let mut seen = HashSet::with_capacity(elems.tags.len());
    let mut out = Elems::default();
    for (c, &t) in elems.conn.chunks_exact(nv).zip(&elems.tags) {
        let mut key = [u32::MAX; 4];
        key.iter_mut().zip(c).for_each(|(k, &v)| *k = v);
        key.sort_unstable();
        if seen.insert(key) {
            out.conn.extend_from_slice(c);
            out.tags.push(t);
        }
    }
    (out.conn, out.tags)
}

/// Twice the signed area (triangles, xy plane) or six times the signed volume (tetrahedra).
fn signed_measure(points: &[[f64; 3]], c: &[u32]) -> f64 {
    let p = |i: usize| {
        c.get(i)
            .and_then(|&v| points.get(v as usize))
            .copied()
            .unwrap_or([0.0; 3])
    };
    let a = p(0);
    let d = |q: [f64; 3]| [q[0] - a[0], q[1] - a[1], q[2] - a[2]];
    let (u, v, w) = (d(p(1)), d(p(2)), d(p(3)));
    if c.len() == 3 {
        return u[0] * v[1] - u[1] * v[0];
    }
    u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0]) + u[2] * (v[0] * w[1] - v[1] * w[0])
}

/// Makes every cell positively oriented by swapping its last two vertices when needed.
fn orient(points: &[[f64; 3]], cells: &mut [u32], tdim: usize) -> std::result::Result<(), String> {
    for (i, c) in cells.chunks_exact_mut(tdim + 1).enumerate() {
        let m = signed_measure(points, c);
        if m == 0.0 || !m.is_finite() {
            let what = if tdim == 2 { "area" } else { "volume" };
            return Err(format!("cell {i} (vertices {c:?}) is degenerate: zero {what}"));
        }
        if m < 0.0 {
            c.swap(tdim - 1, tdim);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V41: &str = r#"$MeshFormat
4.1 0 8
$EndMeshFormat
$PhysicalNames
3
1 1 "left"
1 2 "rest of boundary"
2 7 "domain"
$EndPhysicalNames
$Comments
free text, skipped 1 2 3
$EndComments
$Entities
0 2 1 0
1 0 0 0 0 1 0 1 1 0
2 0 0 0 1 1 0 1 2 0
1 0 0 0 1 1 0 2 7 8 0
$EndEntities
$Nodes
1 4 10 40
2 1 0 4
40
10
30
20
0 1 0
0 0 0
1 1 0
1 0 0
$EndNodes
$Elements
3 6 1 6
1 1 1 1
1 40 10
1 2 1 3
2 10 20
3 20 30
4 30 40
2 1 2 2
5 10 20 30
6 10 40 30
$EndElements
$Periodic
0
$EndPeriodic
"#;

    const V22: &str = r#"$MeshFormat
2.2 0 8
$EndMeshFormat
$PhysicalNames
2
1 3 "boundary"
2 5 "domain"
$EndPhysicalNames
$Nodes
4
1 0 0 0
2 1 0 0
3 1 1 0
4 0 1 0
$EndNodes
$Elements
9
1 15 2 0 1 1
2 1 2 3 1 1 2
3 1 2 3 2 2 3
4 1 2 3 3 3 4
5 1 0 4 1
6 2 2 5 1 1 3 2
7 2 2 5 1 1 3 4
8 1 2 4 1 2 1
9 2 2 6 1 3 1 4
$EndElements
"#;

    /// Asserts that parsing `text` fails with a message containing every one of `parts`.
    fn fails(text: &str, parts: &[&str]) {
        let e = parse(text, "t.msh").expect_err("expected an error").to_string();
        assert!(parts.iter().all(|p| e.contains(p)), "{e}");
    }

    fn assert_oriented(m: &Mesh) {
        for c in 0..m.num_cells() {
            assert!(signed_measure(&m.points, m.cell(c)) > 0.0, "cell {c} not oriented");
        }
    }

    #[test]
    fn parses_v41() {
        let m = parse(V41, "t.msh").unwrap();
        assert_eq!((m.gdim, m.cell_type, m.num_cells()), (2, CellType::Triangle, 2));
        assert_eq!(m.num_points(), 4);
        assert_eq!(m.points[0], [0.0, 1.0, 0.0]); // tag 40 came first
        assert_eq!(m.cell_tags, vec![7, 7]);
        assert_eq!(m.num_facets(), 4);
        assert_eq!(m.facet_tags, vec![1, 2, 2, 2]);
        assert_eq!(m.facet(0), &[0, 1]);
        assert_eq!(m.names.len(), 3);
        assert_eq!(m.tag_of(1, "rest of boundary"), Some(2));
        assert_eq!(m.name_of(2, 7), "domain");
        assert!(m.grid.is_none());
        // Element 6 was written clockwise and must have been flipped.
        assert_eq!(m.cell(1), &[1, 2, 0]);
        assert_oriented(&m);
    }

    #[test]
    fn parses_v22() {
        let m = parse(V22, "t.msh").unwrap();
        assert_eq!((m.gdim, m.num_cells(), m.num_points()), (2, 2, 4));
        assert_eq!(m.cell_tags, vec![5, 5]); // the copy of element 7 (tag 6) is dropped
                                             // Element 8 repeats line 2 under physical 4: the first copy's tag 3 wins.
        assert_eq!(m.facet_tags, vec![3, 3, 3, 0]);
        assert_eq!(m.tag_of(1, "boundary"), Some(3));
        assert_eq!(m.cell(0), &[0, 1, 2]); // was 1 3 2, clockwise
        assert_oriented(&m);
    }

    #[test]
    fn tetrahedra_are_oriented_and_3d() {
        let text = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n1 0 0 0\n2 1 0 0\n3 0 1 0\n\
                    4 0 0 1\n$EndNodes\n$Elements\n2\n1 4 2 9 1 1 3 2 4\n2 2 2 4 1 1 2 3\n$EndElements\n";
        let m = parse(text, "t.msh").unwrap();
        assert_eq!((m.gdim, m.cell_type, m.num_facets()), (3, CellType::Tetrahedron, 1));
        assert_eq!((m.cell_tags[0], m.facet_tags[0]), (9, 4));
        assert_oriented(&m);
    }

    #[test]
    fn truncated_file() {
        let cut = V41.find("1 1 0\n1 0 0").unwrap();
        fails(&V41[..cut], &["end of file while reading coordinate (line 27)"]);
        fails(&V22.replace("$EndElements\n", ""), &["missing $EndElements"]);
        fails(
            &V22.replace("\n9\n", "\n10\n"),
            &["fewer entries than announced", "line 27"],
        );
        fails(
            &V22.replace("\n9\n", "\n8\n"),
            &["expected $EndElements, found '9'", "(line 26)"],
        );
        // No input may panic: parse every prefix of both samples.
        for text in [V41, V22] {
            for i in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
                let _ = parse(&text[..i], "t.msh");
            }
        }
    }

    #[test]
    fn rejects_other_versions_and_binary() {
        for v in ["4.0", "4", "3.0", "1.0"] {
            fails(
                &V41.replace("4.1 0 8", &format!("{v} 0 8")),
                &[&format!("MSH version {v} ")],
            );
        }
        fails(&V41.replace("4.1 0 8", "4.1 1 8"), &["binary MSH not supported"]);
        fails("hello\n", &["expected a section header"]);
        fails("", &["no $MeshFormat"]);
    }

    #[test]
    fn rejects_unknown_element_type() {
        let quad = V22.replace("7 2 2 5 1 1 3 4", "7 3 2 5 1 1 2 3 4");
        fails(&quad, &["element type 3 (4-node quadrangle)", "(line 24)"]);
        fails(&V41.replace("2 1 2 2", "2 1 9 2"), &["element type 9", "(line 39)"]);
    }

    #[test]
    fn rejects_undefined_node() {
        let text = V41.replace("3 20 30", "3 20 99");
        fails(&text, &["element 3 references undefined node 99 (line 37)"]);
    }

    #[test]
    fn rejects_garbage_numbers() {
        fails(
            &V22.replace("3 1 1 0", "3 1 1.x 0"),
            &["invalid coordinate '1.x' (line 13)"],
        );
        fails(
            &V41.replace("2 1 0 4", "2 1 0 four"),
            &["invalid number of nodes in block 'four'"],
        );
        fails(&V22.replace("2 1 0 0", "2 nan 0 0"), &["non-finite"]);
    }

    #[test]
    fn rejects_mesh_without_cells() {
        let text = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n2\n1 0 0 0\n2 1 0 0\n\
                    $EndNodes\n$Elements\n1\n1 1 0 1 2\n$EndElements\n";
        fails(text, &["no triangles or tetrahedra"]);
    }

    /// Every committed mesh parses, is oriented, has no unused nodes, and its boundary and region
    /// tags carry the names the `.geo` gave them.
    #[test]
    fn committed_meshes() {
        let square = ("left bottom right top", "domain");
        let cases = [
            ("unit_square", 2, square),
            ("unit_square_v22", 2, square),
            ("lshape", 2, ("boundary", "domain")),
            ("dfg_channel", 2, ("cylinder inflow outflow walls", "fluid")),
            ("two_regions", 2, ("boundary", "left_region right_region")),
            ("box3d", 3, ("xmax xmin ymax ymin zmax zmin", "domain")),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("meshes");
        for (file, dim, (facet_names, cell_names)) in cases {
            let m = read(&dir.join(format!("{file}.msh"))).unwrap();
            assert_eq!((m.gdim, m.cell_type.dim()), (dim, dim), "{file}");
            assert!(m.num_cells() > 0 && m.num_facets() > 0, "{file}");
            let mut used = vec![false; m.num_points()];
            m.cells.iter().for_each(|&v| used[v as usize] = true);
            assert!(used.iter().all(|&u| u), "{file}: unused nodes");
            assert_oriented(&m);
            for (names, d, tags) in [(facet_names, dim - 1, &m.facet_tags), (cell_names, dim, &m.cell_tags)] {
                let mut seen: Vec<String> = tags.iter().map(|&t| m.name_of(d, t)).collect();
                seen.sort();
                seen.dedup();
                let mut want: Vec<&str> = names.split(' ').collect();
                want.sort();
                assert_eq!(seen, want, "{file}");
            }
        }
        let (a, b) = (
            read(&dir.join("unit_square.msh")).unwrap(),
            read(&dir.join("unit_square_v22.msh")).unwrap(),
        );
        assert_eq!((a.num_cells(), a.num_facets()), (b.num_cells(), b.num_facets()));
        let r = read(&dir.join("two_regions.msh")).unwrap();
        assert_eq!(
            (r.tag_of(2, "left_region"), r.tag_of(2, "right_region")),
            (Some(1), Some(2))
        );
    }
}

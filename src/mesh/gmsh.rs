//! Reader for Gmsh MSH files, format versions 4.1 and 2.2, producing a global [`Mesh`]. This file
//! holds the ASCII parser and what both encodings share (the `Builder` that turns nodes and
//! elements into a mesh); binary files (`gmsh -bin`) are parsed by the `binary` submodule.
//!
//! The mesh dimension is the highest dimension of the simplices present: triangles give a 2D
//! mesh, tetrahedra a 3D one. Elements one dimension lower (lines in 2D, triangles in 3D) become
//! the boundary facets; anything lower still (points, lines in 3D) is ignored. Second-order meshes
//! (`gmsh -order 2`: 6-node triangles, 10-node tetrahedra, 3-node lines) are read with their
//! edge nodes where Gmsh put them, on the curved boundary, and give quadratic cells
//! ([`CellType::Triangle6`], [`CellType::Tetrahedron10`]) that P2 uses isoparametrically; one
//! file holds one order. Region and
//! boundary tags are the Gmsh physical tags: in 4.1 they are attached to the geometric entities
//! of `$Entities`, in 2.2 they are the first tag of each element. Node tags are renumbered to
//! `0..n` in order of appearance (all nodes are kept), and cells are reoriented to positive area /
//! volume because the FEM assembly relies on it.
//!
//! ddkit reads 2D meshes in the xy-plane: a triangle mesh must lie in one plane z = const (a
//! plane z = c is read as z = 0). Triangles spread over 3D — the surface mesh of a 3D geometry
//! from `gmsh -2` — are refused rather than silently projected onto the xy-plane.
//!
//! The parser works on whitespace-separated tokens (how MSH spreads values over lines is not
//! significant, except for physical names) and never panics: every malformed input becomes an
//! [`Error::Mesh`] with the line number where the problem was seen. File content quoted in an error
//! goes through `quote`, so garbage never reaches the terminal raw.

use super::{CellType, Mesh, PhysicalName};
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

mod binary;

/// Reads the Gmsh MSH 2.2 or 4.1 file at `path`, ASCII or binary.
///
/// Errors: [`Error::Io`] when the file cannot be read, [`Error::Mesh`] when it is not a mesh
/// ddkit can use (other version, unsupported elements, malformed or truncated content, a surface
/// mesh in 3D).
pub fn read(path: &std::path::Path) -> Result<Mesh> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: name.clone(),
        source,
    })?;
    parse_bytes(&bytes, &name)
}

/// Parses the content of a Gmsh MSH 2.2 or 4.1 file, ASCII or binary (told apart by the file
/// type of `$MeshFormat`); `path` is only used in error messages.
pub fn parse_bytes(bytes: &[u8], path: &str) -> Result<Mesh> {
    if binary::is_binary(bytes) {
        return binary::parse(bytes, path);
    }
    // Lossy on purpose: a stray non-UTF-8 byte then shows up (escaped) in the error where the
    // parser trips over it, instead of one "invalid UTF-8" for the whole file.
    parse(&String::from_utf8_lossy(bytes), path)
}

/// Parses the text of a Gmsh MSH 2.2 or 4.1 ASCII file; `path` is only used in error messages.
/// Binary files cannot travel as text: use [`parse_bytes`] or [`read`] for them.
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
            let msg = format!("expected a section header such as $Nodes, found '{}'", quote(tok));
            return Err(cur.err(msg));
        };
        let v41 = match b.version {
            Some(v) => v == Version::V41,
            None if section == "MeshFormat" => false,
            None => {
                let msg = format!("'{}' before $MeshFormat (not a Gmsh MSH file?)", quote(tok));
                return Err(cur.err(msg));
            }
        };
        match section {
            "MeshFormat" => b.version = Some(read_format(&mut cur)?),
            "PhysicalNames" => b.read_names(&mut cur)?,
            "Entities" if v41 => b.read_entities(&mut cur)?,
            "ParametricNodes" if !v41 => return Err(cur.err(PARAMETRIC_22)),
            "Nodes" => b.read_nodes(&mut cur, v41)?,
            "Elements" => b.read_elements(&mut cur, v41)?,
            _ if section.starts_with("End") => {
                return Err(cur.err(format!("'{}' without a matching section start", quote(tok))));
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

/// Refusal of the `$ParametricNodes` section of MSH 2.2 (`-save_parametric`), which replaces
/// `$Nodes` and which ddkit does not read.
const PARAMETRIC_22: &str = "$ParametricNodes (MSH 2.2 written with -save_parametric) \
     is not supported: re-export without -save_parametric, or as MSH 4.1";

/// Longest escaped text [`quote`] returns before it cuts off with `...`.
const QUOTE_MAX: usize = 32;

/// File content made fit for an error message: printable ASCII is kept, anything else is escaped
/// (`\n`, `\u{e9}`, `\x89` for bytes that are not UTF-8) and the result is cut to about
/// [`QUOTE_MAX`] characters plus `...`, so binary garbage never reaches a terminal raw or floods it.
/// Every place the Gmsh readers echo file content uses it.
fn quote(raw: impl AsRef<[u8]>) -> String {
    let mut out = String::new();
    let mut push = |piece: &str| {
        if out.len() + piece.len() > QUOTE_MAX {
            out.push_str("...");
            return false;
        }
        out.push_str(piece);
        true
    };
    for chunk in raw.as_ref().utf8_chunks() {
        for c in chunk.valid().chars() {
            let fits = if c == ' ' || c.is_ascii_graphic() {
                push(c.encode_utf8(&mut [0; 4]))
            } else {
                push(&c.escape_default().to_string())
            };
            if !fits {
                return out;
            }
        }
        for b in chunk.invalid() {
            if !push(&format!("\\x{b:02x}")) {
                return out;
            }
        }
    }
    out
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
                "section ended early at {} while reading {what} (fewer entries than announced?)",
                quote(tok)
            )));
        }
        tok.parse()
            .map_err(|_| self.err(format!("invalid {what} '{}'", quote(tok))))
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
                "expected $End{section}, found '{}' (more entries than announced, or a missing \
                 end marker?)",
                quote(tok)
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
        let section = quote(section);
        Err(self.err(format!(
            "section ${section} opened at line {start} has no $End{section}"
        )))
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
            return Err(cur.err(format!("unsupported MSH version {} {msg}", quote(vtok))));
        }
        Err(_) => return Err(cur.err(format!("invalid MSH version '{}'", quote(vtok)))),
    };
    match file_type {
        0 => {}
        1 => {
            // Only reachable through `parse`: `read` and `parse_bytes` send binary files to the
            // binary reader before any text conversion mangles them.
            let msg = "binary MSH file given as text: read it with gmsh::read or gmsh::parse_bytes";
            return Err(cur.err(msg));
        }
        t => return Err(cur.err(format!("invalid MSH file type {t} (0 = ASCII, 1 = binary)"))),
    }
    cur.expect_end("MeshFormat")?;
    Ok(version)
}

/// The most nodes of an element ddkit reads (the 10-node tetrahedron).
const MAX_ELEMENT_NODES: usize = 10;

/// (dimension, number of nodes) of the element types ddkit reads, by Gmsh type number: 2- and
/// 3-node lines, 3- and 6-node triangles, 4- and 10-node tetrahedra, 1-node point. The error is
/// the message alone: each reader adds the position (line or byte).
fn element_kind(etype: i32) -> std::result::Result<(usize, usize), String> {
    match etype {
        1 => Ok((1, 2)),
        2 => Ok((2, 3)),
        4 => Ok((3, 4)),
        8 => Ok((1, 3)),
        9 => Ok((2, 6)),
        11 => Ok((3, 10)),
        15 => Ok((0, 1)),
        _ => {
            let what = match etype {
                3 => " (4-node quadrangle)",
                5 => " (8-node hexahedron)",
                10 | 16 => " (second-order quadrangle)",
                _ => "",
            };
            Err(format!(
                "unsupported element type {etype}{what}; ddkit reads lines (1, 8), triangles \
                 (2, 9), tetrahedra (4, 11) of first or second order and points (15)"
            ))
        }
    }
}

/// Connectivity (as node indices) and physical tags of the elements of one dimension, all with
/// the same number of nodes (`None` before the first).
#[derive(Default)]
struct Elems {
    conn: Vec<u32>,
    tags: Vec<i32>,
    nodes: Option<usize>,
}

/// The state accumulated while reading sections, shared by the ASCII and the binary reader so
/// both give the same [`Mesh`]. Its checks return bare messages; the readers add the position.
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
    /// Records physical name `raw` (the rest of its line, quotes included) of group `tag`.
    fn add_name(&mut self, dim: usize, tag: i32, raw: &str) -> std::result::Result<(), String> {
        if dim > 3 {
            return Err(format!("invalid physical name dimension {dim}"));
        }
        let name = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
        // Names end up in later error messages and reports, far from this reader's escaping.
        if name.chars().any(char::is_control) {
            let msg = format!("physical name '{}' contains control characters", quote(name));
            return Err(msg);
        }
        self.names.push(PhysicalName {
            dim,
            tag,
            name: name.to_string(),
        });
        Ok(())
    }

    fn read_names(&mut self, cur: &mut Cursor) -> Result<()> {
        let n: usize = cur.num("number of physical names")?;
        for _ in 0..n {
            let dim: usize = cur.num("physical name dimension")?;
            let tag: i32 = cur.num("physical tag")?;
            let raw = cur.rest_of_line();
            self.add_name(dim, tag, raw).map_err(|m| cur.err(m))?;
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
    fn add_node(&mut self, tag: u64, x: [f64; 3]) -> std::result::Result<(), String> {
        let idx = u32::try_from(self.points.len()).map_err(|_| "too many nodes".to_string())?;
        if self.node_index.insert(tag, idx).is_some() {
            return Err(format!("node {tag} defined twice"));
        }
        self.points.push(x);
        Ok(())
    }

    /// Reads the coordinates of node `tag` and registers it.
    fn read_node(&mut self, cur: &mut Cursor, tag: u64) -> Result<()> {
        let x = [cur.coord()?, cur.coord()?, cur.coord()?];
        self.add_node(tag, x).map_err(|m| cur.err(m))
    }

    fn read_nodes(&mut self, cur: &mut Cursor, v41: bool) -> Result<()> {
        if !v41 {
            // 2.2: a count, then one `tag x y z` per node.
            let n: usize = cur.num("number of nodes")?;
            self.points.reserve(cap(n));
            for _ in 0..n {
                let tag = cur.num("node tag")?;
                self.read_node(cur, tag)?;
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
                self.read_node(cur, tag)?;
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

    /// Stores element `etag` of `kind` on the nodes tagged `nodes`, with physical tag `phys`.
    /// Second-order tetrahedra get ddkit's (VTK's) edge order: Gmsh stores the midpoints of
    /// edges 23 and 13 the other way round.
    fn add_element(
        &mut self,
        etag: u64,
        kind: (usize, usize),
        nodes: &[u64],
        phys: i32,
    ) -> std::result::Result<(), String> {
        let (dim, nn) = kind;
        let mut v = [0u32; MAX_ELEMENT_NODES];
        for (slot, t) in v.iter_mut().zip(nodes).take(nn) {
            let idx = self.node_index.get(t);
            *slot = *idx.ok_or_else(|| format!("element {etag} references undefined node {t}"))?;
        }
        if nn == 10 {
            v.swap(8, 9);
        }
        if let (1..=3, Some(refs)) = (dim, v.get(..nn)) {
            let elems = &mut self.elems[dim];
            match elems.nodes {
                Some(n) if n != nn => {
                    return Err(format!(
                        "element {etag} has {nn} nodes, earlier elements of dimension {dim} {n}: \
                         ddkit reads meshes of one order (all first- or all second-order elements)"
                    ))
                }
                _ => elems.nodes = Some(nn),
            }
            elems.conn.extend_from_slice(refs);
            elems.tags.push(phys);
        }
        Ok(())
    }

    /// Reads the node references of element `etag` of `kind` and stores it with tag `phys`.
    fn read_element(&mut self, cur: &mut Cursor, etag: u64, kind: (usize, usize), phys: i32) -> Result<()> {
        let mut nodes = [0u64; MAX_ELEMENT_NODES];
        for slot in nodes.iter_mut().take(kind.1) {
            *slot = cur.num("element node tag")?;
        }
        let nodes = nodes.get(..kind.1).unwrap_or(&[]);
        self.add_element(etag, kind, nodes, phys).map_err(|m| cur.err(m))
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
                let kind = element_kind(etype).map_err(|m| cur.err(m))?;
                let ntags: usize = cur.num("number of element tags")?;
                let phys = if ntags > 0 { cur.num("physical tag")? } else { 0 };
                cur.skip_nums::<i32>(ntags.saturating_sub(1), "element tag value")?;
                self.read_element(cur, etag, kind, phys)?;
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
            let kind = element_kind(etype).map_err(|m| cur.err(m))?;
            if kind.0 != edim {
                return Err(cur.err(format!("element type {etype} in a block of dimension {edim}")));
            }
            // Untagged entities (or a file without $Entities) give tag 0.
            let phys = self.entity_phys[edim].get(&entity).copied().unwrap_or(0);
            for _ in 0..n {
                let etag = cur.num("element tag")?;
                self.read_element(cur, etag, kind, phys)?;
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
        let Some(tdim) = (2..=3).rev().find(|&d| !self.elems[d].tags.is_empty()) else {
            let msg = "no triangles or tetrahedra: the file has no 2D or 3D cells (does the .geo \
                       define a Physical Surface / Volume?)";
            return Err(Error::mesh(path, msg));
        };
        let quadratic = self.elems[tdim].nodes.is_some_and(|n| n > tdim + 1);
        let cell_type = match (tdim, quadratic) {
            (2, false) => CellType::Triangle,
            (2, true) => CellType::Triangle6,
            (_, false) => CellType::Tetrahedron,
            (_, true) => CellType::Tetrahedron10,
        };
        let nv = cell_type.num_vertices();
        if let Some(n) = self.elems[tdim - 1]
            .nodes
            .filter(|&n| cell_type.facet_type().map(CellType::num_vertices) != Some(n))
        {
            let order = |q: bool| if q { "second" } else { "first" };
            let msg = format!(
                "the cells are {}-order but the boundary elements have {n} nodes ({}-order): \
                 mesh with one order throughout (gmsh -order)",
                order(quadratic),
                order(!quadratic)
            );
            return Err(Error::mesh(path, msg));
        }
        // MSH 2.2 writes an element once per physical group it belongs to; keep the first copy.
        let (mut cells, cell_tags) = dedup(std::mem::take(&mut self.elems[tdim]), nv, tdim + 1);
        let facet_nv = cell_type.facet_vertices();
        let (facets, facet_tags) = dedup(std::mem::take(&mut self.elems[tdim - 1]), facet_nv, tdim);
        if tdim == 2 {
            flatten_to_xy(&mut self.points, &cells, nv).map_err(|m| Error::mesh(path, m))?;
        }
        let gdim = tdim;
        orient(&self.points, &mut cells, cell_type).map_err(|m| Error::mesh(path, m))?;
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

/// Flatness tolerance of 2D meshes relative to the diameter of their bounding box: far above the
/// rounding of coordinates written with 16 digits, far below any real tilt or curvature.
const PLANE_TOL: f64 = 1e-10;

/// Checks that the triangles `cells` lie in one plane z = const and moves that plane to z = 0,
/// as [`Mesh`] wants of 2D meshes. Only nodes of cells count: an unused node says nothing about
/// where the triangles are.
fn flatten_to_xy(points: &mut [[f64; 3]], cells: &[u32], nv: usize) -> std::result::Result<(), String> {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in cells.iter().filter_map(|&v| points.get(v as usize)) {
        for k in 0..3 {
            (lo[k], hi[k]) = (lo[k].min(p[k]), hi[k].max(p[k]));
        }
    }
    let diam = (0..3).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f64>().sqrt();
    let tol = PLANE_TOL * diam;
    if hi[2] - lo[2] > tol {
        return Err(format!(
            "triangles are not in one plane z = const (z from {} to {}): ddkit reads 2D meshes in \
             the xy-plane; {}",
            short(lo[2]),
            short(hi[2]),
            off_plane_hint(points, cells, nv, (lo, hi), tol)
        ));
    }
    points.iter_mut().for_each(|p| p[2] = 0.0);
    Ok(())
}

/// What triangles off the xy-plane most likely are: a flat mesh in another plane, or the surface
/// of a 3D geometry (the usual case: `gmsh -2` on a `.geo` with volumes).
fn off_plane_hint(points: &[[f64; 3]], cells: &[u32], nv: usize, bbox: ([f64; 3], [f64; 3]), tol: f64) -> String {
    let (lo, hi) = bbox;
    let rotate = "(rotate the geometry into the xy-plane)";
    for (k, axis) in ["x", "y"].into_iter().enumerate() {
        if hi[k] - lo[k] <= tol {
            return format!("they lie in the plane {axis} = {} {rotate}", short(lo[k]));
        }
    }
    // The normal of the largest triangle; if every node is on its plane, the mesh is flat.
    let p = |v: u32| points.get(v as usize).copied().unwrap_or([0.0; 3]);
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let cross = |c: &[u32]| {
        let (a, b, o) = (p(c[1]), p(c[2]), p(c[0]));
        let (u, v) = (sub(a, o), sub(b, o));
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    };
    let largest = cells
        .chunks_exact(nv)
        .map(|c| (cross(c), c[0]))
        .max_by(|a, b| dot(a.0, a.0).total_cmp(&dot(b.0, b.0)));
    if let Some((n, v0)) = largest {
        let len = dot(n, n).sqrt();
        let o = p(v0);
        if len > 0.0 && cells.iter().all(|&v| (dot(n, sub(p(v), o)) / len).abs() <= tol) {
            let n = n.map(|x| x / len);
            return format!(
                "they lie in one tilted plane with normal ({}, {}, {}) {rotate}",
                short(n[0]),
                short(n[1]),
                short(n[2])
            );
        }
    }
    "this looks like the surface mesh of a 3D geometry (mesh the volume with gmsh -3)".to_string()
}

/// A coordinate for a message: at most six decimals, no trailing zeros, no "-0".
fn short(x: f64) -> String {
    if x.abs() >= 1e6 {
        return format!("{x:e}");
    }
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Removes repeated elements (same corners; `nv` nodes each, the first `corners` of them the
/// corners), keeping the first occurrence and its tag.
fn dedup(elems: Elems, nv: usize, corners: usize) -> (Vec<u32>, Vec<i32>) {
    let mut seen = HashSet::with_capacity(elems.tags.len());
    let mut out = Elems::default();
    for (c, &t) in elems.conn.chunks_exact(nv).zip(&elems.tags) {
        let mut key = [u32::MAX; 4];
        key.iter_mut().zip(&c[..corners]).for_each(|(k, &v)| *k = v);
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

/// Makes every cell positively oriented by swapping its last two corners when needed; the edge
/// midpoints of a quadratic cell follow, so that each still sits on the edge the order says.
fn orient(points: &[[f64; 3]], cells: &mut [u32], cell_type: CellType) -> std::result::Result<(), String> {
    let tdim = cell_type.dim();
    for (i, c) in cells.chunks_exact_mut(cell_type.num_vertices()).enumerate() {
        let m = signed_measure(points, &c[..=tdim]);
        if m == 0.0 || !m.is_finite() {
            let what = if tdim == 2 { "area" } else { "volume" };
            return Err(format!("cell {i} (vertices {c:?}) is degenerate: zero {what}"));
        }
        if m < 0.0 {
            c.swap(tdim - 1, tdim);
            match cell_type {
                // Edges 01 12 20 become 02 21 10: the midpoints of 01 and 20 trade places.
                CellType::Triangle6 => c.swap(3, 5),
                // Edges 01 12 20 03 13 23 become 01 13 30 02 12 32.
                CellType::Tetrahedron10 => {
                    c.swap(5, 8);
                    c.swap(6, 7);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! JavaScriptCore heap snapshots (the JSON of the inspector's `Heap.snapshot`), summed up by class
//! and compared, with what holds the objects of the classes that grew.
//!
//! The format (JavaScriptCore's `HeapSnapshotBuilder::json`): `nodes` is a flat list of
//! `id, size, class index, flags` (seven fields per node in a `GCDebugging` snapshot), with the
//! root as node 0; `edges` a flat list of `from id, to id, edge type index, data`, where the data
//! is an index into `edgeNames` for `Property` and `Variable` edges and the index itself for
//! `Index` edges. Sizes are each cell's own ("self") size as JavaScriptCore estimates it,
//! out-of-line storage (a string's characters, an array's butterfly) included.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    nodes: Vec<u64>,
    #[serde(rename = "nodeClassNames")]
    class_names: Vec<String>,
    edges: Vec<u64>,
    #[serde(rename = "edgeTypes")]
    edge_types: Vec<String>,
    #[serde(rename = "edgeNames")]
    edge_names: Vec<String>,
}

/// A parsed snapshot.
pub struct Snapshot {
    /// Per node: id, self size, class index.
    ids: Vec<u64>,
    sizes: Vec<u64>,
    classes: Vec<u32>,
    class_names: Vec<String>,
    /// Per edge: from node index, to node index, label.
    edges: Vec<(u32, u32, Label)>,
    edge_names: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Label {
    Internal,
    Property(u32),
    Index,
    Variable(u32),
}

/// One class's live objects: how many and their self sizes added up.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub bytes: u64,
}

impl Snapshot {
    pub fn parse(json: &str) -> Result<Self> {
        let raw: Raw = serde_json::from_str(json).context("not a JavaScriptCore heap snapshot")?;
        let stride = if raw.kind.as_deref() == Some("GCDebugging") {
            7
        } else {
            4
        };
        if !raw.nodes.len().is_multiple_of(stride) || !raw.edges.len().is_multiple_of(4) {
            bail!("a heap snapshot with a ragged node or edge list");
        }
        let n = raw.nodes.len() / stride;
        let mut ids = Vec::with_capacity(n);
        let mut sizes = Vec::with_capacity(n);
        let mut classes = Vec::with_capacity(n);
        for node in raw.nodes.chunks_exact(stride) {
            ids.push(node[0]);
            sizes.push(node[1]);
            classes.push(u32::try_from(node[2])?);
        }
        let index: HashMap<u64, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let kind_of = |i: u64| raw.edge_types.get(i as usize).map(String::as_str);
        let mut edges = Vec::with_capacity(raw.edges.len() / 4);
        for edge in raw.edges.chunks_exact(4) {
            let (Some(&from), Some(&to)) = (index.get(&edge[0]), index.get(&edge[1])) else {
                continue;
            };
            let label = match kind_of(edge[2]) {
                Some("Property") => Label::Property(edge[3] as u32),
                Some("Variable") => Label::Variable(edge[3] as u32),
                Some("Index") => Label::Index,
                _ => Label::Internal,
            };
            edges.push((from, to, label));
        }
        Ok(Self {
            ids,
            sizes,
            classes,
            class_names: raw.class_names,
            edges,
            edge_names: raw.edge_names,
        })
    }

    pub fn nodes(&self) -> usize {
        self.ids.len()
    }

    fn class_name(&self, node: u32) -> &str {
        self.class_names
            .get(self.classes[node as usize] as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    fn label(&self, label: Label) -> String {
        let name = |i: u32| {
            self.edge_names
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| "?".into())
        };
        match label {
            Label::Internal => "(internal)".into(),
            Label::Index => "[i]".into(),
            Label::Property(i) => format!(".{}", name(i)),
            Label::Variable(i) => format!("var {}", name(i)),
        }
    }

    /// Live objects by class name.
    pub fn by_class(&self) -> HashMap<String, Tally> {
        let mut out: HashMap<String, Tally> = HashMap::new();
        for node in 0..self.ids.len() {
            let t = out
                .entry(self.class_name(node as u32).to_owned())
                .or_default();
            t.count += 1;
            t.bytes += self.sizes[node];
        }
        out
    }

    pub fn total(&self) -> Tally {
        Tally {
            count: self.ids.len() as u64,
            bytes: self.sizes.iter().sum(),
        }
    }

    /// What points at objects of `class`: (class of the holder, edge label) → how many edges.
    fn holders_of(&self, class: &str) -> HashMap<(String, String), u64> {
        let mut out: HashMap<(String, String), u64> = HashMap::new();
        for &(from, to, label) in &self.edges {
            if self.class_name(to) == class {
                *out.entry((self.class_name(from).to_owned(), self.label(label)))
                    .or_default() += 1;
            }
        }
        out
    }

    /// A shortest path from the root to each of up to `samples` objects of `class` (the newest,
    /// by id), as `Class .edge → Class ...`.
    fn paths_to(&self, class: &str, samples: usize) -> Vec<String> {
        let n = self.ids.len();
        let root = self.ids.iter().position(|id| *id == 0).unwrap_or(0) as u32;
        // Adjacency in compressed form.
        let mut starts = vec![0u32; n + 1];
        for &(from, _, _) in &self.edges {
            starts[from as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut targets = vec![(0u32, Label::Internal); self.edges.len()];
        for &(from, to, label) in &self.edges {
            targets[fill[from as usize] as usize] = (to, label);
            fill[from as usize] += 1;
        }
        let mut parent: Vec<Option<(u32, Label)>> = vec![None; n];
        let mut seen = vec![false; n];
        seen[root as usize] = true;
        let mut queue = VecDeque::from([root]);
        while let Some(node) = queue.pop_front() {
            let (a, b) = (starts[node as usize], starts[node as usize + 1]);
            for &(to, label) in &targets[a as usize..b as usize] {
                if !seen[to as usize] {
                    seen[to as usize] = true;
                    parent[to as usize] = Some((node, label));
                    queue.push_back(to);
                }
            }
        }
        let mut wanted: Vec<u32> = (0..n as u32)
            .filter(|&i| self.class_name(i) == class && seen[i as usize])
            .collect();
        wanted.sort_by_key(|&i| std::cmp::Reverse(self.ids[i as usize]));
        wanted
            .into_iter()
            .take(samples)
            .map(|target| {
                let mut steps = Vec::new();
                let mut at = target;
                while let Some((from, label)) = parent[at as usize] {
                    steps.push(format!("{} {}", self.label(label), self.class_name(at)));
                    at = from;
                    if steps.len() > 40 {
                        steps.push("…".into());
                        break;
                    }
                }
                steps.reverse();
                format!("<root> {}", steps.join(" "))
            })
            .collect()
    }
}

/// The classes that grew most between `before` and `after` (by self size), with counts, and for
/// the top `explain` of them what holds them and a few paths from the root, as printable text.
pub fn compare(before: &Snapshot, after: &Snapshot, top: usize, explain: usize) -> String {
    let (b, a) = (before.by_class(), after.by_class());
    let mut names: Vec<&String> = b.keys().chain(a.keys()).collect();
    names.sort();
    names.dedup();
    let mut rows: Vec<(&String, Tally, Tally)> = names
        .into_iter()
        .map(|name| {
            (
                name,
                b.get(name).copied().unwrap_or_default(),
                a.get(name).copied().unwrap_or_default(),
            )
        })
        .collect();
    rows.sort_by_key(|(_, b, a)| std::cmp::Reverse(a.bytes as i64 - b.bytes as i64));
    let (tb, ta) = (before.total(), after.total());
    let mut out = String::new();
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let _ = writeln!(
        out,
        "  JS heap after GC: {} objects, {:.1} KiB → {} objects, {:.1} KiB ({:+} objects, {:+.1} KiB)",
        tb.count,
        kib(tb.bytes),
        ta.count,
        kib(ta.bytes),
        ta.count as i64 - tb.count as i64,
        (ta.bytes as f64 - tb.bytes as f64) / 1024.0
    );
    let _ = writeln!(
        out,
        "  {:<40} {:>9} {:>9} {:>8} {:>11} {:>11} {:>10}",
        "class", "count", "→ count", "Δ", "KiB", "→ KiB", "Δ KiB"
    );
    let line = |out: &mut String, (name, b, a): &(&String, Tally, Tally)| {
        let _ = writeln!(
            out,
            "  {:<40} {:>9} {:>9} {:>+8} {:>11.1} {:>11.1} {:>+10.1}",
            truncate(name, 40),
            b.count,
            a.count,
            a.count as i64 - b.count as i64,
            kib(b.bytes),
            kib(a.bytes),
            (a.bytes as f64 - b.bytes as f64) / 1024.0
        );
    };
    for row in rows.iter().take(top) {
        line(&mut out, row);
    }
    let _ = writeln!(out, "  … the most shrunk:");
    for row in rows.iter().rev().take(3) {
        line(&mut out, row);
    }
    // By count as well: small objects that multiply matter even when their bytes do not show.
    let mut by_count = rows.clone();
    by_count.sort_by_key(|(_, b, a)| std::cmp::Reverse(a.count as i64 - b.count as i64));
    let _ = writeln!(out, "  the most multiplied (by count):");
    for row in by_count.iter().take(top.min(10)) {
        line(&mut out, row);
    }
    let mut explained: Vec<&String> = Vec::new();
    for (name, b, a) in rows.iter().chain(by_count.iter()) {
        if explained.len() >= explain {
            break;
        }
        if a.count > b.count && !explained.contains(name) {
            explained.push(name);
        }
    }
    for class in explained {
        let (hb, ha) = (before.holders_of(class), after.holders_of(class));
        let mut holders: Vec<(&(String, String), i64, u64)> = ha
            .iter()
            .map(|(k, v)| (k, *v as i64 - hb.get(k).copied().unwrap_or(0) as i64, *v))
            .collect();
        holders.sort_by_key(|(_, d, _)| std::cmp::Reverse(*d));
        let _ = writeln!(out, "  what holds {class} (edges into it; Δ, after):");
        for ((holder, label), d, n) in holders.iter().take(6) {
            let _ = writeln!(out, "    {d:+8} {n:>8}  {holder} {label}");
        }
        for path in after.paths_to(class, 3) {
            let _ = writeln!(out, "    path: {}", truncate(&path, 600));
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // <root> → window (Window) .cache → Map → [i] Message ×N
    fn snapshot(messages: u64) -> String {
        let mut nodes = vec![0, 0, 0, 0, 1, 100, 1, 0, 2, 64, 2, 0];
        let mut edges = vec![0, 1, 0, 0, 1, 2, 1, 0];
        for i in 0..messages {
            let id = 10 + i;
            nodes.extend([id, 48, 3, 0]);
            edges.extend([2, id, 2, i]);
        }
        serde_json::json!({
            "version": 2,
            "type": "Inspector",
            "nodes": nodes,
            "nodeClassNames": ["<root>", "Window", "Map", "Message"],
            "edges": edges,
            "edgeTypes": ["Internal", "Property", "Index", "Variable"],
            "edgeNames": ["cache"],
        })
        .to_string()
    }

    #[test]
    fn sums_by_class_and_finds_what_holds_the_growth() {
        let before = Snapshot::parse(&snapshot(2)).unwrap();
        let after = Snapshot::parse(&snapshot(12)).unwrap();
        assert_eq!(
            after.by_class()["Message"],
            Tally {
                count: 12,
                bytes: 12 * 48
            }
        );
        let text = compare(&before, &after, 5, 1);
        assert!(text.contains("Message"), "{text}");
        assert!(text.contains("+10"), "{text}");
        assert!(text.contains("what holds Message"), "{text}");
        assert!(
            text.contains("path: <root> (internal) Window .cache Map [i] Message"),
            "{text}"
        );
    }
}

//! `heapdiff BEFORE.json AFTER.json [TOP] [EXPLAIN]` — compares two JavaScriptCore heap snapshots
//! (such as the `footprint-heap-*.json` files `footprint --heap-snapshots` writes): the classes
//! that grew, by self size and by count, and what holds the objects of the top ones.

use anyhow::{Context, Result};
use jeco_e2e::heapsnap::{Snapshot, compare};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(before), Some(after)) = (args.first(), args.get(1)) else {
        println!("usage: heapdiff BEFORE.json AFTER.json [TOP=25] [EXPLAIN=6]");
        std::process::exit(2);
    };
    let top = args.get(2).map(|v| v.parse()).transpose()?.unwrap_or(25);
    let explain = args.get(3).map(|v| v.parse()).transpose()?.unwrap_or(6);
    let read = |path: &String| -> Result<Snapshot> {
        let json = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        Snapshot::parse(&json).with_context(|| format!("parsing {path}"))
    };
    let (before, after) = (read(before)?, read(after)?);
    println!("{}", compare(&before, &after, top, explain));
    Ok(())
}

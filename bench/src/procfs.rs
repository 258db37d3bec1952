//! Reading a process's memory and CPU from `/proc`, and describing the machine.
//!
//! Why `/proc` and not an allocator hook: the question the benchmarks answer is "how much does the
//! operating system charge the server for N connections", which is what a self-hoster pays. That is
//! the resident set (`VmRSS` in `/proc/PID/status`) and its proportional share (`Pss` in
//! `/proc/PID/smaps_rollup`, which splits shared library pages among the processes that map them).
//! Kernel socket buffers are not in either figure; they are the kernel's, not the server's.
//!
//! CPU is `utime + stime` from `/proc/PID/stat`, in clock ticks, summed over all threads. Two
//! samples a known wall-clock time apart give "percent of one core".

use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// One look at a process.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcessSample {
    /// Resident set size, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size so far, KiB (`VmHWM`).
    pub rss_peak_kib: u64,
    /// Proportional set size, KiB (`Pss` in `smaps_rollup`).
    pub pss_kib: u64,
    /// User + system CPU time so far, in clock ticks.
    #[serde(skip)]
    pub cpu_ticks: u64,
    /// Threads in the process.
    pub threads: u64,
    /// Open file descriptors.
    pub fds: u64,
    #[serde(skip)]
    pub taken_at: Instant,
}

/// Samples process `pid`. Fails when the process is gone or `/proc` is unreadable (not Linux, or no
/// permission to read another user's `smaps_rollup`).
pub fn sample(pid: u32) -> Result<ProcessSample> {
    let taken_at = Instant::now();
    let status = read(pid, "status")?;
    let rss_kib = kib_field(&status, "VmRSS:").context("no VmRSS in status")?;
    let rss_peak_kib = kib_field(&status, "VmHWM:").unwrap_or(rss_kib);
    let threads = kib_field(&status, "Threads:").unwrap_or(0);
    let rollup = read(pid, "smaps_rollup")?;
    let pss_kib = kib_field(&rollup, "Pss:").context("no Pss in smaps_rollup")?;
    let cpu_ticks = cpu_ticks(pid)?;
    let fds = std::fs::read_dir(proc_path(pid, "fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Ok(ProcessSample {
        rss_kib,
        rss_peak_kib,
        pss_kib,
        cpu_ticks,
        threads,
        fds,
        taken_at,
    })
}

/// User + system CPU ticks of `pid` (fields 14 and 15 of `/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = read(pid, "stat")?;
    parse_stat_ticks(&stat).with_context(|| format!("cannot parse /proc/{pid}/stat"))
}

fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces; count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`USER_HZ`), the unit of [`ProcessSample::cpu_ticks`].
pub fn ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// CPU used between two samples as a percentage of one core (100.0 = one core fully busy).
pub fn cpu_percent(before_ticks: u64, after_ticks: u64, wall_secs: f64) -> f64 {
    if wall_secs <= 0.0 {
        return 0.0;
    }
    let secs = after_ticks.saturating_sub(before_ticks) as f64 / ticks_per_second() as f64;
    secs / wall_secs * 100.0
}

/// The soft limit on open files of `pid` (from `/proc/PID/limits`).
pub fn fd_limit(pid: u32) -> Result<u64> {
    let limits = read(pid, "limits")?;
    for line in limits.lines() {
        if let Some(rest) = line.strip_prefix("Max open files") {
            let soft = rest.split_whitespace().next().unwrap_or("");
            if soft == "unlimited" {
                return Ok(u64::MAX);
            }
            return soft.parse().context("bad Max open files");
        }
    }
    bail!("no 'Max open files' in /proc/{pid}/limits")
}

/// The machine a run happened on, so results can be compared across machines.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub mem_total_kib: u64,
    pub kernel: String,
}

impl Machine {
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            mem_total_kib: kib_field(&meminfo, "MemTotal:").unwrap_or(0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into()),
        }
    }
}

fn proc_path(pid: u32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

fn read(pid: u32, file: &str) -> Result<String> {
    let path = proc_path(pid, file);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// The number after `key` on its line ("VmRSS:   1234 kB" → 1234).
fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_survive_spaces_and_parens_in_the_name() {
        let stat = "1234 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat_ticks(stat), Some(300));
    }

    #[test]
    fn fields_are_read_from_status_text() {
        let status = "Name:\tx\nVmHWM:\t  900 kB\nVmRSS:\t  812 kB\nThreads:\t3\n";
        assert_eq!(kib_field(status, "VmRSS:"), Some(812));
        assert_eq!(kib_field(status, "Threads:"), Some(3));
        assert_eq!(kib_field(status, "Pss:"), None);
    }

    #[test]
    fn own_process_can_be_sampled() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kib > 0 && s.pss_kib > 0 && s.fds > 0);
        assert!(fd_limit(std::process::id()).unwrap() > 0);
    }
}

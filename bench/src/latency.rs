//! Counting what arrived: a latency histogram and a set of sequence numbers kept as ranges.
//!
//! [`Histogram`] is log-linear (32 sub-buckets per power of two, so a bucket is at most ~3 % wide)
//! over microseconds; it is small enough to merge across connections and to ship from a worker to
//! the coordinator as a sparse list. Quantiles report the upper edge of their bucket, so they never
//! flatter; the maximum is kept exactly.
//!
//! [`SeqSet`] records which `seq`s of one conversation a receiver got. Events of a conversation are
//! numbered without gaps, so in the common case the set is one range however many messages arrive;
//! that keeps exact loss and duplicate accounting cheap for thousands of receivers.

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two (as a power of two).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values above this (~73 minutes in µs) are clamped into the last bucket.
const MAX_POWER: u32 = 42;
const BUCKETS: usize = ((MAX_POWER - SUB_BITS + 2) as u64 * SUB) as usize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Dense counts (empty until the first record, so idle receivers cost nothing).
    #[serde(skip)]
    counts: Vec<u64>,
    /// `(bucket, count)` pairs; filled by [`Histogram::to_sparse`] for shipping.
    sparse: Vec<(u32, u64)>,
    total: u64,
    max: u64,
    sum: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let power = (63 - value.leading_zeros()).min(MAX_POWER);
    let value = value.min((1 << (MAX_POWER + 1)) - 1);
    let sub = (value >> (power - SUB_BITS)) & (SUB - 1);
    ((power - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The largest value that falls into `index`.
fn upper_edge(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let power = (index / SUB) as u32 + SUB_BITS - 1;
    let sub = index % SUB;
    ((SUB + sub + 1) << (power - SUB_BITS)) - 1
}

impl Histogram {
    pub fn new() -> Self {
        Self {
            counts: Vec::new(),
            sparse: Vec::new(),
            total: 0,
            max: 0,
            sum: 0,
        }
    }

    pub fn record(&mut self, value: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
        self.sum = self.sum.saturating_add(value);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        if other.counts.is_empty() {
            for &(i, c) in &other.sparse {
                self.counts[i as usize] += c;
            }
        } else {
            for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
                *mine += theirs;
            }
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.sum = self.sum.saturating_add(other.sum);
    }

    /// Fills the sparse form (for serialization).
    pub fn to_sparse(&self) -> Self {
        Self {
            counts: Vec::new(),
            sparse: self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| (i as u32, *c))
                .collect(),
            total: self.total,
            max: self.max,
            sum: self.sum,
        }
    }

    /// The value at quantile `q` (0..=1): the upper edge of its bucket, capped at the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        let mut visit = |i: usize, c: u64| {
            seen += c;
            (seen >= rank).then(|| upper_edge(i).min(self.max))
        };
        if self.counts.is_empty() {
            for &(i, c) in &self.sparse {
                if let Some(v) = visit(i as usize, c) {
                    return v;
                }
            }
        } else {
            for (i, &c) in self.counts.iter().enumerate() {
                if c > 0
                    && let Some(v) = visit(i, c)
                {
                    return v;
                }
            }
        }
        self.max
    }

    /// p50, p90, p99, p99.9 and max, in milliseconds.
    pub fn summary_ms(&self) -> Percentiles {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: self.total,
            mean: self.mean() / 1000.0,
            p50: ms(self.quantile(0.50)),
            p90: ms(self.quantile(0.90)),
            p99: ms(self.quantile(0.99)),
            p999: ms(self.quantile(0.999)),
            max: ms(self.max),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn render(&self) -> String {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms  (n = {})",
            self.p50, self.p90, self.p99, self.p999, self.max, self.count
        )
    }
}

/// A set of `seq`s as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqSet {
    ranges: Vec<(i64, i64)>,
}

impl SeqSet {
    /// Adds `seq`; `false` when it was already there (a duplicate).
    pub fn insert(&mut self, seq: i64) -> bool {
        // The common case: the next one in order.
        if let Some(last) = self.ranges.last_mut() {
            if seq == last.1 + 1 {
                last.1 = seq;
                return true;
            }
            if seq > last.1 + 1 {
                self.ranges.push((seq, seq));
                return true;
            }
        } else {
            self.ranges.push((seq, seq));
            return true;
        }
        // Out of order: find the first range ending at or after seq - 1.
        let i = self.ranges.partition_point(|r| r.1 < seq - 1);
        let (start, end) = self.ranges[i];
        if seq >= start && seq <= end {
            return false;
        }
        if seq == end + 1 {
            self.ranges[i].1 = seq;
            if i + 1 < self.ranges.len() && self.ranges[i + 1].0 == seq + 1 {
                self.ranges[i].1 = self.ranges[i + 1].1;
                self.ranges.remove(i + 1);
            }
        } else if seq + 1 == start {
            self.ranges[i].0 = seq;
        } else {
            self.ranges.insert(i, (seq, seq));
        }
        true
    }

    pub fn contains(&self, seq: i64) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < seq);
        i < self.ranges.len() && self.ranges[i].0 <= seq
    }

    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| (b - a + 1) as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn union(&mut self, other: &SeqSet) {
        for &(a, b) in &other.ranges {
            for s in a..=b {
                self.insert(s);
            }
        }
    }

    /// How many of `self` are also in `other`.
    pub fn intersection_len(&self, other: &SeqSet) -> u64 {
        let (mut i, mut j, mut n) = (0, 0, 0u64);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a0, a1) = self.ranges[i];
            let (b0, b1) = other.ranges[j];
            let lo = a0.max(b0);
            let hi = a1.min(b1);
            if lo <= hi {
                n += (hi - lo + 1) as u64;
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        n
    }

    pub fn max(&self) -> Option<i64> {
        self.ranges.last().map(|r| r.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_tightly() {
        for v in [
            0,
            1,
            31,
            32,
            33,
            63,
            64,
            65,
            1000,
            12_345,
            1 << 30,
            u64::MAX / 2,
        ] {
            let i = bucket(v);
            assert!(upper_edge(i) >= v.min((1 << (MAX_POWER + 1)) - 1), "{v}");
            assert!(i < BUCKETS, "{v}");
            if (64..(1 << MAX_POWER)).contains(&v) {
                // At most ~3 % above the value.
                assert!(
                    upper_edge(i) as f64 <= v as f64 * 1.04,
                    "{v} → {}",
                    upper_edge(i)
                );
            }
            if i > 0 {
                assert!(upper_edge(i - 1) < v, "{v}");
            }
        }
    }

    #[test]
    fn quantiles_and_merging() {
        let mut a = Histogram::new();
        for v in 1..=1000 {
            a.record(v);
        }
        assert_eq!(a.quantile(0.5), upper_edge(bucket(500)));
        assert!(a.quantile(0.99) >= 990 && a.quantile(0.99) <= 1000);
        assert_eq!(a.quantile(1.0), 1000);
        let shipped: Histogram =
            serde_json::from_str(&serde_json::to_string(&a.to_sparse()).unwrap()).unwrap();
        let mut b = Histogram::new();
        b.merge(&shipped);
        b.merge(&a);
        assert_eq!(b.count(), 2000);
        assert_eq!(b.quantile(0.5), a.quantile(0.5));
        assert_eq!(Histogram::new().quantile(0.99), 0);
    }

    #[test]
    fn seq_sets_detect_duplicates_and_gaps() {
        let mut s = SeqSet::default();
        for seq in [1, 2, 3, 7, 5, 4, 6, 10] {
            assert!(s.insert(seq), "{seq}");
        }
        assert!(!s.insert(5));
        assert!(!s.insert(10));
        assert_eq!(s.ranges, vec![(1, 7), (10, 10)]);
        assert_eq!(s.len(), 8);
        assert!(s.contains(7) && !s.contains(8));
        let mut acked = SeqSet::default();
        for seq in 2..=12 {
            acked.insert(seq);
        }
        assert_eq!(acked.intersection_len(&s), 7);
        assert!(s.insert(9));
        assert!(s.insert(8));
        assert_eq!(s.ranges, vec![(1, 10)]);
    }
}

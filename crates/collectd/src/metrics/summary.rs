//! A histogram's summary of one interval: count, sum, min, max, mean and percentiles, in bounded memory.

/// The suffixes of the stats a histogram sends, in order.
pub(super) const HISTOGRAM_STATS: [&str; 8] = ["count", "sum", "min", "max", "mean", "p50", "p90", "p99"];

/// Values a histogram summary keeps for its percentiles, at most: exact up to that many
/// values in an interval, a uniform sample of them beyond.
pub(super) const RESERVOIR: usize = 1024;

/// One interval of a histogram: count, sum, min and max exactly, percentiles from a
/// bounded reservoir, so memory stays flat however many values are recorded.
#[derive(Clone, Debug)]
pub(super) struct Summary {
    pub(super) count: u64,
    sum: f64,
    min: f64,
    max: f64,
    reservoir: Vec<f64>,
    /// xorshift state for reservoir replacement.
    random: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            reservoir: Vec::new(),
            random: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Summary {
    pub(super) fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if self.reservoir.len() < RESERVOIR {
            self.reservoir.push(value);
        } else {
            // Algorithm R: the n-th value replaces a random kept one with probability RESERVOIR/n.
            self.random ^= self.random << 13;
            self.random ^= self.random >> 7;
            self.random ^= self.random << 17;
            let slot = (self.random % self.count) as usize;
            if slot < RESERVOIR {
                self.reservoir[slot] = value;
            }
        }
    }

    pub(super) fn merge(&mut self, other: &Summary) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.reservoir.extend_from_slice(&other.reservoir);
    }

    /// The values of [`HISTOGRAM_STATS`], in order (nearest-rank percentiles).
    pub(super) fn stats(mut self) -> [f64; 8] {
        self.reservoir.sort_unstable_by(f64::total_cmp);
        let kept = self.reservoir.len();
        let percentile = |p: f64| self.reservoir[((p * kept as f64).ceil() as usize).clamp(1, kept) - 1];
        let count = self.count as f64;
        [count, self.sum, self.min, self.max, self.sum / count, percentile(0.50), percentile(0.90), percentile(0.99)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_of(values: impl IntoIterator<Item = f64>) -> Summary {
        let mut summary = Summary::default();
        values.into_iter().for_each(|v| summary.add(v));
        summary
    }

    #[test]
    fn summaries() {
        let stats = summary_of((1..=100).map(f64::from)).stats();
        assert_eq!(stats, [100.0, 5050.0, 1.0, 100.0, 50.5, 50.0, 90.0, 99.0]);
        assert_eq!(summary_of([7.0]).stats(), [1.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]);
    }

    #[test]
    fn summaries_stay_bounded_and_exact_where_they_can() {
        let n: u64 = 100_000;
        let summary = summary_of((1..=n).map(|v| v as f64));
        assert_eq!(summary.reservoir.len(), RESERVOIR);
        let stats = summary.stats();
        // Count, sum, min, max and mean stay exact; percentiles are sampled.
        assert_eq!(&stats[..5], &[n as f64, (n * (n + 1) / 2) as f64, 1.0, n as f64, (n + 1) as f64 / 2.0]);
        assert!((stats[5] - 50_000.0).abs() < 5_000.0, "p50 {}", stats[5]);
        assert!((stats[6] - 90_000.0).abs() < 3_000.0, "p90 {}", stats[6]);
    }
}

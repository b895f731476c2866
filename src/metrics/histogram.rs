//! A Prometheus histogram in atomics: fixed bucket bounds, one relaxed add per observation into its
//! bucket, the count and the sum (in microseconds), so observing never locks, hashes or allocates.

use std::fmt::Write;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::family::{Metric, braces};

/// A Prometheus histogram in atomics: fixed bucket bounds, one relaxed add per observation into its
/// bucket, the count and the sum (in microseconds).
pub struct Histogram {
    /// Upper bounds in seconds, ascending; `+Inf` is implied.
    bounds: &'static [f64],
    /// Observations per bucket, not cumulative (the text format's cumulative counts are made on render).
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// The bounds of a histogram type: a family of histograms shares them.
pub trait Buckets: 'static {
    const BOUNDS: &'static [f64];
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|bound| seconds <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` with `labels` (`a="x",b="y"`, or empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let comma = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(self.buckets.iter()) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{comma}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{comma}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
        let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
    }
}

/// Upper bounds, in seconds, for an exchange with a peer over HTTP (the provider's passthrough and back
/// channel) and for the gateway's own part of a login: 5 ms to the 30 s nothing should take
/// (`upstream.connect_timeout` + `response_timeout` bound a call; the defaults add up to 15 s).
pub const EXCHANGE_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A histogram whose bounds are its type's, so that a [`Family`] of them can be made by `Default`.
pub struct Timer<B: Buckets>(Histogram, PhantomData<B>);

impl<B: Buckets> Default for Timer<B> {
    fn default() -> Self {
        Timer(Histogram::new(B::BOUNDS), PhantomData)
    }
}

impl<B: Buckets> Timer<B> {
    pub fn observe(&self, elapsed: Duration) {
        self.0.observe(elapsed);
    }
}

impl<B: Buckets> Metric for Timer<B> {
    const KIND: &'static str = "histogram";
    fn is_empty(&self) -> bool {
        self.0.count() == 0
    }
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        self.0.render(out, name, labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_is_in_seconds() {
        let histogram = Histogram::new(&[0.01, 0.1, 1.0]);
        histogram.observe(Duration::from_millis(5));
        histogram.observe(Duration::from_millis(50));
        histogram.observe(Duration::from_millis(50));
        histogram.observe(Duration::from_secs(5));
        let mut out = String::new();
        histogram.render(&mut out, "x_seconds", "op=\"a\"");
        assert_eq!(
            out,
            "x_seconds_bucket{op=\"a\",le=\"0.01\"} 1\n\
             x_seconds_bucket{op=\"a\",le=\"0.1\"} 3\n\
             x_seconds_bucket{op=\"a\",le=\"1\"} 3\n\
             x_seconds_bucket{op=\"a\",le=\"+Inf\"} 4\n\
             x_seconds_sum{op=\"a\"} 5.105\n\
             x_seconds_count{op=\"a\"} 4\n"
        );
        let mut plain = String::new();
        Histogram::new(&[1.0]).render(&mut plain, "y", "");
        assert_eq!(
            plain,
            "y_bucket{le=\"1\"} 0\ny_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n"
        );
    }
}

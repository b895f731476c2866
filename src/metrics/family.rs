//! The typed families every metric of the gateway is made of, and the one writer of the Prometheus text
//! exposition format (version 0.0.4) they share.
//!
//! A family is declared once, as a [`Desc`] (name, help, label names) beside a table of metrics indexed by
//! its label set. A label set is an enum declared with [`label_values!`] (each value's exposition name
//! written once, beside its doc), or a pair of them, so a label value can neither be misspelt at a call
//! site nor be one the dashboard and the alert rules do not know. Recording is an index into a fixed
//! table of atomics: it never locks, hashes or allocates. That matters on the passthrough path, where every
//! request counts one `freshgate_requests_total` and observes one `freshgate_upstream_duration_seconds`
//! (see `super`'s doc for why this is not `prometheus-client`, with the numbers).
//!
//! Label values that are not a closed set (the reason codes of `freshgate_logins_total`, which each
//! boundary's error enum names) go in a [`Dynamic`] family: a small locked map, for events as rare as a
//! login.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub use super::histogram::{Buckets, Histogram, Timer};

/// A family's name, help and label names: what the exposition's `# HELP` and `# TYPE` lines say, and the
/// names its label values are written under, in order.
pub struct Desc {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
}

/// Which series of a family are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Every label value, zeros too, so that `rate()` and `increase()` see the first event.
    Every,
    /// Only series that saw something (a histogram per label pair would be mostly empty buckets).
    Observed,
}

/// One label's values: a closed set with a fixed place each in a family's table.
pub trait LabelValue: Copy + 'static {
    /// How many values there are: the size of a table indexed by them.
    const COUNT: usize;
    /// This value's place, below `COUNT`.
    fn index(self) -> usize;
    /// The value at `index` (the inverse of `index`).
    fn at(index: usize) -> Self;
    /// The value as the exposition writes it (unquoted).
    fn write(self, out: &mut String);
}

/// The values of all a family's labels: one [`LabelValue`], or a pair of them.
pub trait LabelSet: Copy + 'static {
    const COUNT: usize;
    fn index(self) -> usize;
    fn at(index: usize) -> Self;
    /// `name="value",…` under `names`, without braces.
    fn write(self, names: &[&str], out: &mut String);
}

impl<V: LabelValue> LabelSet for V {
    const COUNT: usize = V::COUNT;
    fn index(self) -> usize {
        LabelValue::index(self)
    }
    fn at(index: usize) -> Self {
        V::at(index)
    }
    fn write(self, names: &[&str], out: &mut String) {
        write_label(out, names[0], self);
    }
}

impl<A: LabelValue, B: LabelValue> LabelSet for (A, B) {
    const COUNT: usize = A::COUNT * B::COUNT;
    fn index(self) -> usize {
        self.0.index() * B::COUNT + self.1.index()
    }
    fn at(index: usize) -> Self {
        (A::at(index / B::COUNT), B::at(index % B::COUNT))
    }
    fn write(self, names: &[&str], out: &mut String) {
        write_label(out, names[0], self.0);
        out.push(',');
        write_label(out, names[1], self.1);
    }
}

fn write_label(out: &mut String, name: &str, value: impl LabelValue) {
    out.push_str(name);
    out.push_str("=\"");
    value.write(out);
    out.push('"');
}

/// Declares an enum of label values: each variant with the value the exposition writes for it, its
/// `ALL` (in exposition order), `name()` and [`LabelValue`].
macro_rules! label_values {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $value:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The label value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }
        }

        impl $crate::metrics::family::LabelValue for $name {
            const COUNT: usize = $name::ALL.len();
            fn index(self) -> usize {
                self as usize
            }
            fn at(index: usize) -> Self {
                $name::ALL[index]
            }
            fn write(self, out: &mut String) {
                out.push_str(self.name());
            }
        }
    };
}
pub(crate) use label_values;

/// What a family holds per label set, and how the exposition writes it.
pub trait Metric: Default {
    /// The `# TYPE` line's type.
    const KIND: &'static str;
    /// Nothing recorded yet (left out under [`Show::Observed`]).
    fn is_empty(&self) -> bool;
    /// The sample lines of `name` with `labels` (`a="x",b="y"`, or empty).
    fn write(&self, out: &mut String, name: &str, labels: &str);
}

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Metric for Counter {
    const KIND: &'static str = "counter";
    fn is_empty(&self) -> bool {
        self.get() == 0
    }
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let _ = writeln!(out, "{name}{} {}", braces(labels), self.get());
    }
}

#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn new(value: i64) -> Self {
        Gauge(AtomicI64::new(value))
    }
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
    /// Adds `delta`, returning the new value.
    pub fn add(&self, delta: i64) -> i64 {
        self.0.fetch_add(delta, Ordering::Relaxed) + delta
    }
    /// Raises the gauge to `value` if it is lower.
    pub fn raise_to(&self, value: i64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
    /// Sets `value`, returning the one before.
    pub fn swap(&self, value: i64) -> i64 {
        self.0.swap(value, Ordering::Relaxed)
    }
}

impl Metric for Gauge {
    const KIND: &'static str = "gauge";
    fn is_empty(&self) -> bool {
        false
    }
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let _ = writeln!(out, "{name}{} {}", braces(labels), self.get());
    }
}

/// A metric per label set, in a table fixed when the family is made.
pub struct Family<L: LabelSet, M: Metric> {
    table: Box<[M]>,
    labels: PhantomData<L>,
}

impl<L: LabelSet, M: Metric> Default for Family<L, M> {
    fn default() -> Self {
        Family {
            table: (0..L::COUNT).map(|_| M::default()).collect(),
            labels: PhantomData,
        }
    }
}

impl<L: LabelSet, M: Metric> Family<L, M> {
    pub fn get(&self, labels: L) -> &M {
        &self.table[labels.index()]
    }

    pub fn render(&self, out: &mut String, desc: &Desc, show: Show) {
        header(out, desc.name, M::KIND, desc.help);
        let mut labels = String::new();
        for (i, metric) in self.table.iter().enumerate() {
            if show == Show::Observed && metric.is_empty() {
                continue;
            }
            labels.clear();
            L::at(i).write(desc.labels, &mut labels);
            metric.write(out, desc.name, &labels);
        }
    }
}

/// Counters whose label values are not a closed set (reason codes); `N` labels, counted in a locked map
/// and written in the map's order.
pub struct Dynamic<const N: usize>(Mutex<BTreeMap<[&'static str; N], u64>>);

impl<const N: usize> Default for Dynamic<N> {
    fn default() -> Self {
        Dynamic(Mutex::new(BTreeMap::new()))
    }
}

impl<const N: usize> Dynamic<N> {
    pub fn inc(&self, labels: [&'static str; N]) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(labels)
            .or_insert(0) += 1;
    }

    pub fn render(&self, out: &mut String, desc: &Desc) {
        header(out, desc.name, "counter", desc.help);
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (values, n) in counts.iter() {
            let _ = write!(out, "{}{{", desc.name);
            for (i, (name, value)) in desc.labels.iter().zip(values).enumerate() {
                let comma = if i == 0 { "" } else { "," };
                let _ = write!(out, "{comma}{name}=\"{value}\"");
            }
            let _ = writeln!(out, "}} {n}");
        }
    }
}

/// A family without labels: its `# HELP` and `# TYPE` lines, then its sample.
pub fn render_one<M: Metric>(out: &mut String, desc: &Desc, metric: &M) {
    header(out, desc.name, M::KIND, desc.help);
    metric.write(out, desc.name, "");
}

/// The `# HELP` and `# TYPE` lines of a family.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub(super) fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    label_values! {
        pub enum Colour {
            Red => "red",
            Green => "green",
        }
    }

    label_values! {
        pub enum Size {
            Small => "small",
            Large => "large",
        }
    }

    #[test]
    fn a_pair_of_labels_has_a_place_for_every_combination_and_writes_them_in_order() {
        let family = Family::<(Colour, Size), Counter>::default();
        family.get((Colour::Green, Size::Small)).inc();
        family.get((Colour::Green, Size::Small)).inc();
        family.get((Colour::Red, Size::Large)).inc();
        let desc = Desc {
            name: "t_total",
            help: "Things.",
            labels: &["colour", "size"],
        };
        let mut every = String::new();
        family.render(&mut every, &desc, Show::Every);
        assert_eq!(
            every,
            "# HELP t_total Things.\n# TYPE t_total counter\n\
             t_total{colour=\"red\",size=\"small\"} 0\n\
             t_total{colour=\"red\",size=\"large\"} 1\n\
             t_total{colour=\"green\",size=\"small\"} 2\n\
             t_total{colour=\"green\",size=\"large\"} 0\n"
        );
        let mut observed = String::new();
        family.render(&mut observed, &desc, Show::Observed);
        assert_eq!(observed.lines().count(), 4, "{observed}");
    }

    #[test]
    fn open_label_values_are_counted_each_under_its_own_series() {
        let family = Dynamic::<2>::default();
        family.inc(["failure", "wrong_password"]);
        family.inc(["failure", "wrong_password"]);
        family.inc(["success", "ok"]);
        let mut out = String::new();
        family.render(
            &mut out,
            &Desc {
                name: "l_total",
                help: "Logins.",
                labels: &["outcome", "reason"],
            },
        );
        assert!(out.contains("l_total{outcome=\"failure\",reason=\"wrong_password\"} 2\n"));
        assert!(out.contains("l_total{outcome=\"success\",reason=\"ok\"} 1\n"));
    }
}

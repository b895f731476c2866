//! What Prometheus' client libraries export about every process (`process_*`, read from `/proc/self` on
//! Linux as they do), the build (`freshgate_build_info`), and how long the serving certificate has left.
//! All of it is read when `/metrics` is scraped, not kept up to date in between.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};

use super::family::header;

/// Linux reports CPU time in clock ticks of `USER_HZ`, which is 100 on every architecture the kernel
/// exposes to user space (`sysconf(_SC_CLK_TCK)`; Prometheus' procfs library assumes the same).
const USER_HZ: f64 = 100.0;

/// The `freshgate_build_info` line's labels.
pub fn build_labels() -> String {
    format!(
        "version=\"{}\",kerberos=\"{}\"",
        env!("CARGO_PKG_VERSION"),
        cfg!(feature = "kerberos")
    )
}

pub fn render_build_info(out: &mut String) {
    header(
        out,
        "freshgate_build_info",
        "gauge",
        "Always 1; the labels say which freshgate runs (version, built with Kerberos).",
    );
    let _ = writeln!(out, "freshgate_build_info{{{}}} 1", build_labels());
}

/// The standard process metrics; nothing where `/proc` cannot be read (not Linux).
pub fn render_process(out: &mut String) {
    let Some(process) = Process::read() else {
        return;
    };
    let mut gauge = |name: &str, kind: &str, help: &str, value: f64| {
        header(out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    };
    gauge(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        process.cpu_seconds,
    );
    gauge(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        process.resident_bytes as f64,
    );
    gauge(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        process.virtual_bytes as f64,
    );
    gauge(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        process.open_fds as f64,
    );
    if let Some(max) = process.max_fds {
        gauge(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max as f64,
        );
    }
    gauge(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        process.start_time_seconds,
    );
}

/// One reading of `/proc/self`.
#[derive(Debug)]
struct Process {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    open_fds: usize,
    max_fds: Option<u64>,
    start_time_seconds: f64,
}

impl Process {
    fn read() -> Option<Process> {
        Process::read_from(std::path::Path::new("/proc/self"))
    }

    /// `dir` is `/proc/self` or (in tests) `/proc/<pid>`.
    fn read_from(dir: &std::path::Path) -> Option<Process> {
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let limits = std::fs::read_to_string(dir.join("limits")).ok()?;
        let open_fds = std::fs::read_dir(dir.join("fd")).ok()?.count();
        Process::parse(&stat, &status, &boot, &limits, open_fds)
    }

    /// proc(5): `stat`'s fields after the command name (which may hold spaces and parentheses, so the
    /// split is at the last `)`): utime is field 14, stime 15, starttime 22 (ticks after boot), vsize 23.
    fn parse(
        stat: &str,
        status: &str,
        boot: &str,
        limits: &str,
        open_fds: usize,
    ) -> Option<Process> {
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        let ticks = (field(14)? + field(15)?) as f64;
        let start_ticks = field(22)? as f64;
        let virtual_bytes = field(23)?;
        let resident_kb: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let boot_time: f64 = boot
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        let max_fds = limits
            .lines()
            .find_map(|line| line.strip_prefix("Max open files"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
        Some(Process {
            cpu_seconds: ticks / USER_HZ,
            resident_bytes: resident_kb * 1024,
            virtual_bytes,
            open_fds,
            max_fds,
            start_time_seconds: boot_time + start_ticks / USER_HZ,
        })
    }
}

/// The serving certificate's expiry, per listener (only `listen` serves TLS).
pub struct CertificateExpiry {
    /// Unix seconds of the earliest `notAfter` in the served chain; `i64::MIN` without TLS.
    not_after: AtomicI64,
}

impl Default for CertificateExpiry {
    fn default() -> Self {
        CertificateExpiry {
            not_after: AtomicI64::new(i64::MIN),
        }
    }
}

impl CertificateExpiry {
    pub fn set(&self, not_after: Option<i64>) {
        self.not_after
            .store(not_after.unwrap_or(i64::MIN), Ordering::Relaxed);
    }

    pub fn render(&self, out: &mut String, now: i64) {
        let not_after = self.not_after.load(Ordering::Relaxed);
        if not_after == i64::MIN {
            return;
        }
        header(
            out,
            "freshgate_tls_certificate_expiry_timestamp_seconds",
            "gauge",
            "When the served certificate chain expires (the earliest notAfter of leaf and intermediates, Unix time), by listener.",
        );
        let _ = writeln!(
            out,
            "freshgate_tls_certificate_expiry_timestamp_seconds{{listener=\"gateway\"}} {not_after}"
        );
        header(
            out,
            "freshgate_tls_certificate_expires_in_seconds",
            "gauge",
            "Seconds until the served certificate chain expires (negative once it has), by listener.",
        );
        let _ = writeln!(
            out,
            "freshgate_tls_certificate_expires_in_seconds{{listener=\"gateway\"}} {}",
            not_after.saturating_sub(now)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_as_proc5_describes_them() {
        // A command name with spaces and a parenthesis, as `prctl(PR_SET_NAME)` allows.
        let stat = "4242 (free) gate) S 1 4242 4242 0 -1 4194560 1520 0 0 0 250 75 0 0 20 0 3 0 123400 \
                    734003200 4000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let status = "Name:\tfreshgate\nVmPeak:\t  800000 kB\nVmRSS:\t   16000 kB\nThreads:\t3\n";
        let boot = "cpu  1 2 3 4\nbtime 1700000000\nprocesses 99\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        let process = Process::parse(stat, status, boot, limits, 12).unwrap();
        assert_eq!(process.cpu_seconds, 3.25);
        assert_eq!(process.resident_bytes, 16_000 * 1024);
        assert_eq!(process.virtual_bytes, 734_003_200);
        assert_eq!(process.open_fds, 12);
        assert_eq!(process.max_fds, Some(1024));
        assert_eq!(process.start_time_seconds, 1_700_001_234.0);
    }

    /// The same numbers as `ps` reads (an independent reader of `/proc`), for a quiet process whose
    /// memory does not move while both read it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_process_reads_as_ps_sees_it() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep runs");
        let pid = child.id().to_string();
        let dir = std::path::PathBuf::from(format!("/proc/{pid}"));
        // Until the child has exec'd `sleep` and faulted its pages in, its memory moves.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut last = 0;
        let process = loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let process = Process::read_from(&dir).expect("/proc/<pid> is readable on Linux");
            let settled = process.resident_bytes == last
                && std::fs::read_to_string(dir.join("comm"))
                    .unwrap_or_default()
                    .trim()
                    == "sleep";
            if settled {
                break process;
            }
            assert!(std::time::Instant::now() < deadline, "sleep never settled");
            last = process.resident_bytes;
        };
        let ps = std::process::Command::new("ps")
            .args(["-o", "rss=,vsz=,etimes=", "-p", &pid])
            .env("LC_ALL", "C")
            .output()
            .expect("ps runs");
        let _ = child.kill();
        let _ = child.wait();
        let text = String::from_utf8(ps.stdout).unwrap();
        let columns: Vec<f64> = text
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(process.resident_bytes as f64, columns[0] * 1024.0, "RSS");
        assert_eq!(process.virtual_bytes as f64, columns[1] * 1024.0, "VSZ");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            (process.start_time_seconds - (now - columns[2])).abs() <= 2.0,
            "started at {} against ps's {}",
            process.start_time_seconds,
            now - columns[2]
        );
        assert!(process.open_fds >= 3 && process.max_fds.is_some_and(|max| max >= 64));
        let mut out = String::new();
        render_process(&mut out);
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_max_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(out.contains(name), "{name} in\n{out}");
        }
    }

    #[test]
    fn the_certificate_gauges_appear_only_with_tls_and_count_down() {
        let expiry = CertificateExpiry::default();
        let mut out = String::new();
        expiry.render(&mut out, 1000);
        assert!(out.is_empty());
        expiry.set(Some(5000));
        expiry.render(&mut out, 1000);
        assert!(out.contains(
            "freshgate_tls_certificate_expiry_timestamp_seconds{listener=\"gateway\"} 5000\n"
        ));
        assert!(
            out.contains(
                "freshgate_tls_certificate_expires_in_seconds{listener=\"gateway\"} 4000\n"
            )
        );
    }
}

//! The process's open-file limit.
//!
//! Every client connection is a file descriptor, and so is each provider connection. Services often start
//! with a soft limit of 1024 (systemd's default `LimitNOFILE=1024:524288`), far below what
//! `limits.max_connections` allows; past it `accept` fails with `EMFILE` and clients wait in the kernel's
//! backlog as if the gateway were full. Like Go's runtime (since 1.19), the gateway raises its soft limit
//! to the hard one at start-up, which any process may do, and says so when even the hard limit is below
//! what its limits need.

use tracing::{info, warn};

use crate::config::Limits;

/// Descriptors besides client connections: provider connections (`limits.max_upstream_connections`), the
/// admin listener's connections, the store, the directory, files, and the runtime's own.
const SPARE: u64 = 256;

/// What `limits` may need at once.
fn needed(limits: &Limits) -> u64 {
    (limits.max_connections + limits.max_upstream_connections) as u64 + SPARE
}

/// Raises the soft open-file limit to the hard limit, and warns when that is below what `limits` need.
#[cfg(unix)]
pub fn raise(limits: &Limits) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // Unlimited (`None`) is not a value Linux takes for open files; then there is nothing to do.
    let (Some(soft), Some(hard)) = (limit.current, limit.maximum) else {
        return;
    };
    let now = if hard > soft {
        let raised = rustix::process::Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                info!(
                    from = soft,
                    to = hard,
                    "open-file limit raised to the hard limit"
                );
                hard
            }
            Err(error) => {
                warn!(soft, error = %error, "the open-file limit could not be raised");
                soft
            }
        }
    } else {
        soft
    };
    let need = needed(limits);
    if now < need {
        warn!(
            limit = now,
            needed = need,
            "the open-file limit is below what limits.max_connections and limits.max_upstream_connections \
             need: connections past it wait in the kernel's backlog; raise the hard limit (systemd: \
             LimitNOFILE=, docker run --ulimit nofile=) or lower limits.max_connections"
        );
    }
}

#[cfg(not(unix))]
pub fn raise(_limits: &Limits) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let before = getrlimit(Resource::Nofile);
        if let Some(hard) = before.maximum {
            // Start below the hard limit, as a service under systemd does.
            let low = hard.min(1024);
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(low),
                    maximum: Some(hard),
                },
            )
            .unwrap();
            raise(&Limits::default());
            assert_eq!(getrlimit(Resource::Nofile).current, Some(hard));
        }
    }
}

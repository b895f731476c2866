//! Atomic reservations for the failed-login throttle: a try is counted *before* it reaches the directory.
//!
//! A check before the bind and a count after it (two store calls) let every try of a burst pass the check
//! before any was counted: 50 wrong passwords sent at once all reached the directory. Here one store call
//! checks every limit a try is under and, only when all allow it, records the try as *in flight* under
//! each limit's key, atomically (a mutex in memory; one Lua script in Redis / Valkey, so replicas sharing
//! the store count each other's tries). In-flight tries count like failures. When the directory has
//! answered, the try is settled: a failure stays as a failure, a success clears the key's failures, and a
//! try that never reached the directory is released. An in-flight entry that is never settled (the process
//! died mid-bind) expires after the reservation's time to live.
//!
//! Two ways of counting, one per kind of key:
//! - `Sliding`: failures within the last `window`, with an optional backoff (2^(n-1) s after the n-th);
//!   for what the browser is told (per client address, per typed name).
//! - `Chain`: Active Directory's own count (`badPwdCount`): failures since the last gap of more than
//!   `window` (AD resets the count only after a whole observation window without a failure), so a slow
//!   drip of failures adds up as it does on the domain controller; with a `Guard` from the directory's
//!   own counters and lockout threshold. For the directory entry a bind goes to.

use std::time::Duration;

/// Longest wait between tries under a backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One key a try must fit under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    pub rule: Rule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// At most `max` failures plus tries in flight within the sliding `window`; with `backoff`, the next
    /// try waits 2^(n-1) seconds after the n-th failure (at most `MAX_BACKOFF` and `window`).
    Sliding {
        window: Duration,
        max: u32,
        backoff: bool,
    },
    /// The failures of the current chain (no gap of more than `window` between them, and the last within
    /// `window` of now) plus tries in flight plus this one may not exceed `max`; and the `guard` must allow
    /// it.
    Chain {
        window: Duration,
        max: u32,
        guard: Option<Guard>,
    },
}

/// The directory's lockout, as read right before the bind: a bind is sent only if, counting every try
/// that may still fail, it cannot be the `threshold`-th failure: `count + in flight + recent + 1 <
/// threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    /// The directory's own failure count for the entry when it was read (0 once its observation window
    /// passed); `None` when it could not be read: then the chain's failures stand in for it.
    pub count: Option<u32>,
    /// The failures that lock the account; 1 holds every bind (a policy the gateway cannot read).
    pub threshold: u32,
    /// When the count was read (ms): failures the gateway recorded from then on may be missing from it.
    pub since: u64,
}

/// Why a try may not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The index of the limit that holds it.
    pub limit: usize,
    /// `true` when the directory's lockout guard holds it, `false` for the limit's own count or backoff.
    pub by_guard: bool,
    /// When a try may pass again, as far as the store can tell.
    pub retry_after: Duration,
}

/// A try to record under every limit, or nothing if one of them holds it.
#[derive(Debug, Clone)]
pub struct Reserve {
    /// Unique per try.
    pub id: String,
    /// Milliseconds since the epoch (the clock replicas share).
    pub now: u64,
    /// How long an unsettled try counts as in flight.
    pub ttl: Duration,
    pub limits: Vec<Limit>,
}

/// What became of a try, per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did not reach the directory (or did not count there): forget it.
    Released,
    /// It failed at `now`: keep it as a failure, the key's failures living for `keep` after it.
    Failed { keep: Duration },
    /// It succeeded: forget it and the failures recorded before `before` (ms).
    Cleared { before: u64 },
}

#[derive(Debug, Clone)]
pub struct Settle {
    pub id: String,
    pub now: u64,
    pub keys: Vec<(String, Outcome)>,
}

/// At most this many failures are kept per key (more than any limit needs).
pub const MAX_FAILURES_PER_KEY: usize = 1024;

pub fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The failures of the chain that ends with the latest one, if the latest is within `window` of `now`:
/// Active Directory's effective `badPwdCount`. `times` oldest first.
pub fn chain_count(times: &[u64], now: u64, window: Duration) -> u32 {
    let window = ms(window);
    let Some(&last) = times.last() else { return 0 };
    if now.saturating_sub(last) > window {
        return 0;
    }
    let mut count = 1u32;
    for pair in times.windows(2).rev() {
        if pair[1].saturating_sub(pair[0]) > window {
            break;
        }
        count += 1;
    }
    count
}

/// Whether one limit lets a try through, given its key's failures (ms, oldest first) and the tries in
/// flight under it. The Redis script (`RESERVE_SCRIPT`) decides the same way.
pub fn decide(
    rule: &Rule,
    times: &[u64],
    in_flight: u32,
    now: u64,
) -> Result<(), (bool, Duration)> {
    match *rule {
        Rule::Sliding {
            window,
            max,
            backoff,
        } => {
            let window_ms = ms(window);
            let recent: Vec<u64> = times
                .iter()
                .copied()
                .filter(|t| now.saturating_sub(*t) < window_ms)
                .collect();
            let used = recent.len() as u64 + u64::from(in_flight);
            if used >= u64::from(max) {
                // Free once enough of the oldest failures leave the window (in-flight tries settle soon).
                let index = usize::try_from(used - u64::from(max)).unwrap_or(usize::MAX);
                let free_at = recent
                    .get(index)
                    .map_or(now, |t| t.saturating_add(window_ms));
                let wait = Duration::from_millis(free_at.saturating_sub(now));
                return Err((false, wait.max(Duration::from_secs(1))));
            }
            if backoff && let Some(&latest) = recent.last() {
                let exponent = u32::try_from(recent.len() - 1).unwrap_or(u32::MAX).min(16);
                let delay = Duration::from_secs(1u64 << exponent)
                    .min(MAX_BACKOFF)
                    .min(window);
                let ready = latest.saturating_add(ms(delay));
                if ready > now {
                    return Err((false, Duration::from_millis(ready - now)));
                }
            }
            Ok(())
        }
        Rule::Chain { window, max, guard } => {
            let chain = chain_count(times, now, window);
            let until_reset = || {
                let last = times.last().copied().unwrap_or(now);
                Duration::from_millis(last.saturating_add(ms(window)).saturating_sub(now))
                    .max(Duration::from_secs(1))
            };
            if u64::from(chain) + u64::from(in_flight) + 1 > u64::from(max) {
                return Err((false, until_reset()));
            }
            if let Some(guard) = guard {
                let base = match guard.count {
                    Some(count) => {
                        let recent = times.iter().filter(|t| **t >= guard.since).count();
                        u64::from(count) + recent as u64
                    }
                    None => u64::from(chain),
                };
                if base + u64::from(in_flight) + 1 >= u64::from(guard.threshold) {
                    return Err((true, until_reset()));
                }
            }
            Ok(())
        }
    }
}

/// The Redis / Valkey side of `reserve`, one script so that checking every limit and recording the try
/// is atomic across replicas. KEYS: per limit, its failures (a sorted set scored by time) and its tries
/// in flight (a sorted set of ids scored by expiry). ARGV: now, id, ttl (ms), then per limit: kind
/// (0 sliding, 1 chain), window (ms), max, backoff (0/1), guard count (-1: none, -2: no guard),
/// threshold, since. Returns `{0}`, or `{1, limit (1-based), by guard (0/1), retry after (ms)}`.
/// Mirrors `decide`.
pub const RESERVE_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local id = ARGV[2]
local ttl = tonumber(ARGV[3])
local n = #KEYS / 2
for i = 1, n do
  local fkey, ikey = KEYS[2 * i - 1], KEYS[2 * i]
  local base = 3 + (i - 1) * 7
  local kind, window, max = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local backoff, gcount = tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
  local threshold, since = tonumber(ARGV[base + 6]), tonumber(ARGV[base + 7])
  redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now)
  local inflight = redis.call('ZCARD', ikey)
  local raw = redis.call('ZRANGE', fkey, 0, -1, 'WITHSCORES')
  local times = {}
  for j = 2, #raw, 2 do times[#times + 1] = tonumber(raw[j]) end
  if kind == 0 then
    local recent = {}
    for _, t in ipairs(times) do if now - t < window then recent[#recent + 1] = t end end
    local used = #recent + inflight
    if used >= max then
      local t = recent[used - max + 1]
      local wait = 0
      if t then wait = t + window - now end
      return {1, i, 0, math.max(wait, 1000)}
    end
    if backoff == 1 and #recent > 0 then
      local delay = math.min(2 ^ math.min(#recent - 1, 16) * 1000, 60000, window)
      local ready = recent[#recent] + delay
      if ready > now then return {1, i, 0, ready - now} end
    end
  else
    local chain = 0
    local last = times[#times]
    if last and now - last <= window then
      chain = 1
      for j = #times, 2, -1 do
        if times[j] - times[j - 1] > window then break end
        chain = chain + 1
      end
    end
    local reset = math.max((last or now) + window - now, 1000)
    if chain + inflight + 1 > max then return {1, i, 0, reset} end
    if gcount ~= -2 then
      local counted = chain
      if gcount >= 0 then
        counted = gcount
        for _, t in ipairs(times) do if t >= since then counted = counted + 1 end end
      end
      if counted + inflight + 1 >= threshold then return {1, i, 1, reset} end
    end
  end
end
for i = 1, n do
  local ikey = KEYS[2 * i]
  redis.call('ZADD', ikey, now + ttl, id)
  redis.call('PEXPIRE', ikey, ttl)
end
return {0}
";

/// The Redis / Valkey side of `settle`. KEYS: per key, its failures and its tries in flight. ARGV: now,
/// id, a unique member for a failure, max failures kept, then per key: outcome (0 released, 1 failed,
/// 2 cleared) and its value (keep ms, or the time before which failures are cleared).
pub const SETTLE_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local id, member, most = ARGV[2], ARGV[3], tonumber(ARGV[4])
for i = 1, #KEYS / 2 do
  local fkey, ikey = KEYS[2 * i - 1], KEYS[2 * i]
  local outcome, value = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  redis.call('ZREM', ikey, id)
  if outcome == 1 then
    redis.call('ZADD', fkey, now, member)
    local n = redis.call('ZCARD', fkey)
    if n > most then redis.call('ZREMRANGEBYRANK', fkey, 0, n - most - 1) end
    redis.call('PEXPIRE', fkey, value)
  elseif outcome == 2 then
    redis.call('ZREMRANGEBYSCORE', fkey, '-inf', '(' .. value)
  end
end
return 0
";

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    fn sliding(max: u32, backoff: bool) -> Rule {
        Rule::Sliding {
            window: Duration::from_secs(300),
            max,
            backoff,
        }
    }

    #[test]
    fn tries_in_flight_count_like_failures() {
        let rule = sliding(3, false);
        assert_eq!(decide(&rule, &[], 2, 0), Ok(()));
        assert!(decide(&rule, &[], 3, 0).is_err());
        assert!(decide(&rule, &[0], 2, S).is_err());
    }

    #[test]
    fn each_failure_doubles_the_wait_and_the_limit_holds_until_the_window_moves() {
        let rule = sliding(3, true);
        assert_eq!(
            decide(&rule, &[0], 0, 0),
            Err((false, Duration::from_secs(1)))
        );
        assert_eq!(decide(&rule, &[0], 0, S), Ok(()));
        assert_eq!(
            decide(&rule, &[0, S], 0, S),
            Err((false, Duration::from_secs(2)))
        );
        assert_eq!(
            decide(&rule, &[0, S, 3 * S], 0, 63 * S),
            Err((false, Duration::from_secs(237)))
        );
        assert_eq!(decide(&sliding(5, false), &[0, S], 0, S), Ok(()));
    }

    #[test]
    fn the_chain_is_ads_count_that_resets_only_after_a_whole_window_without_failures() {
        let window = Duration::from_secs(120);
        // One failure every 41 s: a sliding window of 120 s never holds more than 3, AD's count climbs.
        let drip: Vec<u64> = (0..6).map(|i| i * 41 * S).collect();
        assert_eq!(chain_count(&drip, 6 * 41 * S, window), 6);
        // A gap of more than the window starts again.
        assert_eq!(chain_count(&[0, S, 200 * S], 200 * S, window), 1);
        assert_eq!(chain_count(&[0, S], 122 * S, window), 0);
    }

    #[test]
    fn the_guard_never_lets_through_the_bind_that_could_be_the_thresholds_failure() {
        let window = Duration::from_secs(120);
        let guard = |count, threshold| Rule::Chain {
            window,
            max: 100,
            guard: Some(Guard {
                count: Some(count),
                threshold,
                since: 10 * S,
            }),
        };
        // Threshold 5: with 3 failures on the DC, one more may be tried; with 4, none.
        assert_eq!(decide(&guard(3, 5), &[], 0, 20 * S), Ok(()));
        assert!(matches!(
            decide(&guard(4, 5), &[], 0, 20 * S),
            Err((true, _))
        ));
        // A try in flight, or a failure recorded since the count was read, counts too.
        assert!(decide(&guard(3, 5), &[], 1, 20 * S).is_err());
        assert!(decide(&guard(3, 5), &[15 * S], 0, 20 * S).is_err());
        // A failure recorded before the read is in the count already.
        assert_eq!(decide(&guard(3, 5), &[5 * S], 0, 20 * S), Ok(()));
        // Threshold 2: one wrong password at a time, and only from a clean count.
        assert_eq!(decide(&guard(0, 2), &[], 0, 20 * S), Ok(()));
        assert!(decide(&guard(0, 2), &[], 1, 20 * S).is_err());
        assert!(decide(&guard(1, 2), &[], 0, 20 * S).is_err());
        // Threshold 1 (a policy that cannot be read): nothing is sent.
        assert!(decide(&guard(0, 1), &[], 0, 20 * S).is_err());
    }

    #[test]
    fn without_the_directorys_count_the_gateways_own_chain_stands_in() {
        let rule = Rule::Chain {
            window: Duration::from_secs(120),
            max: 100,
            guard: Some(Guard {
                count: None,
                threshold: 3,
                since: 0,
            }),
        };
        assert_eq!(decide(&rule, &[0], 0, 41 * S), Ok(()));
        assert!(decide(&rule, &[0, 41 * S], 0, 82 * S).is_err());
        assert_eq!(decide(&rule, &[0, 41 * S], 0, 300 * S), Ok(()));
    }

    #[test]
    fn the_entrys_own_limit_counts_the_chain_and_tries_in_flight() {
        let rule = Rule::Chain {
            window: Duration::from_secs(60),
            max: 3,
            guard: None,
        };
        assert_eq!(decide(&rule, &[0, 50 * S], 0, 100 * S), Ok(()));
        assert!(decide(&rule, &[0, 50 * S], 1, 100 * S).is_err());
        assert!(decide(&rule, &[0, 50 * S, 100 * S], 0, 150 * S).is_err());
        assert_eq!(decide(&rule, &[0, 50 * S, 100 * S], 0, 161 * S), Ok(()));
    }
}

//! The per-client-address connection cap (`limits.max_connections_per_ip`).
//!
//! Without it one client can take every slot of `limits.max_connections` and starve everyone else. IPv6
//! clients are counted per /64, the smallest block a host is usually given: counting single addresses
//! would let one host open connections from 2^64 of them. Peers in `trusted_proxies` are not capped, since
//! behind a load balancer every connection comes from one of its few addresses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

pub struct PerIp {
    limit: usize,
    exempt: Vec<IpNet>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIp {
    /// `limit` 0: no cap.
    pub fn new(limit: usize, exempt: Vec<IpNet>) -> Arc<Self> {
        Arc::new(PerIp {
            limit,
            exempt,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `peer`, or `None` when that client is at the cap.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        let peer = peer.to_canonical();
        if self.limit == 0 || self.exempt.iter().any(|net| net.contains(&peer)) {
            return Some(Slot(None));
        }
        let key = client_key(peer);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot(Some((self.clone(), key))))
    }

    fn release(&self, key: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&key);
            }
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// An IPv4 address as it is; an IPv6 address reduced to its /64 (also the login throttle's unit).
pub(crate) fn client_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// One admitted connection; frees its slot when dropped.
pub struct Slot(Option<(Arc<PerIp>, IpAddr)>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((per_ip, key)) = self.0.take() {
            per_ip.release(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_no_more_than_its_share_and_its_slots_come_back() {
        let per_ip = PerIp::new(2, vec![]);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let first = per_ip.admit(a).unwrap();
        let _second = per_ip.admit(a).unwrap();
        assert!(per_ip.admit(a).is_none());
        assert!(per_ip.admit("203.0.113.8".parse().unwrap()).is_some());
        drop(first);
        assert!(per_ip.admit(a).is_some());
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_counts_as_ipv4() {
        let per_ip = PerIp::new(1, vec![]);
        let _one = per_ip.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(
            per_ip
                .admit("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_none()
        );
        assert!(per_ip.admit("2001:db8:1:3::1".parse().unwrap()).is_some());
        let _v4 = per_ip.admit("192.0.2.1".parse().unwrap()).unwrap();
        assert!(per_ip.admit("::ffff:192.0.2.1".parse().unwrap()).is_none());
    }

    #[test]
    fn trusted_proxies_and_a_zero_limit_are_not_capped() {
        let per_ip = PerIp::new(1, vec!["10.0.0.0/8".parse().unwrap()]);
        let lb: IpAddr = "10.1.2.3".parse().unwrap();
        let slots: Vec<_> = (0..5).map(|_| per_ip.admit(lb).unwrap()).collect();
        assert_eq!(slots.len(), 5);
        let off = PerIp::new(0, vec![]);
        let any: IpAddr = "198.51.100.1".parse().unwrap();
        assert!((0..5).all(|_| off.admit(any).is_some()));
    }
}

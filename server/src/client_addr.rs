//! Who a client is, for limits and throttles: the address behind a trusted
//! reverse proxy, and one key per IPv6 /64 (a single host usually holds a
//! whole /64, so counting its addresses one by one would count nothing).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// The client's address: the TCP peer, or, when the peer is one of
/// `trusted` proxies, the right-most `X-Forwarded-For` address that is not
/// itself a trusted proxy (anything left of it the client could have
/// written itself).
pub fn client_ip(trusted: &[IpNet], peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    // From the right: what our proxies appended, up to the first address
    // that is not one of them. Everything left of it the client wrote; an
    // entry we cannot read ends the walk (the proxy is then the client).
    let mut client = peer;
    let lists: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    for hop in lists.iter().rev().flat_map(|v| v.rsplit(',')) {
        let Ok(ip) = hop.trim().parse::<IpAddr>().map(canonical) else {
            break;
        };
        client = ip;
        if !trusted.iter().any(|net| net.contains(&ip)) {
            break;
        }
    }
    client
}

/// As [`client_ip`], with the peer's port: the address a message written
/// on the web (compose, a portal reply, the API) names as where it came
/// from, in its envelope and `Received` line, rather than the proxy's.
pub fn client_socket(
    trusted: &[IpNet],
    peer: std::net::SocketAddr,
    headers: &http::HeaderMap,
) -> std::net::SocketAddr {
    std::net::SocketAddr::new(client_ip(trusted, peer.ip(), headers), peer.port())
}

/// IPv4-mapped IPv6 addresses as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// What limits count a client by: its IPv4 address, or its IPv6 /64.
pub fn client_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
    }
}

/// Connections open now, in all and per client address (IPv6: per /64):
/// SMTP sessions, HTTPS connections.
pub struct ConnectionLimits {
    max: usize,
    per_client: usize,
    open: std::sync::Mutex<(usize, std::collections::HashMap<String, usize>)>,
}

/// A connection's place; given back when it ends, however it ends.
pub struct Slot<'a> {
    limits: &'a ConnectionLimits,
    client: String,
}

impl ConnectionLimits {
    pub fn new(max: usize, per_client: usize) -> Self {
        ConnectionLimits {
            max,
            per_client,
            open: Default::default(),
        }
    }

    /// A place for a connection from `ip`; none when it is over either limit.
    pub fn enter(&self, ip: IpAddr) -> Option<Slot<'_>> {
        let client = client_key(ip);
        let mut open = self
            .open
            .lock()
            .expect("the session count is never poisoned");
        let mine = open.1.get(&client).copied().unwrap_or(0);
        if open.0 >= self.max || mine >= self.per_client {
            return None;
        }
        open.0 += 1;
        open.1.insert(client.clone(), mine + 1);
        Some(Slot {
            limits: self,
            client,
        })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .expect("the session count is never poisoned");
        open.0 -= 1;
        if let Some(n) = open.1.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let forwarded = headers(&["198.51.100.1, 192.0.2.7"]);
        assert_eq!(client_ip(&proxies, stranger, &forwarded), stranger);
        assert_eq!(client_ip(&[], proxy, &forwarded), proxy);
        assert_eq!(
            client_ip(&proxies, proxy, &forwarded),
            "192.0.2.7".parse::<IpAddr>().unwrap(),
            "the right-most address, not what the client wrote on the left"
        );
        // A chain of our own proxies is skipped.
        let chain = headers(&["192.0.2.7", "10.0.0.5"]);
        assert_eq!(
            client_ip(&proxies, proxy, &chain),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(&proxies, proxy, &headers(&["junk"])), proxy);
        // However long the list the client starts, the proxy's entry counts.
        let mut long = vec!["203.0.113.1"; 100].join(", ");
        long.push_str(", 192.0.2.7");
        assert_eq!(
            client_ip(&proxies, proxy, &headers(&[&long])),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(&proxies, proxy, &headers(&["junk, 192.0.2.7"])),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(&proxies, proxy, &headers(&[])), proxy);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), "2001:db8:1:2::/64");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}

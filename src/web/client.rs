//! The client's address, the same for both doors, the limits and the audit log.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::state::App;

/// The client's address: the peer, or what a trusted proxy (Caddy, cloudflared) says it is.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<App> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(client_addr(
            peer,
            &parts.headers,
            &app.config.trusted_proxies,
        )))
    }
}

/// Where a request without connection info comes from: an address that is nobody's, never a
/// trusted proxy (so no forwarding header is believed) and one bucket for every such request.
pub const UNKNOWN_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The client's address: the peer, or, when the peer is a trusted proxy, what it reports:
/// `CF-Connecting-IP` (Caddy sets it to the address it determined, cloudflared to Cloudflare's),
/// else `X-Forwarded-For` read from the right: each proxy appends the address it received the
/// request from, so the right-most entry that is not itself a trusted proxy is the client, and
/// everything left of it is what the client wrote. Fails closed: without connection info
/// (`peer` None) nothing is trusted.
pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return UNKNOWN_CLIENT;
    };
    if !trusted.contains(&peer) {
        return peer;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ip) = header("cf-connecting-ip").and_then(|v| v.trim().parse::<IpAddr>().ok()) {
        return ip.to_canonical();
    }
    let mut client = peer;
    // Several X-Forwarded-For headers are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip.to_canonical();
                if !trusted.contains(&client) {
                    break;
                }
            }
            // Not an address: nothing from here leftwards was written by a proxy we trust.
            Err(_) => break,
        }
    }
    client
}

/// The client behind a trusted proxy, by the rule of [`client_addr`]:
/// `CF-Connecting-IP`, else the right-most `X-Forwarded-For` entry that is not itself a trusted
/// proxy. None when the peer is no trusted proxy or the proxy named nobody else.
pub fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    // The same rule as every other use of the client's address (`ClientAddr`).
    let peer = peer.to_canonical();
    let client = client_addr(Some(peer), headers, trusted);
    (trusted.contains(&peer) && client != peer).then_some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn trusted() -> Vec<IpAddr> {
        vec![ip("127.0.0.1"), ip("::1")]
    }

    #[test]
    fn without_connection_info_nothing_is_trusted() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("cf-connecting-ip", "203.0.113.9"),
        ]);
        let addr = client_addr(None, &h, &trusted());
        assert_eq!(addr, UNKNOWN_CLIENT);
        assert!(!trusted().contains(&addr));
        assert!(!addr.is_loopback());
        assert_eq!(
            client_addr(None, &HeaderMap::new(), &trusted()),
            UNKNOWN_CLIENT
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[
            ("x-forwarded-for", "127.0.0.1"),
            ("cf-connecting-ip", "10.0.0.1"),
        ]);
        assert_eq!(
            client_addr(Some(ip("198.51.100.4")), &h, &trusted()),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn forwarded_for_is_read_from_the_right() {
        let t = trusted();
        let peer = Some(ip("127.0.0.1"));
        // The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]);
        assert_eq!(client_addr(peer, &h, &t), ip("203.0.113.7"));
        // cloudflared → Caddy → CloudVault: Caddy appended cloudflared's loopback address.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 127.0.0.1")]);
        assert_eq!(client_addr(peer, &h, &t), ip("203.0.113.7"));
        // Two headers are one list.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.8"),
        ]);
        assert_eq!(client_addr(peer, &h, &t), ip("203.0.113.8"));
        // Garbage where the proxy's entry should be: the proxy itself is all we know.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip")]);
        assert_eq!(client_addr(peer, &h, &t), ip("127.0.0.1"));
        // No header: the peer.
        assert_eq!(client_addr(peer, &HeaderMap::new(), &t), ip("127.0.0.1"));
    }

    #[test]
    fn cf_connecting_ip_comes_first_from_a_trusted_proxy() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("cf-connecting-ip", "2001:db8::5"),
        ]);
        assert_eq!(
            client_addr(Some(ip("::1")), &h, &trusted()),
            ip("2001:db8::5")
        );
        // An IPv4 peer seen on an IPv6 socket is still the trusted proxy.
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            client_addr(Some(ip("::ffff:127.0.0.1")), &h, &trusted()),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn forwarded_client_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.1, 198.51.100.7".parse().unwrap());
        assert_eq!(
            forwarded_client(proxy, &h, &[proxy]),
            Some("198.51.100.7".parse().unwrap())
        );
        h.insert("cf-connecting-ip", "2001:db8::1".parse().unwrap());
        assert_eq!(
            forwarded_client(proxy, &h, &[proxy]),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(forwarded_client(proxy, &h, &[]), None);
        assert_eq!(forwarded_client(proxy, &HeaderMap::new(), &[proxy]), None);
    }
}

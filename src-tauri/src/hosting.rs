//! Hosting for a small team: the embedded server listening on the local network instead of on
//! loopback only, at a port that stays the same between runs (teammates save the address), with
//! the addresses they can use shown in the app.
//!
//! Off by default: a chat server reachable from the network is a choice the person makes, with
//! the warning the UI shows next to the switch.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The port tried first when hosting starts (then remembered; a busy one is replaced by a free one).
pub const DEFAULT_PORT: u16 = 7860;

/// Where the embedded server listens when hosting on `port`: every interface.
pub fn bind(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

/// `http://<address>:<port>` for each of this computer's IPv4 addresses that others on the network
/// can reach (not loopback, not link-local), private ranges first.
pub fn lan_urls(port: u16) -> Vec<String> {
    let mut addresses = interface_addresses();
    addresses.retain(|ip| !ip.is_loopback() && !ip.is_link_local() && !ip.is_unspecified());
    addresses.sort_by_key(|ip| (!ip.is_private(), *ip));
    addresses.dedup();
    addresses
        .into_iter()
        .map(|ip| format!("http://{ip}:{port}"))
        .collect()
}

#[cfg(unix)]
fn interface_addresses() -> Vec<Ipv4Addr> {
    match nix::ifaddrs::getifaddrs() {
        Ok(interfaces) => interfaces
            .filter_map(|i| i.address)
            .filter_map(|a| a.as_sockaddr_in().map(|s| s.ip()))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the network interfaces");
            Vec::new()
        }
    }
}

#[cfg(not(unix))]
fn interface_addresses() -> Vec<Ipv4Addr> {
    // Windows: the addresses are shown by `ipconfig`; the UI says so when this list is empty.
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_leave_out_loopback_and_carry_the_port() {
        let urls = lan_urls(7860);
        assert!(
            urls.iter()
                .all(|u| u.starts_with("http://") && u.ends_with(":7860"))
        );
        assert!(!urls.iter().any(|u| u.contains("127.0.0.1")));
        assert_eq!(bind(7860).to_string(), "0.0.0.0:7860");
    }
}

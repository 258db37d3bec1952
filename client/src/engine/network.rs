//! "The network came back": noticed by watching the machine's interfaces.
//!
//! After sleep, a cable plugged back in or a new Wi-Fi, an interface goes up or gets an address.
//! Waiting out a backoff of up to half a minute then is what makes chat apps feel like they "never
//! reconnect". While the sync loop waits to retry, it compares a fingerprint of the interfaces
//! (names, up/running flags, addresses) once a second and retries at once when it changes. The
//! desktop app can also call [`super::Engine::reconnect_now`] on the OS's own network events.

use std::time::Duration;

/// A hash of the network interfaces' names, states and addresses. Unix only (getifaddrs): on
/// Windows it is constant, so there the engine retries on its backoff and when the desktop app
/// calls [`super::Engine::reconnect_now`] (its web view's `online` event, or "Retry now").
pub(crate) fn fingerprint() -> u64 {
    #[cfg(not(unix))]
    {
        0
    }
    #[cfg(unix)]
    {
        use nix::net::if_::InterfaceFlags;
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
            let mut seen: Vec<(String, bool, String)> = addrs
                .map(|a| {
                    let up = a
                        .flags
                        .contains(InterfaceFlags::IFF_UP | InterfaceFlags::IFF_RUNNING);
                    let address = a.address.map(|s| s.to_string()).unwrap_or_default();
                    (a.interface_name, up, address)
                })
                .collect();
            seen.sort();
            seen.hash(&mut hasher);
        }
        hasher.finish()
    }
}

/// Resolves once the fingerprint differs from `start` (checked every second).
pub(crate) async fn changed(start: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        if fingerprint() != start {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fingerprint_is_stable_while_nothing_changes() {
        assert_eq!(super::fingerprint(), super::fingerprint());
    }
}

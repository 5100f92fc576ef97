//! Where a webhook may be delivered: an `http` or `https` URL whose host resolves only to public
//! addresses. A destination on loopback, a private network, link-local, unique-local, carrier
//! NAT, multicast or an unspecified address is refused unless the server runs with
//! `--webhook-allow-private`, because a caller able to add an endpoint could otherwise make the
//! server send requests into the network it runs in. The resolved addresses are judged, not the
//! URL's text (`http://127.1/`, `http://[::ffff:10.0.0.1]/`, a name that resolves to 10.0.0.1).

use crate::limits;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::Url;

/// Why a destination was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error(
        "must be an absolute http or https URL of at most {} bytes",
        limits::WEBHOOK_URL_BYTES_MAX
    )]
    NotHttp,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("does not resolve: {0}")]
    Unresolved(String),
    #[error("resolves to {0}, a loopback or private address (allowed only with --webhook-allow-private)")]
    Private(IpAddr),
}

/// Parses a destination URL (the text alone; see [`resolve_public`] for its addresses).
pub fn parse_url(text: &str) -> Result<Url, DestinationError> {
    // The text must be the URL itself: the parser would also take surrounding spaces, a
    // backslash for a slash, or a tab inside, which nobody means to configure.
    let scheme_ok = ["http://", "https://"].iter().any(|prefix| {
        text.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    });
    let clean = !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if text.len() > limits::WEBHOOK_URL_BYTES_MAX || !scheme_ok || !clean {
        return Err(DestinationError::NotHttp);
    }
    let url = Url::parse(text).map_err(|_| DestinationError::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(DestinationError::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DestinationError::Credentials);
    }
    Ok(url)
}

/// Resolves `url`'s host and port and answers its addresses, refusing any that is not public
/// unless `allow_private`.
pub async fn resolve_public(
    url: &Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, DestinationError> {
    let host = url.host_str().ok_or(DestinationError::NotHttp)?;
    // `Url` keeps an IPv6 literal in brackets; the resolver takes it bare.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url
        .port_or_known_default()
        .ok_or(DestinationError::NotHttp)?;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| DestinationError::Unresolved(e.to_string()))?
        .collect();
    if addresses.is_empty() {
        return Err(DestinationError::Unresolved("no address".into()));
    }
    check_addresses(addresses.iter().map(SocketAddr::ip), allow_private)?;
    Ok(addresses)
}

/// Refuses the first address that is not public, unless `allow_private`.
pub fn check_addresses(
    addresses: impl IntoIterator<Item = IpAddr>,
    allow_private: bool,
) -> Result<(), DestinationError> {
    if allow_private {
        return Ok(());
    }
    match addresses.into_iter().find(|ip| !is_public(*ip)) {
        Some(private) => Err(DestinationError::Private(private)),
        None => Ok(()),
    }
}

/// The address of a URL whose host is an IP literal (an HTTP client connects to it without
/// asking a resolver, so it is judged here), checked; `None` for a host name.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<Option<IpAddr>, DestinationError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(None),
    };
    check_addresses([ip], allow_private)?;
    Ok(Some(ip))
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let carrier_nat = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || carrier_nat
        || this_network)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: only absolute http(s) URLs without credentials are taken.
    #[test]
    fn urls_are_http_or_https_without_credentials() {
        assert!(parse_url("https://app.example/hooks/holdfast").is_ok());
        assert!(parse_url("http://app.example:8080/h").is_ok());
        assert!(parse_url("HTTPS://app.example/").is_ok());
        for bad in [
            "ftp://app.example/",
            "app.example/hooks",
            "https://",
            "mailto:a@b",
            "",
            " https://app.example/",
            "https:\\\\app.example/",
            "https://app.example/a b",
            "https://app.example/\t",
        ] {
            assert_eq!(parse_url(bad), Err(DestinationError::NotHttp), "{bad}");
        }
        assert_eq!(
            parse_url("https://user:pw@app.example/"),
            Err(DestinationError::Credentials)
        );
        let long = format!(
            "https://app.example/{}",
            "a".repeat(limits::WEBHOOK_URL_BYTES_MAX)
        );
        assert_eq!(parse_url(&long), Err(DestinationError::NotHttp));
    }

    /// Goal: loopback, private, link-local, unique-local, carrier NAT, multicast and mapped
    /// private addresses are not public; ordinary unicast addresses are.
    #[test]
    fn addresses_are_judged() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "ff02::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// Goal: the resolved address decides: a loopback literal in any spelling, and a name that
    /// resolves to loopback, are refused unless private destinations are allowed.
    #[tokio::test]
    async fn resolved_addresses_decide() {
        for text in [
            "http://127.0.0.1:9/",
            "http://127.1:9/",
            "http://[::1]:9/",
            "http://localhost:9/",
        ] {
            let url = parse_url(text).unwrap();
            assert!(
                matches!(
                    resolve_public(&url, false).await,
                    Err(DestinationError::Private(_))
                ),
                "{text}"
            );
            assert!(resolve_public(&url, true).await.is_ok(), "{text}");
        }
    }
}

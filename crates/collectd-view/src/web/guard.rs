//! What every response carries and every request must show: the security headers, and the
//! `Host` check that keeps a page of another site from reaching this server through a
//! name it rebinds to the server's address (DNS rebinding).
//!
//! A request is served when it has no `Host` header (HTTP/1.0), when its host is an IP
//! address literal (a rebinding attack needs a name), when it names `localhost`, or when it
//! names a host given with `--allow-host` (`*` allows every name). Anything else gets
//! 421 Misdirected Request, with a page saying which option would allow it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Problem;

/// The Content-Security-Policy of every response: scripts and styles from this server only
/// (inline style attributes are allowed: rrdtool's SVG graphs carry them), no frames, no
/// plugins, forms posted here only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Which names the `Host` header may carry.
///
/// ```
/// use collectd_view::web::guard::HostPolicy;
///
/// let policy = HostPolicy::new(vec!["stats.example.com".into()]);
/// assert!(policy.allows("127.0.0.1:8080"));
/// assert!(policy.allows("[::1]:8080"));
/// assert!(policy.allows("localhost:8080"));
/// assert!(policy.allows("Stats.Example.com:8080"));
/// assert!(!policy.allows("attacker.example:8080"));
/// assert!(HostPolicy::new(vec!["*".into()]).allows("anything.example"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    names: Vec<String>,
    any: bool,
}

impl HostPolicy {
    /// IP literals and `localhost`, plus `names` (host names, case-insensitive, without a
    /// port; `*` allows every name).
    pub fn new(names: Vec<String>) -> HostPolicy {
        let any = names.iter().any(|n| n == "*");
        let names = names.into_iter().filter(|n| n != "*").map(|n| n.to_ascii_lowercase()).collect();
        HostPolicy { names, any }
    }

    /// Whether a `Host` header value is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = host_name(host_header);
        if self.any || host.parse::<std::net::IpAddr>().is_ok() {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        host == "localhost" || host.ends_with(".localhost") || self.names.contains(&host)
    }
}

/// The host part of a `Host` header: without the port, an IPv6 literal without brackets.
fn host_name(value: &str) -> &str {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => value,
    }
}

/// Middleware: refuses a request whose `Host` the policy does not allow.
pub async fn check_host(State(policy): State<Arc<HostPolicy>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("\u{FFFD}").to_owned());
    match host {
        Some(host) if !policy.allows(&host) => Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "Unknown host name",
            format!(
                "this server does not answer to the name {host:?}; start it with --allow-host {} \
                 to allow that name",
                host_name(&host)
            ),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Adds the security headers to a response (those a handler set stay), and `Retry-After`
/// to a 503.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        let retry = HeaderValue::from(super::admission::RETRY_AFTER_SECS);
        response.headers_mut().entry(header::RETRY_AFTER).or_insert(retry);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_without_ports_and_brackets() {
        assert_eq!(host_name("example.com:8080"), "example.com");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("10.0.0.1:80"), "10.0.0.1");
    }

    #[test]
    fn rebinding_names_are_refused() {
        let policy = HostPolicy::default();
        assert!(policy.allows("localhost.:8080"));
        assert!(policy.allows("app.localhost"));
        assert!(!policy.allows("127.0.0.1.nip.io:8080"));
        assert!(!policy.allows("evil.example"));
        assert!(!policy.allows(""));
    }
}

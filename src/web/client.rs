//! Where a request comes from: address and user agent, for throttling and the audit trail.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::tenants::audit::ClientInfo;

/// The client of `req`. Behind a trusted proxy (`BEHIND_PROXY=true`) the address is the last
/// `X-Forwarded-For` entry, the one the proxy itself saw; otherwise the socket's peer.
pub fn client_info(req: &HttpRequest, behind_proxy: bool) -> ClientInfo {
    let forwarded = behind_proxy
        .then(|| {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(|ip| ip.trim().to_owned())
                .filter(|ip| !ip.is_empty())
        })
        .flatten();
    let ip = forwarded.or_else(|| req.peer_addr().map(|a| a.ip().to_string()));
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ClientInfo { ip, user_agent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_for_is_trusted_only_behind_a_proxy() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.9:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.7"))
            .insert_header((header::USER_AGENT, "test-agent"))
            .to_http_request();
        assert_eq!(client_info(&req, true).ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(client_info(&req, false).ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(
            client_info(&req, false).user_agent.as_deref(),
            Some("test-agent")
        );
    }
}

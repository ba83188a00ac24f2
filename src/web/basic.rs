//! `Authorization: Basic` as WebDAV clients and metrics scrapers send it; what the credentials
//! prove is the accounts service's (`Accounts::authenticate_basic`).

use base64::Engine;

/// (username, password) from `Authorization: Basic ...`.
pub fn parse_basic(header: Option<&str>) -> Option<(String, String)> {
    let value = header?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.trim().to_lowercase(), p.to_string()))
}

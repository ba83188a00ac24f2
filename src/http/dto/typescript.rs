//! The web UI's `webui/src/api/types.ts`: every response shape of the API and every error code,
//! rendered from the DTOs and the registry (src/error_code.rs) with ts-rs in a fixed order. The test `types_ts_is_current` fails when the file differs
//! and rewrites it when `CLOUDVAULT_WRITE_TYPES=1`.

use ts_rs::{Config, TS};

use super::*;

/// Where the file lives, from the crate root.
pub const TYPES_TS: &str = "webui/src/api/types.ts";

const HEADER: &str = "\
// Generated from the response types in src/http/dto/ and the error codes in src/error_code.rs
// (ts-rs) by `cargo test --lib types_ts`: do not edit.
// Regenerate with: CLOUDVAULT_WRITE_TYPES=1 cargo test --lib types_ts
// Request bodies and UI-only types are in local-types.ts.
";

fn decl<T: TS>(cfg: &Config, out: &mut String) {
    out.push('\n');
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    out.push_str(&one_field_a_line(&T::decl(cfg)));
    out.push('\n');
}

/// ts-rs writes `type T = { a: A, /** doc */ b: B, };` on one line: an object type gets one
/// field a line (with its doc comment above it), as a person would write it. Anything else (a
/// union, an alias) is left as it is.
fn one_field_a_line(decl: &str) -> String {
    let Some(open) = decl.find("= {") else {
        return decl.to_string();
    };
    let body_start = open + 3;
    let (mut depth, mut in_comment, mut in_string) = (0i32, false, false);
    let mut fields = Vec::new();
    let mut field_start = body_start;
    let bytes = decl.as_bytes();
    let mut i = body_start;
    let mut close = None;
    while i < bytes.len() {
        let c = bytes[i];
        if in_comment {
            if decl[i..].starts_with("*/") {
                in_comment = false;
                i += 1;
            }
        } else if in_string {
            in_string = c != b'"';
        } else if decl[i..].starts_with("/*") {
            in_comment = true;
        } else {
            match c {
                b'"' => in_string = true,
                b'{' | b'<' | b'(' | b'[' => depth += 1,
                b'}' if depth == 0 => {
                    close = Some(i);
                    break;
                }
                b'}' | b'>' | b')' | b']' => depth -= 1,
                b',' if depth == 0 => {
                    fields.push(decl[field_start..i].trim());
                    field_start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    // Only `type T = { ... };` itself: not `{ ... } | { ... }`.
    let Some(close) = close.filter(|&c| decl[c + 1..].trim() == ";") else {
        return decl.to_string();
    };
    let last = decl[field_start..close].trim();
    if !last.is_empty() {
        fields.push(last);
    }
    let mut out = format!("{}{{\n", &decl[..open + 2]);
    for field in fields {
        for line in field.lines() {
            // Doc comment lines (` * text`, ` */`) keep their one-space offset.
            out.push_str("  ");
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.pop();
        out.push_str(",\n");
    }
    out.push_str("};");
    out
}

/// The whole file. 64-bit integers are `number` (sizes and counts stay far below 2^53).
pub fn render() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(HEADER);
    macro_rules! decls {
        ($($t:ty),* $(,)?) => { $(decl::<$t>(&cfg, &mut out);)* };
    }
    decls![
        // Errors
        crate::error::ErrorCode,
        crate::error::ErrorBody<'static>,
        // Accounts
        UserResponse,
        UsersResponse,
        TokensResponse,
        SessionResponse,
        SetupStatusResponse,
        AccessRequestReceivedResponse,
        AppPasswordResponse,
        AppPasswordsResponse,
        NewAppPasswordResponse,
        LoginFlowResponse,
        DirectLoginResponse,
        // Files and folders
        NodeKind,
        crate::catalog::Processing,
        MediaResponse,
        TagResponse,
        FileResponse,
        PathEntryResponse,
        ListingResponse,
        UploadResponse,
        DeleteResponse,
        UnfinishedUploadResponse,
        UnfinishedUploadsResponse,
        VersionResponse,
        VersionsResponse,
        TrashItemResponse,
        TrashListingResponse,
        EmptyTrashResponse,
        // Tags and search
        FileTagsResponse,
        TagCountResponse,
        TagsResponse,
        TagFilesResponse,
        SearchReasonResponse,
        SearchHitResponse,
        SearchModelStatusResponse,
        // Photos
        BucketResponse,
        BucketsResponse,
        PhotoPageResponse,
        PhotoNeighboursResponse,
        OnThisDayYearResponse,
        OnThisDayResponse,
        CityResponse,
        CountryResponse,
        PlacesResponse,
        AlbumResponse,
        AlbumsResponse,
        AlbumItemsResponse,
        AlbumChangeResponse,
        // Share links
        ShareResponse,
        SharesResponse,
        PublicShareResponse,
        PublicItemResponse,
        PublicItemsResponse,
        ShareGrantResponse,
        SearchResponse,
        // Admin
        InviteResponse,
        InvitesResponse,
        RequestInviteResponse,
        AccessRequestResponse,
        AccessRequestsResponse,
        VolumeResponse,
        VolumesResponse,
        JobCountResponse,
        JobFailureResponse,
        ModelStatusKind,
        ModelStatusResponse,
        JobsResponse,
        StatsResponse,
        AuditActorResponse,
        AuditTargetResponse,
        AuditEntryResponse,
        AuditPageResponse,
    ];
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test --lib types_ts`; with `CLOUDVAULT_WRITE_TYPES=1` it writes the file instead.
    #[test]
    fn types_ts_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(TYPES_TS);
        let want = render();
        if std::env::var_os("CLOUDVAULT_WRITE_TYPES").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            let (line, had, wanted) = crate::error_code::first_difference(&have, &want);
            panic!(
                "{TYPES_TS} differs from the server's response types (first at line {line}):\n  \
                 file:      {had:?}\n  generated: {wanted:?}\nregenerate it with: \
                 CLOUDVAULT_WRITE_TYPES=1 cargo test --lib types_ts",
            );
        }
    }
}

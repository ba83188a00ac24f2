//! Every stable error code the server sends, in one registry: the wire string, how it is answered
//! (its `Kind`, hence its HTTP status) and what it means. `AppError` carries an `ErrorCode`, so a
//! code that is not here cannot be sent; the README's error table and the web UI's `ErrorCode`
//! type are rendered from this list (and tests keep both current).

use axum::http::StatusCode;

/// How an error is answered. The status of each kind is in `Kind::status`; the WebDAV door maps
/// some kinds its own way (quota to 507, refusals to 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    QuotaExceeded,
    UnsupportedMediaType,
    RangeNotSatisfiable,
    RateLimited,
    Internal,
    VolumeOffline,
    Unavailable,
    VolumeFull,
}

impl Kind {
    pub const fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::PayloadTooLarge | Kind::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::VolumeOffline | Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::VolumeFull => StatusCode::INSUFFICIENT_STORAGE,
        }
    }
}

macro_rules! registry {
    ($( $variant:ident = $wire:literal, $kind:ident $(, also $also:literal)?, $meaning:literal; )*) => {
        /// A stable error code (`{"code": "...", "message": "..."}`); see `ErrorCode::meaning`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( #[doc = $meaning] $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the README's order (by status).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The string on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $wire,)* }
            }

            /// How an `AppError` with this code is answered.
            pub const fn kind(self) -> Kind {
                match self { $(ErrorCode::$variant => Kind::$kind,)* }
            }

            /// One line for the documentation.
            pub const fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)* }
            }

            /// Other statuses the code is sent with, in words (only the framework's catch-alls).
            pub const fn also(self) -> Option<&'static str> {
                match self { $(ErrorCode::$variant => registry!(@also $($also)?),)* }
            }
        }
    };
    (@also) => { None };
    (@also $also:literal) => { Some($also) };
}

registry! {
    // 400
    InvalidJson = "invalid-json", BadRequest,
        "the body is not a JSON object of the expected shape, or not sent as `application/json`";
    InvalidQuery = "invalid-query", BadRequest,
        "a query parameter is malformed or out of range (`limit`, `offset`, `order`, `on_conflict`)";
    InvalidMultipart = "invalid-multipart", BadRequest,
        "an upload that is not well-formed `multipart/form-data`, or whose body was cut off";
    NoFiles = "no-files", BadRequest, "an upload without a file part";
    InvalidName = "invalid-name", BadRequest,
        "a file, folder or app-password name that is not allowed (empty, `/`, `.`/`..`, control characters, too long)";
    InvalidUsername = "invalid-username", BadRequest,
        "a username outside 2–32 of `a-z 0-9 . _ -` starting with a letter or digit";
    WeakPassword = "weak-password", BadRequest, "a password that breaks the password rules";
    PasswordTooLong = "password-too-long", BadRequest, "the password is over the byte limit";
    InvalidInvite = "invalid-invite", BadRequest, "the invite code is wrong, used or expired";
    InvalidRequest = "invalid-request", BadRequest,
        "an access request without a name or contact, or with control characters";
    TooLong = "too-long", BadRequest, "an access request's name, contact or message is too long";
    InvalidMove = "invalid-move", BadRequest,
        "the root folder moved or renamed, or a folder moved or copied into itself";
    InvalidDelete = "invalid-delete", BadRequest, "the root folder cannot be deleted";
    TooDeep = "too-deep", BadRequest, "folders nested deeper than the server allows";
    IsAFolder = "is-a-folder", BadRequest,
        "a file-only operation on a folder (download, tags, a body copy)";
    InvalidTag = "invalid-tag", BadRequest,
        "a tag that is empty, over 64 characters, or has `/` or control characters";
    InvalidSize = "invalid-size", BadRequest, "a thumbnail size other than `small` or `large`";
    InvalidQuota = "invalid-quota", BadRequest,
        "a quota that is not `quota_bytes` or a size such as `\"50GB\"`, or out of range";
    InvalidCount = "invalid-count", BadRequest, "an invite count outside 1–100";
    InvalidExpiry = "invalid-expiry", BadRequest,
        "an invite lifetime that is not a duration between 1 second and 365 days";
    InvalidLength = "invalid-length", BadRequest,
        "tus: no `Upload-Length` (a number of bytes); `Upload-Defer-Length` is not supported";
    InvalidOffset = "invalid-offset", BadRequest, "tus: no `Upload-Offset` (a number of bytes)";
    InvalidMetadata = "invalid-metadata", BadRequest,
        "tus: malformed `Upload-Metadata`, or without the file's name";
    ExceedsUploadLength = "exceeds-upload-length", BadRequest,
        "tus: a `PATCH` body goes past the upload's `Upload-Length`";
    BodyCutOff = "body-cut-off", BadRequest,
        "the request body ended before its announced length (tus `PATCH`, WebDAV XML body)";
    XmlDtdRefused = "xml-dtd-refused", BadRequest,
        "WebDAV: an XML body with a document type declaration (`<!DOCTYPE>`, `<!ENTITY>`)";
    XmlTooDeep = "xml-too-deep", BadRequest, "WebDAV: an XML body nested too deep";
    NotAPhoto = "not-a-photo", BadRequest,
        "an album item or cover that is not one of your pictures or videos (processed, not in the trash)";
    InvalidShare = "invalid-share", BadRequest,
        "a share link request with an unknown `kind`, a password outside 4–256 characters, or an expiry in the past";
    InvalidAlbum = "invalid-album", BadRequest,
        "an album name that is empty, over 200 characters or has control characters, or a sort other than `asc`/`desc`";
    BadRequest = "bad-request", BadRequest, also "or another 4xx",
        "a request the router refused before any handler (a malformed path or query value)";
    // 401, 403
    Unauthorized = "unauthorized", Unauthorized,
        "no, a bad or an expired token; a wrong username or password";
    SharePasswordRequired = "share-password-required", Unauthorized,
        "a share link with a password: send it to `POST /api/public/shares/{token}/unlock` first";
    SharePasswordWrong = "share-password-wrong", Unauthorized, "the password of the share link is wrong";
    Forbidden = "forbidden", Forbidden,
        "an admin route for a user who is not an admin, or a cross-origin cookie request";
    ShareViewOnly = "share-view-only", Forbidden,
        "a download (a file or the zip) through a view-only share link";
    SetupTokenInvalid = "setup-token-invalid", Forbidden,
        "a wrong or already used set-up link";
    // 404, 405
    NotFound = "not-found", NotFound,
        "no such file or folder (another user's answers the same)";
    FolderNotFound = "folder-not-found", NotFound, "the target folder does not exist";
    NotInTrash = "not-in-trash", NotFound, "no such item in the trash";
    VersionNotFound = "version-not-found", NotFound, "no such earlier version of the file";
    AlbumNotFound = "album-not-found", NotFound, "no such album (another user's answers the same)";
    ShareNotFound = "share-not-found", NotFound,
        "no such share link, revoked or expired, or something outside it (all answer the same)";
    UserNotFound = "user-not-found", NotFound, "admin: no such user";
    RequestNotFound = "request-not-found", NotFound,
        "admin: no such access request (answered or dismissed already)";
    UploadNotFound = "upload-not-found", NotFound, "tus: no such upload (it may have expired)";
    UploadGone = "upload-gone", NotFound,
        "a resumable or chunked upload deleted or expired before it finished";
    ThumbnailNotReady = "thumbnail-not-ready", NotFound,
        "the thumbnail is still being made: try again shortly";
    NoThumbnail = "no-thumbnail", NotFound, "the file has no thumbnail (not a picture or video, or it failed)";
    NoSuchRoute = "no-such-route", NotFound, "no such API route";
    MethodNotAllowed = "method-not-allowed", MethodNotAllowed, "the route does not take that method";
    // 409, 412
    NameExists = "name-exists", Conflict, "a file or folder with that name is there already";
    UsernameTaken = "username-taken", Conflict, "that username is taken";
    SetupDone = "setup-done", Conflict, "the server has an admin already";
    CannotDisableSelf = "cannot-disable-self", Conflict, "an admin disabling their own account";
    OffsetMismatch = "offset-mismatch", Conflict,
        "tus: `Upload-Offset` is not the upload's offset (ask it with `HEAD`)";
    UploadBusy = "upload-busy", Conflict, "tus: another request is writing to this upload";
    TusVersion = "tus-version", PreconditionFailed,
        "tus: no `Tus-Resumable: 1.0.0` (the answer lists the versions in `Tus-Version`)";
    // 413, 415, 416, 429
    QuotaExceeded = "quota-exceeded", QuotaExceeded, "the upload would exceed the user's quota";
    BodyTooLarge = "body-too-large", PayloadTooLarge,
        "the request body is over its limit (64 KiB of JSON, a WebDAV XML body's, 100 MB a tus `PATCH`)";
    UploadTooLarge = "upload-too-large", PayloadTooLarge, "tus: an `Upload-Length` over the server's maximum";
    UnsupportedMediaType = "unsupported-media-type", UnsupportedMediaType,
        "the body's `Content-Type` is not one the route takes";
    RangeNotSatisfiable = "range-not-satisfiable", RangeNotSatisfiable,
        "a `Range` outside the file (with `Content-Range: bytes */SIZE`)";
    RateLimited = "rate-limited", RateLimited,
        "too many attempts (sign-in, set-up, access requests): wait for `Retry-After` seconds";
    // 500, 503, 507
    Internal = "internal", Internal, also "or another 5xx",
        "something failed in the server (the details are only in its log)";
    VolumeOffline = "volume-offline", VolumeOffline,
        "the file's storage volume is offline (disk unplugged or not mounted)";
    VolumeReadOnly = "volume-read-only", Unavailable,
        "the storage volume is read-only: files can be read, nothing written";
    StorageReadOnly = "storage-read-only", Unavailable, "the server's database is read-only";
    TooBusy = "too-busy", Unavailable,
        "a cap on open transfers is full (with `Retry-After`; see \"Hardening in the server\")";
    ModelLoading = "model-loading", Unavailable,
        "search by description: the CLIP model is loading (also a search answer's `model_status`)";
    RuntimeMissing = "runtime-missing", Unavailable,
        "search by description: ONNX Runtime is not installed (also a search answer's `model_status`)";
    ModelNotInstalled = "model-not-installed", Unavailable,
        "search by description: no CLIP model is installed (also a search answer's `model_status`)";
    ModelError = "model-error", Unavailable,
        "search by description: the CLIP model failed to load (also a search answer's `model_status`)";
    VolumeFull = "volume-full", VolumeFull, "the storage volume is full";
    StorageFull = "storage-full", VolumeFull, "the disk of the server's database is full";
}

impl ErrorCode {
    /// The status an `AppError` with this code is sent with.
    pub const fn status(self) -> StatusCode {
        self.kind().status()
    }

    /// The code the API gives an error answer that the framework made without one (an unknown
    /// method, a body over the limit, a path it could not parse): the status stays as it is.
    pub fn for_framework_status(status: StatusCode) -> ErrorCode {
        match status.as_u16() {
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            413 => ErrorCode::BodyTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            s if s >= 500 => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// In TypeScript: the union of every wire string.
impl ts_rs::TS for ErrorCode {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;

    fn docs() -> Option<String> {
        Some("/**\n * Every error code the server sends (src/error_code.rs).\n */\n".to_string())
    }

    fn name(_: &ts_rs::Config) -> String {
        "ErrorCode".to_string()
    }

    fn inline(_: &ts_rs::Config) -> String {
        let codes: Vec<String> = Self::ALL
            .iter()
            .map(|c| format!("\"{}\"", c.as_str()))
            .collect();
        codes.join(" | ")
    }

    /// One code a line.
    fn decl(_: &ts_rs::Config) -> String {
        let mut out = String::from("type ErrorCode =");
        for c in Self::ALL {
            out.push_str(&format!("\n  | \"{}\"", c.as_str()));
        }
        out.push(';');
        out
    }

    fn decl_concrete(cfg: &ts_rs::Config) -> String {
        Self::decl(cfg)
    }
}

/// The README's table (between its `error-codes` markers): one row a code, in registry order.
pub fn readme_table() -> String {
    let mut out = String::from("| status | code | meaning |\n| --- | --- | --- |\n");
    for c in ErrorCode::ALL {
        let status = match c.also() {
            Some(also) => format!("{} {also}", c.status().as_u16()),
            None => c.status().as_u16().to_string(),
        };
        out.push_str(&format!(
            "| {status} | `{}` | {} |\n",
            c.as_str(),
            c.meaning()
        ));
    }
    out
}

pub const README_BEGIN: &str = "<!-- error-codes:begin (generated from src/error_code.rs: CLOUDVAULT_WRITE_DOCS=1 cargo test --lib error_codes) -->";
pub const README_END: &str = "<!-- error-codes:end -->";

/// Where a checked-in generated text (`have`) first departs from what is generated now
/// (`want`): the 1-based line and the two lines there, for the generated-file tests' messages.
#[cfg(test)]
pub(crate) fn first_difference<'a>(have: &'a str, want: &'a str) -> (usize, &'a str, &'a str) {
    let line = have
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
    (
        line + 1,
        have.lines().nth(line).unwrap_or(""),
        want.lines().nth(line).unwrap_or(""),
    )
}

/// Checks the README's text between `begin` and `end` against `want` (a table generated from the
/// code); with `CLOUDVAULT_WRITE_DOCS=1` it rewrites that text instead. `what` names the table
/// and its source in the failure message, `regenerate` the command that rewrites it.
#[cfg(test)]
pub(crate) fn check_readme_section(
    begin: &str,
    end: &str,
    want: &str,
    what: &str,
    regenerate: &str,
) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(b), Some(e)) = (readme.find(begin), readme.find(end)) else {
        panic!("README.md has no {begin} … {end} markers around its {what}");
    };
    let start = b + begin.len();
    let have = readme[start..e].trim_matches('\n');
    if have == want.trim_end_matches('\n') {
        return;
    }
    if std::env::var_os("CLOUDVAULT_WRITE_DOCS").is_some_and(|v| v == "1") {
        let updated = format!("{}\n{want}{}", &readme[..start], &readme[e..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let (row, had, wanted) = first_difference(have, want);
    panic!(
        "README.md's {what} (first at row {row}):\n  README:   {had:?}\n  code:     {wanted:?}\n\
         regenerate it with: {regenerate}",
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn error_codes_are_unique_kebab_case_and_ordered_by_status() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} is in the registry twice");
            assert!(
                !s.is_empty()
                    && s.split('-')
                        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                "{s} is not kebab-case"
            );
            assert!(!c.meaning().is_empty(), "{s} has no meaning");
            assert_eq!(serde_json::to_value(c).unwrap(), s);
        }
        let statuses: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.status().as_u16()).collect();
        assert!(
            statuses.is_sorted(),
            "keep the registry in status order (the README's table follows it)"
        );
    }

    #[test]
    fn error_codes_of_the_framework_answers_keep_their_status() {
        for (status, code) in [
            (404, ErrorCode::NotFound),
            (405, ErrorCode::MethodNotAllowed),
            (413, ErrorCode::BodyTooLarge),
            (415, ErrorCode::UnsupportedMediaType),
            (400, ErrorCode::BadRequest),
            (500, ErrorCode::Internal),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(ErrorCode::for_framework_status(status), code);
            assert_eq!(code.status(), status);
        }
        // Statuses without a code of their own get a catch-all, which says so in the table.
        for (status, code) in [(422, ErrorCode::BadRequest), (502, ErrorCode::Internal)] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(ErrorCode::for_framework_status(status), code);
            assert!(code.also().is_some());
        }
    }

    /// `cargo test --lib error_codes`; with `CLOUDVAULT_WRITE_DOCS=1` it rewrites the table.
    #[test]
    fn error_codes_table_in_the_readme_is_current() {
        check_readme_section(
            README_BEGIN,
            README_END,
            &readme_table(),
            "error table differs from src/error_code.rs",
            "CLOUDVAULT_WRITE_DOCS=1 cargo test --lib error_codes",
        );
    }
}

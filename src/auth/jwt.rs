//! Access tokens: HS256 JWTs signed with a secret made at first start and kept in the data folder.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's `token_version` when issued: a password change makes older tokens invalid.
    pub tv: i64,
    pub typ: String,
    /// The sign-in (refresh-token family) the token was issued in: revoking the family (reuse of
    /// a refresh token, sign-out) ends its access tokens at once. Absent in tokens made before
    /// this claim existed (they expire within one access-token lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

/// Clock skew allowed past `exp`: a token lives `ttl + LEEWAY_SECS` seconds at most.
pub const LEEWAY_SECS: u64 = 5;

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    /// Reads `{data}/jwt-secret`, creating it (64 random bytes, mode 0600) on first start.
    pub fn load_or_create(path: &Path) -> anyhow::Result<JwtKeys> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let secret = match std::fs::read(path) {
            Ok(s) if s.len() >= 32 => s,
            Ok(_) => anyhow::bail!("{} is too short to be a signing secret", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret: [u8; 64] = rand::random();
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)?;
                f.write_all(&secret)?;
                f.sync_all()?;
                secret.to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }

    pub fn issue(
        &self,
        user_id: &str,
        token_version: i64,
        family: &str,
        now_secs: i64,
        ttl_secs: i64,
    ) -> AppResult<String> {
        self.issue_typed(user_id, token_version, family, now_secs, ttl_secs, "access")
    }

    /// A token of another type: "media" tokens ride in a cookie and only open thumbnails and
    /// downloads (GET), never an API call that changes anything.
    pub fn issue_typed(
        &self,
        user_id: &str,
        token_version: i64,
        family: &str,
        now_secs: i64,
        ttl_secs: i64,
        typ: &str,
    ) -> AppResult<String> {
        let claims = Claims {
            sub: user_id.into(),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            tv: token_version,
            typ: typ.into(),
            fam: Some(family.into()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::internal(format_args!("jwt: {e}")))
    }

    /// Only HS256 is accepted (so `alg: none` and algorithm swaps fail), with a valid signature
    /// and an `exp` in the future.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        self.verify_typed(token, "access")
    }

    pub fn verify_typed(&self, token: &str, typ: &str) -> AppResult<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = LEEWAY_SECS;
        v.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map_err(|_| AppError::unauthorized("the access token is invalid or expired"))?;
        if data.claims.typ != typ {
            return Err(AppError::unauthorized(
                "the access token is invalid or expired",
            ));
        }
        Ok(data.claims)
    }
}

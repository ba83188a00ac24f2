//! App passwords: one per WebDAV client or device, shown once, revocable one by one, checked
//! by their hash (`Accounts::check_app_password`).

use super::{Accounts, hash_app_secret, new_app_secret};
use crate::db::app_passwords::AppPassword;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};

impl Accounts {
    /// A new app password named `name` for `user_id`: the row and the secret (which exists
    /// only in this answer).
    pub async fn create_app_password(
        &self,
        user_id: &str,
        name: &str,
    ) -> AppResult<(AppPassword, String)> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                ErrorCode::InvalidName,
                "name the app password (1 to 100 characters), e.g. \"laptop rclone\"",
            ));
        }
        let secret = new_app_secret();
        let p = AppPassword {
            id: db::new_id(),
            user_id: user_id.to_string(),
            name,
            created_at: db::now_ms(),
            last_used_at: None,
        };
        let hash = hash_app_secret(&secret);
        let row = p.clone();
        self.db
            .run(move |c| db::app_passwords::insert_app_password(c, &row, &hash))
            .await?;
        Ok((p, secret))
    }

    pub async fn list_app_passwords(&self, user_id: &str) -> AppResult<Vec<AppPassword>> {
        let uid = user_id.to_string();
        self.db
            .run(move |c| db::app_passwords::list_app_passwords(c, &uid))
            .await
    }

    /// Revokes one of `user_id`'s app passwords; false when it has none of that id.
    pub async fn delete_app_password(&self, user_id: &str, id: &str) -> AppResult<bool> {
        let (uid, pid) = (user_id.to_string(), id.to_string());
        self.db
            .run(move |c| db::app_passwords::delete_app_password(c, &uid, &pid))
            .await
    }
}

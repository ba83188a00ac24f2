//! An empty file made without a body: WebDAV's LOCK on an unmapped URL creates one (RFC 4918
//! 7.3; davfs2 locks a new name before it writes it). It is an upload of zero bytes like any
//! other: a body on a volume, a row, counted in the quota, listed everywhere, jobs queued.

use super::{NodeName, OnConflict, Store};
use crate::db::nodes::Node;
use crate::error::AppResult;

impl Store {
    /// Creates the empty file `name` in folder `folder` of `owner`; name-exists if it is taken.
    pub async fn create_empty_file(
        &self,
        owner: &str,
        folder: String,
        name: NodeName,
    ) -> AppResult<Node> {
        let sink = self.begin_upload(owner, &name, Some(0)).await?;
        let staged = sink.finish().await?;
        self.commit_file(owner, Some(folder), name, staged, OnConflict::Fail)
            .await
    }
}

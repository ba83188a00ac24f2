//! Dead properties (WebDAV PROPPATCH): each value and each node's total bounded, and their bytes
//! counted in the owner's `used_bytes` in the same transaction as the rows they count (DESIGN.md
//! §3): added when set or copied, released when removed or when their node is deleted.

use rusqlite::{Connection, TransactionBehavior};

use super::Store;
pub use crate::db::props::Prop;
use crate::db::props::is_counted;
use crate::db::{self};
use crate::error::{AppError, AppResult};

/// One property: namespace, name, prefix and XML value together.
pub const MAX_PROP_BYTES: i64 = 16 * 1024;
/// All the properties of one file or folder.
pub const MAX_NODE_PROP_BYTES: i64 = 64 * 1024;

#[derive(Debug, Clone)]
pub enum PropChange {
    Set(Prop),
    Remove {
        namespace: String,
        name: String,
    },
    /// A live time of the node itself (Windows Explorer's `Win32LastModifiedTime` and
    /// `Win32CreationTime`), in milliseconds: not a stored property, applied with the others.
    SetTime {
        time: NodeTime,
        ms: i64,
    },
}

/// A node's own times a PROPPATCH may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeTime {
    Modified,
    Created,
}

/// What became of one change of a PROPPATCH. The request is atomic (RFC 4918 9.2): when one
/// change fails, none is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropOutcome {
    Done,
    /// The server's own `oc:checksums`.
    Protected,
    /// Over [`MAX_PROP_BYTES`].
    TooLarge,
    /// The node's properties would exceed [`MAX_NODE_PROP_BYTES`].
    NodeFull,
    /// The owner's quota has no room for the bytes.
    QuotaExceeded,
    /// Fine in itself, not applied because another change failed.
    NotApplied,
}

impl Store {
    /// Applies a PROPPATCH to a node of `owner`: all of it, or nothing.
    /// The dead properties of `node` (a node already resolved as the caller's).
    pub async fn list_props(&self, node: &super::Node) -> AppResult<Vec<Prop>> {
        let id = node.id.clone();
        self.db.run(move |c| db::props::list_props(c, &id)).await
    }

    pub async fn patch_props(
        &self,
        owner: &str,
        node: &str,
        changes: Vec<PropChange>,
    ) -> AppResult<Vec<PropOutcome>> {
        let (owner, node) = (owner.to_string(), node.to_string());
        self.db
            .run(move |c| {
                let mut out: Vec<PropOutcome> = changes.iter().map(check_change).collect();
                if out.iter().any(|o| *o != PropOutcome::Done) {
                    return Ok(failed(out));
                }
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if db::nodes::find_owned_node(&tx, &owner, &node)?.is_none() {
                    return Err(AppError::not_found());
                }
                let before = db::props::sum_node_prop_bytes(&tx, &node)?;
                for change in &changes {
                    match change {
                        PropChange::Set(p) => db::props::set_prop(&tx, &node, p)?,
                        PropChange::Remove { namespace, name } => {
                            db::props::remove_prop(&tx, &node, namespace, name)?
                        }
                        PropChange::SetTime {
                            time: NodeTime::Modified,
                            ms,
                        } => db::nodes::set_modified(&tx, &node, *ms)?,
                        PropChange::SetTime {
                            time: NodeTime::Created,
                            ms,
                        } => db::nodes::set_created(&tx, &node, *ms)?,
                    }
                }
                let after = db::props::sum_node_prop_bytes(&tx, &node)?;
                let delta = after - before;
                // A node holding more than the bound from before it existed may still shrink.
                let refusal = if delta > 0 && after > MAX_NODE_PROP_BYTES {
                    Some(PropOutcome::NodeFull)
                } else if delta > 0 && !db::users::try_use(&tx, &owner, delta)? {
                    Some(PropOutcome::QuotaExceeded)
                } else {
                    None
                };
                if let Some(refusal) = refusal {
                    drop(tx); // rolled back: nothing stored, nothing counted
                    for (o, change) in out.iter_mut().zip(&changes) {
                        if matches!(change, PropChange::Set(_)) {
                            *o = refusal;
                        }
                    }
                    return Ok(failed(out));
                }
                if delta < 0 {
                    db::users::apply_usage(&tx, &owner, delta, 0)?;
                }
                tx.commit()?;
                Ok(out)
            })
            .await
    }

    /// Gives node `to` the properties of node `from` (both `owner`'s), counted in the quota:
    /// a folder copied item by item.
    pub async fn copy_props(&self, owner: &str, from: &str, to: &str) -> AppResult<()> {
        let (owner, from, to) = (owner.to_string(), from.to_string(), to.to_string());
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for id in [&from, &to] {
                    if db::nodes::find_owned_node(&tx, &owner, id)?.is_none() {
                        return Err(AppError::not_found());
                    }
                }
                copy_props_counted(&tx, &owner, &from, &to)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }
}

/// Inside the caller's transaction: copies the properties of `from` onto `to` and counts the
/// bytes that adds to `owner`'s usage; quota-exceeded (nothing counted) when they do not fit.
pub(crate) fn copy_props_counted(
    tx: &Connection,
    owner: &str,
    from: &str,
    to: &str,
) -> AppResult<()> {
    let before = db::props::sum_node_prop_bytes(tx, to)?;
    db::props::copy_props(tx, from, to)?;
    let delta = db::props::sum_node_prop_bytes(tx, to)? - before;
    if delta > 0 && !db::users::try_use(tx, owner, delta)? {
        return Err(AppError::quota_exceeded());
    }
    if delta < 0 {
        db::users::apply_usage(tx, owner, delta, 0)?;
    }
    Ok(())
}

fn check_change(change: &PropChange) -> PropOutcome {
    match change {
        PropChange::Set(p) if !is_counted(&p.namespace, &p.name) => PropOutcome::Protected,
        PropChange::Remove { namespace, name } if !is_counted(namespace, name) => {
            PropOutcome::Protected
        }
        PropChange::Set(p) if p.counted_bytes() > MAX_PROP_BYTES => PropOutcome::TooLarge,
        _ => PropOutcome::Done,
    }
}

fn failed(mut out: Vec<PropOutcome>) -> Vec<PropOutcome> {
    for o in &mut out {
        if *o == PropOutcome::Done {
            *o = PropOutcome::NotApplied;
        }
    }
    out
}

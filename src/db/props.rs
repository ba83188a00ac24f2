//! The `dav_props` table: WebDAV dead properties per node.

use rusqlite::{Connection, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct Prop {
    pub namespace: String,
    pub name: String,
    pub prefix: Option<String>,
    pub xml: Option<Vec<u8>>,
}

impl Prop {
    /// What this property adds to its owner's `used_bytes` once stored ([`PROP_BYTES`]).
    pub fn counted_bytes(&self) -> i64 {
        if !is_counted(&self.namespace, &self.name) {
            return 0;
        }
        (self.namespace.len()
            + self.name.len()
            + self.prefix.as_ref().map_or(0, String::len)
            + self.xml.as_ref().map_or(0, Vec::len)) as i64
    }
}

/// The bytes of a stored property (`dav_props AS p`) as counted in its owner's `used_bytes`:
/// namespace, name, prefix and XML value. Only [`COUNTED`] rows count.
pub const PROP_BYTES: &str = "(length(CAST(p.namespace AS BLOB)) + length(CAST(p.name AS BLOB)) \
     + coalesce(length(CAST(p.prefix AS BLOB)), 0) + coalesce(length(p.xml), 0))";

/// Every property but the server's own `oc:checksums`, which it writes with a file's body (at
/// most ~200 bytes, like a thumbnail not counted) and which clients cannot change.
pub const COUNTED: &str = "NOT (p.namespace = 'http://owncloud.org/ns' AND p.name = 'checksums')";

pub fn is_counted(namespace: &str, name: &str) -> bool {
    !(namespace == OC_NS && name == "checksums")
}

/// The counted bytes of a node's properties.
pub fn sum_node_prop_bytes(conn: &Connection, node: &str) -> AppResult<i64> {
    let sql = format!(
        "SELECT coalesce(sum({PROP_BYTES}), 0) FROM dav_props p WHERE p.node_id = :n AND {COUNTED}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(named_params! {":n": node}, |r| r.get(0))?)
}

/// The counted bytes of the properties of `root` and every node below it.
pub fn sum_subtree_prop_bytes(conn: &Connection, root: &str) -> AppResult<i64> {
    let sql = format!(
        "WITH RECURSIVE sub(id) AS (
             SELECT :id UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
         SELECT coalesce(sum({PROP_BYTES}), 0) FROM dav_props p JOIN sub ON p.node_id = sub.id
         WHERE {COUNTED}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(named_params! {":id": root}, |r| r.get(0))?)
}

/// A scalar subquery: the counted bytes of the properties of every node of the user whose id
/// is the SQL expression `owner`.
pub fn owner_prop_bytes_sql(owner: &str) -> String {
    format!(
        "(SELECT coalesce(sum({PROP_BYTES}), 0) FROM dav_props p JOIN nodes pn ON pn.id = p.node_id \
          WHERE pn.owner_id = {owner} AND {COUNTED})"
    )
}

/// (node id, counted bytes) of every node whose properties exceed `max` bytes (stored before
/// properties were bounded).
pub fn find_oversized_props(conn: &Connection, max: i64) -> AppResult<Vec<(String, i64)>> {
    let sql = format!(
        "SELECT p.node_id, sum({PROP_BYTES}) AS b FROM dav_props p WHERE {COUNTED}
         GROUP BY p.node_id HAVING b > :max"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(named_params! {":max": max}, |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn list_props(conn: &Connection, node: &str) -> AppResult<Vec<Prop>> {
    let mut stmt = conn.prepare_cached(
        "SELECT namespace, name, prefix, xml FROM dav_props WHERE node_id = :n ORDER BY rowid",
    )?;
    let rows = stmt
        .query_map(named_params! {":n": node}, |r| {
            Ok(Prop {
                namespace: r.get(0)?,
                name: r.get(1)?,
                prefix: r.get(2)?,
                xml: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn has_props(conn: &Connection, node: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM dav_props WHERE node_id = :n)")?
        .query_row(named_params! {":n": node}, |r| r.get(0))?)
}

/// Ids of the children of `parent` that carry dead properties (one query for a whole listing).
pub fn list_children_with_props(conn: &Connection, parent: &str) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT p.node_id FROM dav_props p JOIN nodes n ON n.id = p.node_id WHERE n.parent_id = :p",
    )?;
    let rows = stmt
        .query_map(named_params! {":p": parent}, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn set_prop(conn: &Connection, node: &str, p: &Prop) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO dav_props (node_id, namespace, name, prefix, xml) VALUES (:n, :ns, :name, :pfx, :xml)
         ON CONFLICT (node_id, namespace, name) DO UPDATE SET prefix = excluded.prefix, xml = excluded.xml",
    )?
    .execute(named_params! {":n": node, ":ns": p.namespace, ":name": p.name, ":pfx": p.prefix, ":xml": p.xml})?;
    Ok(())
}

pub fn remove_prop(conn: &Connection, node: &str, namespace: &str, name: &str) -> AppResult<()> {
    conn.prepare_cached(
        "DELETE FROM dav_props WHERE node_id = :n AND namespace = :ns AND name = :name",
    )?
    .execute(named_params! {":n": node, ":ns": namespace, ":name": name})?;
    Ok(())
}

pub fn copy_props(conn: &Connection, from: &str, to: &str) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO dav_props (node_id, namespace, name, prefix, xml)
         SELECT :to, namespace, name, prefix, xml FROM dav_props WHERE node_id = :from",
    )?
    .execute(named_params! {":to": to, ":from": from})?;
    Ok(())
}

pub const OC_NS: &str = "http://owncloud.org/ns";

/// The file's checksum as Nextcloud clients read it (`oc:checksums`, e.g. "SHA1:ab12...").
pub fn set_checksums(conn: &Connection, node: &str, value: &str) -> AppResult<()> {
    let xml = format!(
        "<oc:checksums xmlns:oc=\"{OC_NS}\"><oc:checksum>{value}</oc:checksum></oc:checksums>"
    );
    set_prop(
        conn,
        node,
        &Prop {
            namespace: OC_NS.into(),
            name: "checksums".into(),
            prefix: Some("oc".into()),
            xml: Some(xml.into_bytes()),
        },
    )
}

/// A new body makes a stored checksum wrong.
pub fn clear_checksums(conn: &Connection, node: &str) -> AppResult<()> {
    remove_prop(conn, node, OC_NS, "checksums")
}

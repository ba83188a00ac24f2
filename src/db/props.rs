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

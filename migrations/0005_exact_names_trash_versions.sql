-- Version 5: names are unique among siblings exactly (after NFC), not ignoring case; a user
-- trash; earlier versions of files.
-- The case-folded name stays, for sorting and search only, never for identity.
ALTER TABLE nodes RENAME COLUMN name_key TO sort_key;
DROP INDEX nodes_sibling_name;
DROP INDEX nodes_one_root;
-- Set on every node of a subtree in the trash; the trashed top node also loses its parent
-- (its place is kept in `trash`), so no walk from a root reaches anything trashed.
ALTER TABLE nodes ADD COLUMN trashed_at INTEGER;
CREATE UNIQUE INDEX nodes_sibling_name ON nodes(parent_id, name) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX nodes_one_root ON nodes(owner_id) WHERE parent_id IS NULL AND trashed_at IS NULL;

-- The user's trash: one row per deleted item (a file, or a folder with everything in it). The
-- item's rows stay in `nodes` (tags, thumbnails, embeddings and properties with them) and its
-- bytes stay in users.used_bytes until it is restored or deleted for good.
CREATE TABLE trash (
    node_id          TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    owner_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    original_parent  TEXT,                  -- the folder it was in (it may be gone since)
    original_path    TEXT NOT NULL,         -- '/photos/beach.jpg' when it was deleted
    deleted_at       INTEGER NOT NULL,
    bytes            INTEGER NOT NULL,      -- files and versions in it
    files            INTEGER NOT NULL
);
CREATE INDEX trash_owner_deleted ON trash(owner_id, deleted_at);

-- Earlier bodies of a file, kept when it is overwritten. Counted in users.used_bytes; thinned
-- by age (`store/versions.rs`) and freed oldest first when space is needed.
CREATE TABLE versions (
    id            TEXT PRIMARY KEY,
    node_id       TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    owner_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    size          INTEGER NOT NULL CHECK (size >= 0),
    content_type  TEXT,
    blob_id       TEXT NOT NULL UNIQUE,
    volume        TEXT NOT NULL,
    ext           TEXT NOT NULL,
    content_hash  TEXT,
    modified_at   INTEGER NOT NULL,         -- the body's time while it was the current one
    created_at    INTEGER NOT NULL          -- when it was replaced
);
CREATE INDEX versions_node ON versions(node_id, modified_at);
CREATE INDEX versions_owner ON versions(owner_id, created_at);

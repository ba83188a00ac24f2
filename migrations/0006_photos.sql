-- Version 6: photos for a family: places, the timeline's order, albums, share links, and
-- search of names by words.

-- Places: the media job reverse-geocodes GPS offline (GeoNames' cities, `reverse_geocoder`).
-- place_cc '' = looked up, nothing near (open sea). place_key: city, region and country folded
-- (lower case, no accents) into ' word word ', for search by place name.
ALTER TABLE media ADD COLUMN place_city TEXT;
ALTER TABLE media ADD COLUMN place_region TEXT;
ALTER TABLE media ADD COLUMN place_country TEXT;
ALTER TABLE media ADD COLUMN place_cc TEXT;
ALTER TABLE media ADD COLUMN place_key TEXT;
-- The timeline: the owner's pictures and videos by when they were taken (else the file's time).
ALTER TABLE media ADD COLUMN owner_id TEXT;
ALTER TABLE media ADD COLUMN timeline_at INTEGER;
UPDATE media SET
    owner_id = (SELECT owner_id FROM nodes WHERE nodes.id = media.node_id),
    timeline_at = COALESCE(taken_at, (SELECT modified_at FROM nodes WHERE nodes.id = media.node_id));
CREATE INDEX media_timeline ON media(owner_id, timeline_at);

-- Albums: a user's named collections of their own files. Removing a file from an album, or
-- deleting the album, never touches the file; a file deleted for good leaves every album.
CREATE TABLE albums (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    cover_node_id  TEXT REFERENCES nodes(id) ON DELETE SET NULL,
    sort           TEXT NOT NULL DEFAULT 'desc' CHECK (sort IN ('asc', 'desc')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX albums_owner ON albums(owner_id, updated_at);
CREATE TABLE album_items (
    album_id  TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    node_id   TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (album_id, node_id)
);
CREATE INDEX album_items_node ON album_items(node_id);

-- Share links: a public link to one file, folder or album of its owner. The token (>= 128 bits,
-- shown to the owner again on the account page) is looked up by its blake3 hash.
CREATE TABLE shares (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token           TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('file', 'folder', 'album')),
    target_id       TEXT NOT NULL,
    password_hash   TEXT,                   -- argon2id; NULL: no password
    allow_download  INTEGER NOT NULL DEFAULT 1,
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    last_used_at    INTEGER
);
CREATE INDEX shares_owner ON shares(owner_id, created_at);

-- Names searched by words, case- and accent-insensitively: an index of nodes.name kept in step by
-- triggers, in the same transaction as every create, rename and delete. Keyed by nodes' rowid, so
-- a copy that may renumber rowids (VACUUM INTO: backups) is followed by a 'rebuild' (restore does).
CREATE VIRTUAL TABLE nodes_fts USING fts5(
    name, content='nodes', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER nodes_fts_insert AFTER INSERT ON nodes BEGIN
    INSERT INTO nodes_fts(rowid, name) VALUES (new.rowid, new.name);
END;
CREATE TRIGGER nodes_fts_delete AFTER DELETE ON nodes BEGIN
    INSERT INTO nodes_fts(nodes_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
END;
CREATE TRIGGER nodes_fts_rename AFTER UPDATE OF name ON nodes BEGIN
    INSERT INTO nodes_fts(nodes_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
    INSERT INTO nodes_fts(rowid, name) VALUES (new.rowid, new.name);
END;
INSERT INTO nodes_fts(nodes_fts) VALUES ('rebuild');

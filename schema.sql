-- CloudVault schema. This file is the truth: it is applied to a fresh database and
-- `PRAGMA user_version` records which version it is. Later changes are numbered
-- migrations (migrations/NNNN_*.sql) with a test that fresh == migrated.
-- Times are Unix milliseconds. Ids are UUIDv4 text: opaque, never sequential.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT NOT NULL,
    is_admin        INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    quota_bytes     INTEGER NOT NULL CHECK (quota_bytes >= 0),
    -- Sum of the sizes of the user's file rows; changes only in the transaction that changes those rows.
    used_bytes      INTEGER NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    -- Space held by uploads in flight (reserved with a conditional UPDATE before or while streaming)
    -- and by chunked uploads waiting for assembly. Recomputed when the server starts: streaming
    -- uploads do not survive a restart, chunked ones do (their sum stays reserved).
    reserved_bytes  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
    -- Bumped on password change or disable: access tokens carrying an older value are refused.
    token_version   INTEGER NOT NULL DEFAULT 0,
    pinned_volume   TEXT,
    root_id         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

-- The namespace: every user's tree. A user's root is the node with parent_id NULL.
CREATE TABLE nodes (
    id            TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent_id     TEXT REFERENCES nodes(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,            -- NFC, validated
    sort_key      TEXT NOT NULL,            -- NFC + lower case: for sorting and search, never identity
    kind          TEXT NOT NULL CHECK (kind IN ('dir', 'file')),
    size          INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    content_type  TEXT,
    blob_id       TEXT UNIQUE,              -- body file name (uuid) on its volume; NULL for folders
    volume        TEXT,
    ext           TEXT,                     -- body file extension, '' for none
    content_hash  TEXT,                     -- blake3 hex of the body
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    etag          TEXT NOT NULL,
    -- Set on every node of a subtree in the trash; the trashed top node also loses its parent
    -- (its place is kept in `trash`), so no walk from a root reaches anything trashed.
    trashed_at    INTEGER,
    CHECK ((kind = 'dir' AND blob_id IS NULL) OR (kind = 'file' AND blob_id IS NOT NULL))
);
-- Names are unique among siblings exactly (after NFC), as in POSIX, Nextcloud and rclone.
CREATE UNIQUE INDEX nodes_sibling_name ON nodes(parent_id, name) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX nodes_one_root ON nodes(owner_id) WHERE parent_id IS NULL AND trashed_at IS NULL;
CREATE INDEX nodes_owner_modified ON nodes(owner_id, modified_at);

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

-- WebDAV dead properties (PROPPATCH), hanging off the node id so MOVE keeps them.
CREATE TABLE dav_props (
    node_id    TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    prefix     TEXT,
    xml        BLOB,
    PRIMARY KEY (node_id, namespace, name)
);

-- App passwords for WebDAV clients: random secrets, stored as a blake3 hash, revocable.
CREATE TABLE app_passwords (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX app_passwords_user ON app_passwords(user_id);

-- Nextcloud-style chunked uploads in progress (WebDAV /dav/uploads/{user}/{name}/). Their
-- bytes count in users.reserved_bytes until assembled, deleted or expired.
CREATE TABLE chunk_uploads (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    volume      TEXT NOT NULL,
    bytes       INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (user_id, name)
);
CREATE TABLE chunk_parts (
    upload_id  TEXT NOT NULL REFERENCES chunk_uploads(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    size       INTEGER NOT NULL CHECK (size >= 0),
    PRIMARY KEY (upload_id, name)
);

-- Bodies whose rows are gone; unlinked after the commit and again at start-up, so a crash
-- between the row delete and the unlink never leaves an orphan.
CREATE TABLE blob_trash (
    volume     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    blob_id    TEXT NOT NULL,
    ext        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (volume, blob_id)
);

-- Volumes seen so far: a volume known here whose marker file is missing is offline (disk unplugged).
CREATE TABLE volumes (
    name        TEXT PRIMARY KEY,
    marker_id   TEXT NOT NULL,
    path        TEXT NOT NULL,
    first_seen  INTEGER NOT NULL
);

CREATE TABLE invite_codes (
    code        TEXT PRIMARY KEY,
    created_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     TEXT REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,       -- blake3 of the opaque token; the token itself is never stored
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    rotated_at  INTEGER,                    -- set when exchanged: presenting it again is reuse
    revoked_at  INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE access_requests (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    contact     TEXT NOT NULL,
    message     TEXT NOT NULL,
    remote_addr TEXT,
    created_at  INTEGER NOT NULL
);


-- Background work, one row per (kind, node). Workers claim 'queued' rows whose next_run_at has
-- come; a failure is retried with backoff (attempts, next_run_at, last_error) and ends 'failed'
-- with its reason. 'waiting': needs something that is missing (the CLIP model), picked up again
-- when it appears. Deleting the node deletes its jobs (that is how a queued job is cancelled).
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('media', 'clip')),
    node_id      TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'waiting', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_run_at  INTEGER NOT NULL,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (kind, node_id)
);
CREATE INDEX jobs_ready ON jobs(state, next_run_at);

-- What the media job learnt about a picture or video. blob_id says which body it was made from:
-- an overwrite makes a new body and the job runs again. Thumbnails live beside the bodies, at
-- {volume}/users/{user_id}/thumbnails/{blob_id}-{size}.{thumb_format}.
CREATE TABLE media (
    node_id       TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    blob_id       TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    width         INTEGER,
    height        INTEGER,
    duration_ms   INTEGER,
    taken_at      INTEGER,                  -- EXIF DateTimeOriginal (or the video's creation time), ms
    camera_make   TEXT,
    camera_model  TEXT,
    gps_lat       REAL,
    gps_lon       REAL,
    thumb_format  TEXT,                     -- 'jpeg' or 'webp'; NULL when no thumbnail could be made
    created_at    INTEGER NOT NULL
, place_city TEXT, place_region TEXT, place_country TEXT, place_cc TEXT, place_key TEXT, owner_id TEXT, timeline_at INTEGER);
-- place_*: GPS reverse-geocoded offline (GeoNames' cities); place_cc '' = looked up, nothing near.
-- place_key: city, region and country folded (lower case, no accents) into ' word word ' for search.
-- owner_id, timeline_at: the timeline, by when it was taken (else the file's time).
CREATE INDEX media_timeline ON media(owner_id, timeline_at);

-- CLIP image embeddings: L2-normalised f32 little-endian, one per picture, tied to the model.
CREATE TABLE embeddings (
    node_id     TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blob_id     TEXT NOT NULL,
    model       TEXT NOT NULL,
    vector      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX embeddings_user ON embeddings(user_id, model);

-- Tags: the model's (source 'auto', with its score) and the user's ('user'). A tag the user
-- removed stays as removed = 1 so the model never brings it back; the user's choice wins.
CREATE TABLE tags (
    node_id     TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,              -- NFC, lower case, trimmed
    source      TEXT NOT NULL CHECK (source IN ('auto', 'user')),
    score       REAL,
    removed     INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (node_id, tag)
);
CREATE INDEX tags_user_tag ON tags(user_id, tag) WHERE removed = 0;

-- Text embeddings of the label set, computed once per model and label text.
CREATE TABLE label_embeddings (
    model       TEXT NOT NULL,
    label       TEXT NOT NULL,
    prompts     TEXT NOT NULL,              -- the prompt texts averaged into the vector
    vector      BLOB NOT NULL,
    PRIMARY KEY (model, label)
);

-- Resumable uploads of the web UI (tus 1.0 at /api/files/uploads). An unfinished
-- upload holds its whole Upload-Length in users.reserved_bytes from creation until it is
-- finished, terminated or expires; its bytes wait in {volume}/.cloudvault-tus/{id}. A finished
-- upload stays as a row with file_id set (and nothing reserved) until it expires, so a client
-- that lost the last answer learns from HEAD that it is complete instead of starting again.
CREATE TABLE tus_uploads (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    volume       TEXT NOT NULL,
    length       INTEGER NOT NULL CHECK (length >= 0),
    upload_offset INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= length),
    folder_id    TEXT,                      -- target folder; NULL for the user's root
    filename     TEXT NOT NULL,
    on_conflict  TEXT NOT NULL CHECK (on_conflict IN ('fail', 'keep_both', 'overwrite')),
    metadata     TEXT NOT NULL,             -- the Upload-Metadata header as sent, echoed by HEAD
    file_id      TEXT,                      -- set when finished: the file it became
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX tus_uploads_user ON tus_uploads(user_id);
CREATE INDEX tus_uploads_expires ON tus_uploads(expires_at);

-- The audit log. Sign-ins (and failed ones), registrations, password and app-password
-- changes, and every admin action, from the API or the CLI. No foreign keys: an entry outlives
-- the account it names, and a failed sign-in may name no account at all. Entries older than
-- `audit_retention` are deleted by the server.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,       -- the order of events
    at           INTEGER NOT NULL,          -- ms since the epoch
    action       TEXT NOT NULL,             -- e.g. 'login', 'login-failed', 'quota-set'
    actor_id     TEXT,                      -- the account that acted; NULL when unknown or the CLI
    actor_name   TEXT NOT NULL,             -- its username (as typed, for a failed sign-in), or 'cli'
    target_id    TEXT,                      -- the account (or object) acted upon
    target_name  TEXT,
    address      TEXT,                      -- client address; NULL from the CLI
    detail       TEXT                       -- JSON object with the action's facts
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_action ON audit_log(action, id);

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

-- Version 3: resumable uploads of the web UI (tus 1.0 at /api/files/uploads). An unfinished
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

-- Version 2: the worker pool's job rows, media metadata + thumbnails, CLIP embeddings and tags.

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
);

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

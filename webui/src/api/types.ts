// Generated from the response types in src/http/dto/ and the error codes in src/error_code.rs
// (ts-rs) by `cargo test --lib types_ts`: do not edit.
// Regenerate with: CLOUDVAULT_WRITE_TYPES=1 cargo test --lib types_ts
// Request bodies and UI-only types are in local-types.ts.

/**
 * Every error code the server sends (src/error_code.rs).
 */
export type ErrorCode =
  | "invalid-json"
  | "invalid-query"
  | "invalid-multipart"
  | "no-files"
  | "invalid-name"
  | "invalid-username"
  | "weak-password"
  | "password-too-long"
  | "invalid-invite"
  | "invalid-request"
  | "too-long"
  | "invalid-move"
  | "invalid-delete"
  | "too-deep"
  | "is-a-folder"
  | "invalid-tag"
  | "invalid-size"
  | "invalid-quota"
  | "invalid-count"
  | "invalid-expiry"
  | "invalid-length"
  | "invalid-offset"
  | "invalid-metadata"
  | "exceeds-upload-length"
  | "body-cut-off"
  | "xml-dtd-refused"
  | "xml-too-deep"
  | "not-a-photo"
  | "invalid-share"
  | "invalid-album"
  | "bad-request"
  | "unauthorized"
  | "share-password-required"
  | "share-password-wrong"
  | "forbidden"
  | "share-view-only"
  | "setup-token-invalid"
  | "not-found"
  | "folder-not-found"
  | "not-in-trash"
  | "version-not-found"
  | "album-not-found"
  | "share-not-found"
  | "user-not-found"
  | "request-not-found"
  | "upload-not-found"
  | "upload-gone"
  | "thumbnail-not-ready"
  | "no-thumbnail"
  | "no-such-route"
  | "method-not-allowed"
  | "name-exists"
  | "username-taken"
  | "setup-done"
  | "cannot-disable-self"
  | "offset-mismatch"
  | "upload-busy"
  | "tus-version"
  | "quota-exceeded"
  | "body-too-large"
  | "upload-too-large"
  | "unsupported-media-type"
  | "range-not-satisfiable"
  | "rate-limited"
  | "internal"
  | "volume-offline"
  | "volume-read-only"
  | "storage-read-only"
  | "too-busy"
  | "model-loading"
  | "runtime-missing"
  | "model-not-installed"
  | "model-error"
  | "volume-full"
  | "storage-full";

/**
 * Body of every error answer: `{"code": "...", "message": "..."}`.
 */
export type ErrorBody = {
  code: ErrorCode,
  /**
   * For people: the web UI shows it as a sentence.
   */
  message: string,
};

export type User = {
  id: string,
  username: string,
  is_admin: boolean,
  disabled: boolean,
  quota_bytes: number,
  used_bytes: number,
  created_at: string,
};

/**
 * `GET /api/admin/users`.
 */
export type UserList = {
  users: Array<User>,
};

/**
 * The tokens as sent: without `refresh_token` for a cookie session.
 */
export type Tokens = {
  access_token: string,
  /**
   * Absent for a browser session: the refresh token is then an `HttpOnly` cookie.
   */
  refresh_token?: string,
  token_type: string,
  expires_in: number,
  refresh_expires_in: number,
};

/**
 * What sign-in, registration and set-up answer.
 */
export type Session = {
  user: User,
  access_token: string,
  /**
   * Absent for a browser session: the refresh token is then an `HttpOnly` cookie.
   */
  refresh_token?: string,
  token_type: string,
  expires_in: number,
  refresh_expires_in: number,
};

/**
 * `GET /api/setup`: whether the server still waits for its first admin.
 */
export type SetupStatus = {
  needed: boolean,
};

/**
 * `POST /api/auth/request-access` (202).
 */
export type AccessRequestReceived = {
  status: "received",
};

export type AppPassword = {
  id: string,
  name: string,
  created_at: string,
  last_used_at: string | null,
};

/**
 * `GET /api/auth/app-passwords`.
 */
export type AppPasswordList = {
  app_passwords: Array<AppPassword>,
};

/**
 * A new app password: the secret is in this answer only.
 */
export type NewAppPassword = {
  id: string,
  name: string,
  password: string,
  created_at: string,
  /**
   * The user name to pair it with (WebDAV clients ask for both).
   */
  username: string,
};

/**
 * `GET /api/login-flows/{token}` and its grant: the app that asks to sign in (Nextcloud's
 * Login Flow v2), by the name its app password gets.
 */
export type LoginFlow = {
  client: string,
};

/**
 * `POST /api/login-flows`: what the phone app's sign-in page hands the app (`nc://login/...`).
 */
export type DirectLogin = {
  /**
   * The address the page reached the server at.
   */
  server: string,
  login_name: string,
  /**
   * A new app password, named after the app (in this answer only).
   */
  app_password: string,
};

/**
 * What a node is, as the API names it.
 */
export type NodeKind = "folder" | "file";

/**
 * Where a file stands with its media processing.
 */
export type Processing = "pending" | "done" | "failed";

export type Media = {
  /**
   * The `media.kind` column (CHECK: image or video).
   */
  kind: "image" | "video",
  width: number | null,
  height: number | null,
  duration_ms: number | null,
  taken_at: string | null,
  camera_make: string | null,
  camera_model: string | null,
  gps_lat: number | null,
  gps_lon: number | null,
};

export type FileTag = {
  tag: string,
  /**
   * The model's (`auto`, with its score) or the user's (the `tags.source` column's CHECK).
   */
  source: "auto" | "user",
  score: number | null,
};

export type FileItem = {
  id: string,
  name: string,
  kind: NodeKind,
  parent_id: string | null,
  size: number,
  content_type: string | null,
  content_hash: string | null,
  etag: string,
  created_at: string,
  modified_at: string,
  has_thumbnail: boolean,
  media?: Media,
  /**
   * On `GET /api/files/{id}` of a file.
   */
  tags?: Array<FileTag>,
  /**
   * On `GET /api/files/{id}` of a file: null when it is not a picture or video.
   */
  processing?: Processing | null,
  /**
   * On the still of a Live Photo: the id of its clip (a short video of the same name beside it).
   */
  live_video_id?: string,
  /**
   * On the clip of a Live Photo: the id of its still.
   */
  live_photo_id?: string,
};

/**
 * One folder on the way from the root to a listed folder.
 */
export type PathEntry = {
  id: string,
  name: string,
};

/**
 * `GET /api/files`: a page of a folder.
 */
export type Listing = {
  folder: FileItem,
  /**
   * From the root down to the folder's parent.
   */
  path: Array<PathEntry>,
  items: Array<FileItem>,
  total: number,
  offset: number,
  limit: number,
};

/**
 * `POST /api/files/upload` (201): the files stored.
 */
export type UploadResult = {
  files: Array<FileItem>,
};

/**
 * What a delete answers: the item went to the trash under `trash_id` (the node's own id).
 */
export type DeleteResult = {
  trash_id: string,
  deleted_files: number,
  trashed_bytes: number,
};

/**
 * An unfinished resumable (tus) upload of the caller's.
 */
export type UnfinishedUpload = {
  id: string,
  /**
   * Where to send the rest (`PATCH`) or give the space back (`DELETE`).
   */
  url: string,
  filename: string,
  folder_id: string | null,
  length: number,
  offset: number,
  /**
   * The decoded `Upload-Metadata`.
   */
  metadata: { [key in string]: string },
  created_at: string,
  expires_at: string,
};

/**
 * `GET /api/files/uploads`.
 */
export type UnfinishedUploadList = {
  uploads: Array<UnfinishedUpload>,
};

/**
 * An earlier body of a file; the current body is the file itself and is not in the list.
 */
export type FileVersion = {
  id: string,
  size: number,
  content_hash: string | null,
  /**
   * The body's time while it was the current one.
   */
  modified_at: string,
  /**
   * When it was replaced.
   */
  created_at: string,
};

/**
 * `GET /api/files/{id}/versions`.
 */
export type FileVersionList = {
  items: Array<FileVersion>,
};

export type TrashItem = {
  id: string,
  name: string,
  kind: NodeKind,
  /**
   * Bytes of the item and everything in it (their versions too).
   */
  size: number,
  /**
   * Number of files in it (1 for a file).
   */
  files: number,
  /**
   * Where it was, e.g. `/photos/2024/beach.jpg`.
   */
  original_path: string,
  deleted_at: string,
  /**
   * When it is deleted for good unless restored first.
   */
  expires_at: string,
};

/**
 * `GET /api/trash`.
 */
export type TrashListing = {
  items: Array<TrashItem>,
  total: number,
  /**
   * Bytes of everything in the trash.
   */
  bytes: number,
};

/**
 * `DELETE /api/trash`.
 */
export type EmptyTrashResult = {
  deleted: number,
  freed_bytes: number,
};

/**
 * `PUT` and `DELETE /api/files/{id}/tags/{tag}`: the file's tags afterwards.
 */
export type FileTags = {
  tags: Array<FileTag>,
};

export type TagCount = {
  tag: string,
  count: number,
};

/**
 * `GET /api/tags`: the caller's tags with how many files carry each.
 */
export type TagList = {
  tags: Array<TagCount>,
};

/**
 * `GET /api/tags/{tag}/files`.
 */
export type TagFiles = {
  tag: string,
  items: Array<FileItem>,
  total: number,
  limit: number,
  offset: number,
};

/**
 * Why a search hit matched.
 */
export type SearchReason = { "kind": "semantic", score: number, } | { "kind": "tag", tag: string, } | { "kind": "name" } | { "kind": "place", place: string, } | { "kind": "date", date: string, };

export type SearchHit = {
  file: FileItem,
  score: number,
  reasons: Array<SearchReason>,
};

/**
 * Why search by description did not run (the same code and words as the error it would be).
 */
export type SearchModelStatus = {
  code: ErrorCode,
  message: string,
};

/**
 * One month of the timeline.
 */
export type PhotoBucket = {
  /**
   * `YYYY-MM` in the time zone asked for (`tz`).
   */
  month: string,
  count: number,
};

/**
 * `GET /api/photos/buckets`: months newest first.
 */
export type PhotoBuckets = {
  buckets: Array<PhotoBucket>,
  total: number,
};

/**
 * `GET /api/photos`: a page newest first; `next_cursor` asks for the next one (null at the end).
 */
export type PhotoPage = {
  items: Array<FileItem>,
  next_cursor: string | null,
};

/**
 * `GET /api/photos/{id}/neighbours`: the photos just newer and just older in the timeline
 * (null at either end), for a viewer that pages through it.
 */
export type PhotoNeighbours = {
  newer: FileItem | null,
  older: FileItem | null,
};

/**
 * Photos of one earlier year on today's date.
 */
export type OnThisDayYear = {
  year: number,
  items: Array<FileItem>,
};

/**
 * `GET /api/photos/on-this-day`: newest year first; empty when there is none.
 */
export type OnThisDay = {
  years: Array<OnThisDayYear>,
};

export type PlaceCity = {
  city: string,
  region: string,
  count: number,
  /**
   * The newest photo taken there.
   */
  cover_id: string,
};

export type PlaceCountry = {
  /**
   * ISO 3166-1 alpha-2 (the `cc` filter of `GET /api/photos`).
   */
  cc: string,
  country: string,
  count: number,
  cover_id: string,
  /**
   * By photo count.
   */
  cities: Array<PlaceCity>,
};

/**
 * `GET /api/places`: countries by photo count.
 */
export type Places = {
  countries: Array<PlaceCountry>,
};

export type Album = {
  id: string,
  name: string,
  /**
   * The cover chosen, else the newest item; null for an empty album.
   */
  cover_id: string | null,
  /**
   * `asc` (oldest first) or `desc`.
   */
  sort: "asc" | "desc",
  count: number,
  /**
   * When its oldest and newest items were taken.
   */
  first_at: string | null,
  last_at: string | null,
  created_at: string,
  updated_at: string,
};

/**
 * `GET /api/albums`.
 */
export type Albums = {
  albums: Array<Album>,
};

/**
 * `GET /api/albums/{id}`: the album and its items in its order.
 */
export type AlbumWithItems = {
  album: Album,
  items: Array<FileItem>,
};

/**
 * `POST` / `DELETE /api/albums/{id}/items`.
 */
export type AlbumChange = {
  album: Album,
  /**
   * How many were added (removed); ids already in (not in) do not count.
   */
  changed: number,
};

/**
 * A share link as its owner sees it.
 */
export type ShareLink = {
  id: string,
  /**
   * The path of the guest page: `/s/{token}` (prefix the server's address).
   */
  url: string,
  token: string,
  kind: "file" | "folder" | "album",
  target_id: string,
  /**
   * What it shows; null when that was deleted (the link then shows nothing).
   */
  name: string | null,
  has_password: boolean,
  allow_download: boolean,
  expires_at: string | null,
  created_at: string,
  last_used_at: string | null,
};

/**
 * `GET /api/shares`.
 */
export type ShareLinks = {
  shares: Array<ShareLink>,
};

/**
 * What a guest learns of a link before anything else (and all of it while locked).
 */
export type PublicShare = {
  kind: "file" | "folder" | "album",
  name: string,
  /**
   * The owner's username.
   */
  owner: string,
  has_password: boolean,
  /**
   * Whether this browser has given the password (or none is needed).
   */
  unlocked: boolean,
  allow_download: boolean,
  expires_at: string | null,
};

/**
 * A file or folder as a guest sees it: no ids of anything outside the share.
 */
export type PublicItem = {
  id: string,
  name: string,
  kind: NodeKind,
  size: number,
  content_type: string | null,
  modified_at: string,
  has_thumbnail: boolean,
  media?: Media,
};

/**
 * `GET /api/public/shares/{token}/items`.
 */
export type PublicShareItems = {
  /**
   * A folder share: the folder shown and the path to it from the share's top.
   */
  folder: PublicItem | null,
  path: Array<PublicItem>,
  items: Array<PublicItem>,
};

/**
 * `POST /api/public/shares/{token}/unlock`: the grant (also set as a cookie for that link).
 */
export type ShareGrant = {
  grant: string,
  expires_in: number,
};

/**
 * `GET /api/search`.
 */
export type SearchResponse = {
  query: string,
  total: number,
  /**
   * Whether the CLIP part ran; when not, `model_status` says why.
   */
  semantic: boolean,
  model_status?: SearchModelStatus,
  items: Array<SearchHit>,
  limit: number,
  offset: number,
};

export type Invite = {
  code: string,
  created_at: string,
  expires_at: string,
};

/**
 * `POST` (201) and `GET /api/admin/invite-codes`.
 */
export type InviteList = {
  codes: Array<Invite>,
};

/**
 * `POST /api/admin/access-requests/{id}/invite` (201): the invite, and the request it answered
 * (which is gone now).
 */
export type RequestInvite = {
  request_id: string,
  code: string,
  created_at: string,
  expires_at: string,
};

export type AccessRequest = {
  id: string,
  name: string,
  contact: string,
  message: string,
  created_at: string,
};

/**
 * `GET /api/admin/access-requests`.
 */
export type AccessRequestList = {
  requests: Array<AccessRequest>,
};

export type Volume = {
  name: string,
  path: string,
  enabled: boolean,
  online: boolean,
  free_bytes: number | null,
  /**
   * Size of the filesystem (when online).
   */
  total_bytes: number | null,
  /**
   * The configured low-space threshold, and whether free space is below it.
   */
  low_space_bytes: number,
  low_space: boolean,
  /**
   * Mounted read-only (a failing disk is often remounted so): files read, nothing is written.
   */
  read_only: boolean,
  problem: string | null,
};

/**
 * `GET /api/admin/volumes`.
 */
export type VolumeList = {
  volumes: Array<Volume>,
};

/**
 * How many jobs of a kind are in a state.
 */
export type JobCount = {
  /**
   * `media` or `clip` (the `jobs.kind` column's CHECK).
   */
  kind: "media" | "clip",
  state: string,
  count: number,
};

/**
 * A job that gave up, with its reason.
 */
export type JobFailure = {
  id: number,
  kind: "media" | "clip",
  file_id: string,
  file_name: string,
  username: string,
  attempts: number,
  last_error: string | null,
  updated_at: string,
};

/**
 * Where the CLIP model stands, for the admin.
 */
export type ModelStatusKind = "loading" | "ready" | "runtime-missing" | "not-installed" | "error";

/**
 * The CLIP model: its state, what is wrong (words for the admin), its folder's name and, when
 * loaded, its id.
 */
export type ModelStatus = {
  status: ModelStatusKind,
  message: string,
  name: string,
  id: string | null,
};

/**
 * `GET /api/admin/jobs`: counts by kind and state, the latest failures, the worker threads and
 * the CLIP model.
 */
export type JobsStatus = {
  counts: Array<JobCount>,
  failures: Array<JobFailure>,
  workers: number,
  model: ModelStatus,
};

/**
 * `GET /api/admin/stats`: what the server measured about itself.
 */
export type ServerStats = {
  /**
   * The largest request body so far, in bytes (Cloudflare refuses bodies over 100 MB).
   */
  largest_request_body: number,
};

/**
 * Who did something.
 */
export type AuditActor = {
  /**
   * Null when no account matched (a failed sign-in with an unknown name).
   */
  id: string | null,
  username: string,
};

/**
 * What an action was done to: a user (`username` given) or another object (only its id).
 */
export type AuditTarget = {
  id: string | null,
  username?: string,
};

export type AuditEntry = {
  id: number,
  at: string,
  action: string,
  actor: AuditActor,
  target: AuditTarget | null,
  address: string | null,
  /**
   * The action's details (a JSON object), if any.
   */
  detail: Record<string, unknown> | null,
};

/**
 * `GET /api/admin/audit`: newest first; `next_before` asks for the next page (null at the end).
 */
export type AuditPage = {
  entries: Array<AuditEntry>,
  next_before: number | null,
};

// The shapes the server sends (src/http/dto.rs, src/http/*.rs, API-ISSUE4 for media/tags/search/jobs).

export interface User {
  id: string
  username: string
  is_admin: boolean
  disabled: boolean
  quota_bytes: number
  used_bytes: number
  created_at: string
}

export interface Tokens {
  access_token: string
  token_type: string
  expires_in: number
  refresh_expires_in: number
}

export interface Session extends Tokens {
  user: User
}

export interface Media {
  kind: 'image' | 'video'
  width?: number | null
  height?: number | null
  duration_ms?: number | null
  taken_at?: string | null
  camera_make?: string | null
  camera_model?: string | null
  gps_lat?: number | null
  gps_lon?: number | null
}

export interface FileTag {
  tag: string
  source: 'auto' | 'user'
  score: number | null
}

export interface FileItem {
  id: string
  name: string
  kind: 'folder' | 'file'
  parent_id: string | null
  size: number
  content_type: string | null
  content_hash: string | null
  etag: string
  created_at: string
  modified_at: string
  has_thumbnail?: boolean
  media?: Media | null
  tags?: FileTag[]
  processing?: 'pending' | 'done' | 'failed' | null
}

export interface Listing {
  folder: FileItem
  path: { id: string; name: string }[]
  items: FileItem[]
  total: number
  offset: number
  limit: number
}

export type SortBy = 'name' | 'date' | 'size'

export interface UnfinishedUpload {
  id: string
  url: string
  filename: string
  folder_id: string | null
  length: number
  offset: number
  metadata: Record<string, string>
  created_at: string
  expires_at: string
}

export interface AppPassword {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
}

export interface NewAppPassword {
  id: string
  name: string
  password: string
  username: string
  created_at: string
}

export interface Invite {
  code: string
  created_at: string
  expires_at: string
}

export interface AccessRequest {
  id: string
  name: string
  contact: string
  message: string
  created_at: string
}

export interface TagCount {
  tag: string
  count: number
}

export interface SearchReason {
  kind: 'semantic' | 'tag' | 'name'
  score?: number
  tag?: string
}

export interface SearchResponse {
  query: string
  total: number
  semantic: boolean
  model_status?: { code: string; message: string }
  items: { file: FileItem; score: number; reasons: SearchReason[] }[]
}

export interface JobsStatus {
  counts: { kind: string; state: string; count: number }[]
  failures: {
    id: number
    kind: string
    file_id: string
    file_name: string
    username: string
    attempts: number
    last_error: string
    updated_at: string
  }[]
  model: { status: string; message: string; name?: string }
  workers: number
}

export interface Volume {
  name: string
  path: string
  enabled: boolean
  online: boolean
  free_bytes: number | null
  total_bytes: number | null
  /** The configured low-space threshold, and whether free space is below it. */
  low_space_bytes: number
  low_space: boolean
  read_only: boolean
  problem: string | null
}

/** What a delete answers: the item went to the trash under `trash_id` (the node's own id). */
export interface DeleteResult {
  trash_id: string
  deleted_files: number
  trashed_bytes: number
}

export interface TrashItem {
  id: string
  name: string
  kind: 'file' | 'folder'
  /** Bytes of the item and everything in it (their versions too). */
  size: number
  /** Number of files in it (1 for a file). */
  files: number
  /** Where it was, e.g. `/photos/2024/beach.jpg`. */
  original_path: string
  /** RFC 3339 (or milliseconds since the epoch). */
  deleted_at: string | number
  /** When it is deleted for good unless restored first. */
  expires_at?: string | number
}

export interface TrashListing {
  items: TrashItem[]
  total: number
  bytes: number
}

export type OnConflict = 'fail' | 'keep_both' | 'overwrite'

export interface RestoreOptions {
  on_conflict?: OnConflict
  parent_id?: string
}

/** An earlier body of a file; the current body is the file itself and is not in the list. */
export interface FileVersion {
  id: string
  size: number
  /** When that body was written (RFC 3339, or milliseconds since the epoch). */
  modified_at: number | string
  /** When it stopped being the current body. */
  created_at: number | string
  content_hash: string | null
}

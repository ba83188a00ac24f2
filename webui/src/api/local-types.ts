// What the web UI sends (request bodies and query values) and types only the UI uses. What the
// server sends is in types.ts, generated from the server's code.

export type SortBy = 'name' | 'date' | 'size'

export type OnConflict = 'fail' | 'keep_both' | 'overwrite'

export interface RestoreOptions {
  on_conflict?: OnConflict
  parent_id?: string
}

/** Which photos a timeline page or the viewer's neighbours cover (`GET /api/photos`). */
export interface PhotoFilter {
  month?: string
  cc?: string
  city?: string
  type?: 'photo' | 'video'
}

/** The filters of `GET /api/search` (days are `YYYY-MM-DD`, both included). */
export interface SearchFilters {
  type?: 'photo' | 'video'
  from?: string
  to?: string
  place?: string
  album?: string
}

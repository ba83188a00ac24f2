// What the web UI sends (request bodies and query values) and types only the UI uses. What the
// server sends is in types.ts, generated from the server's code.

export type SortBy = 'name' | 'date' | 'size'

export type OnConflict = 'fail' | 'keep_both' | 'overwrite'

export interface RestoreOptions {
  on_conflict?: OnConflict
  parent_id?: string
}

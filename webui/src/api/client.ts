// The typed API client: every call goes through request(), which adds the access token, renews
// it once on a 401 and turns error answers into ApiError with the server's words.
import { ROUTES, pathOf, type RouteName } from './routes'
import type * as L from './local-types'
import type * as T from './types'
import type { ErrorCode } from './types'

export class ApiError extends Error {
  constructor(
    public status: number,
    /** The server's code, or `http-STATUS` for an answer without one (a proxy's). */
    public code: ErrorCode | `http-${number}`,
    message: string,
    /** Seconds to wait before trying again (`Retry-After` of a 429 or 503), when the server said. */
    public retryAfter: number | null = null,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** A server message as a sentence: the server writes "no such file", the UI "No such file". */
export function sentence(text: string): string {
  const t = text.trim()
  return t ? t[0].toLocaleUpperCase() + t.slice(1) : t
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date); null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (!header) return null
  const v = header.trim()
  if (/^\d+$/.test(v)) return Number(v)
  const at = Date.parse(v)
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000))
}

/** "42 s", "3 min", "1 h 5 min": how long to wait. */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds))
  if (s < 90) return `${s} s`
  const m = Math.ceil(s / 60)
  if (m < 60) return `${m} min`
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`
}

/** What the user should read for any failure. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return e.retryAfter != null ? `Too many attempts: try again in ${formatWait(e.retryAfter)}.` : 'Too many attempts: wait a moment and try again.'
    return sentence(e.message)
  }
  if (e instanceof TypeError) return 'The server cannot be reached. Check your connection and try again.'
  if (e instanceof Error) return sentence(e.message)
  return sentence(String(e))
}

/** Turns a non-2xx answer into an ApiError with the server's message when it sent one. */
export async function toApiError(res: Response): Promise<ApiError> {
  let code: ApiError['code'] = `http-${res.status}`
  let message = `The server answered ${res.status} ${res.statusText}`.trim()
  try {
    const body = await res.json()
    if (body && typeof body.message === 'string') {
      code = body.code ?? code
      message = body.message
    }
  } catch {
    if (res.status === 502 || res.status === 503 || res.status === 504) message = 'The server is not reachable right now. Try again in a moment.'
  }
  return new ApiError(res.status, code, message, parseRetryAfter(res.headers.get('Retry-After')))
}

/** The file name of a `Content-Disposition` header (RFC 6266: `filename*` wins over `filename`). */
export function filenameOf(header: string | null): string | null {
  if (!header) return null
  const star = header.match(/filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/)
  if (star) {
    try {
      return decodeURIComponent(star[1].trim())
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = header.match(/filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/)
  if (!plain) return null
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2]
}

export interface TokenSource {
  /** A current access token (renewing it first if it is about to expire), or null. */
  token(): Promise<string | null>
  /** Called after a 401: renew now. Returns the new token or null (signed out). */
  renew(): Promise<string | null>
}

export interface RequestOptions {
  params?: Record<string, string>
  query?: Record<string, string | number | undefined | null>
  json?: unknown
  signal?: AbortSignal
  /** No Authorization header (login, register, request access). */
  anonymous?: boolean
  headers?: Record<string, string>
}

export class ApiClient {
  constructor(
    private tokens: TokenSource,
    private fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  async request<R>(name: RouteName, opts: RequestOptions = {}): Promise<R> {
    const res = await this.send(name, opts)
    if (res.status === 204) return undefined as R
    const text = await res.text()
    return (text ? JSON.parse(text) : undefined) as R
  }

  /** A body that is not JSON (a file), with the name the server gives it. */
  async blob(name: RouteName, opts: RequestOptions = {}): Promise<{ blob: Blob; filename: string | null }> {
    const res = await this.send(name, { ...opts, headers: { Accept: '*/*', ...opts.headers } })
    return { blob: await res.blob(), filename: filenameOf(res.headers.get('Content-Disposition')) }
  }

  private async send(name: RouteName, opts: RequestOptions): Promise<Response> {
    const route = ROUTES[name]
    let url = pathOf(name, opts.params)
    const q = Object.entries(opts.query ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '')
    if (q.length) url += '?' + new URLSearchParams(q.map(([k, v]) => [k, String(v)])).toString()
    const send = async (token: string | null) => {
      const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
      if (token) headers.Authorization = `Bearer ${token}`
      if (opts.json !== undefined) headers['Content-Type'] = 'application/json'
      return this.fetchImpl(url, {
        method: route.method,
        headers,
        body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
        signal: opts.signal,
        credentials: 'same-origin',
      })
    }
    let res = await send(opts.anonymous ? null : await this.tokens.token())
    if (res.status === 401 && !opts.anonymous) {
      const fresh = await this.tokens.renew()
      if (fresh) res = await send(fresh)
    }
    if (!res.ok) throw await toApiError(res)
    return res
  }

  // Auth
  login(username: string, password: string) {
    return this.request<T.Session>('login', { json: { username, password, cookie: true }, anonymous: true })
  }
  register(invite_code: string, username: string, password: string) {
    return this.request<T.Session>('register', { json: { invite_code, username, password, cookie: true }, anonymous: true })
  }
  requestAccess(name: string, contact: string, message: string) {
    return this.request<T.AccessRequestReceived>('requestAccess', { json: { name, contact, message }, anonymous: true })
  }
  /** First run: whether the server still needs its first administrator (no auth). */
  setupStatus() {
    return this.request<T.SetupStatus>('setupStatus', { anonymous: true })
  }
  /** Creates the first administrator with the one-time token the server printed. */
  setup(token: string, username: string, password: string) {
    return this.request<T.Session>('setup', { json: { token, username, password, cookie: true }, anonymous: true })
  }
  me() {
    return this.request<T.User>('me')
  }
  changePassword(current_password: string, new_password: string) {
    return this.request<T.Tokens>('changePassword', { json: { current_password, new_password } })
  }
  appPasswords() {
    return this.request<T.AppPasswordList>('listAppPasswords')
  }
  createAppPassword(name: string) {
    return this.request<T.NewAppPassword>('createAppPassword', { json: { name } })
  }
  deleteAppPassword(id: string) {
    return this.request<void>('deleteAppPassword', { params: { id } })
  }
  /** A phone app's sign-in (Login Flow v1): a new app password for it, handed over by the page. */
  directLogin(client: string) {
    return this.request<T.DirectLogin>('directLogin', { json: { client } })
  }
  /** A Nextcloud app asking to sign in (Login Flow v2): which one, let it in, or not. */
  loginFlow(token: string) {
    return this.request<T.LoginFlow>('loginFlow', { params: { token } })
  }
  grantLoginFlow(token: string) {
    return this.request<T.LoginFlow>('grantLoginFlow', { params: { token } })
  }
  denyLoginFlow(token: string) {
    return this.request<void>('denyLoginFlow', { params: { token } })
  }

  // Photos (tz: minutes east of UTC, so months and days are the user's)
  photoBuckets(tz: number) {
    return this.request<T.PhotoBuckets>('photoBuckets', { query: { tz } })
  }
  /** A page of the timeline (of a month, or of a place with `cc`/`city`), newest first. */
  photos(filter: L.PhotoFilter, tz: number, cursor: string | null, limit: number, signal?: AbortSignal) {
    return this.request<T.PhotoPage>('photos', { query: { ...filter, tz, limit, cursor }, signal })
  }
  onThisDay(tz: number) {
    return this.request<T.OnThisDay>('onThisDay', { query: { tz } })
  }
  photoNeighbours(id: string, filter: L.PhotoFilter = {}) {
    return this.request<T.PhotoNeighbours>('photoNeighbours', { params: { id }, query: { ...filter } })
  }
  places() {
    return this.request<T.Places>('places')
  }

  // Albums
  albums() {
    return this.request<T.Albums>('albums')
  }
  album(id: string) {
    return this.request<T.AlbumWithItems>('album', { params: { id } })
  }
  createAlbum(name: string, ids: string[] = []) {
    return this.request<T.Album>('createAlbum', { json: { name, ids } })
  }
  editAlbum(id: string, edit: { name?: string; cover_id?: string | null; sort?: 'asc' | 'desc' }) {
    return this.request<T.Album>('editAlbum', { params: { id }, json: edit })
  }
  deleteAlbum(id: string) {
    return this.request<void>('deleteAlbum', { params: { id } })
  }
  addToAlbum(id: string, ids: string[]) {
    return this.request<T.AlbumChange>('addAlbumItems', { params: { id }, json: { ids } })
  }
  removeFromAlbum(id: string, ids: string[]) {
    return this.request<T.AlbumChange>('removeAlbumItems', { params: { id }, json: { ids } })
  }

  // Share links (the owner's side; the guest page calls the public routes itself)
  shares() {
    return this.request<T.ShareLinks>('shares')
  }
  createShare(body: { kind: 'file' | 'folder' | 'album'; target_id: string; password?: string; expires_at?: string | null; allow_download: boolean }) {
    return this.request<T.ShareLink>('createShare', { json: body })
  }
  revokeShare(id: string) {
    return this.request<void>('revokeShare', { params: { id } })
  }

  // Files
  listFiles(folder: string | null, sort: L.SortBy, order: 'asc' | 'desc', limit: number, offset: number, signal?: AbortSignal) {
    return this.request<T.Listing>('listFiles', { query: { folder, sort, order, limit, offset }, signal })
  }
  getFile(id: string) {
    return this.request<T.FileItem>('getFile', { params: { id } })
  }
  rename(id: string, name: string) {
    return this.request<T.FileItem>('updateFile', { params: { id }, json: { name } })
  }
  move(id: string, parent_id: string) {
    return this.request<T.FileItem>('updateFile', { params: { id }, json: { parent_id } })
  }
  /** Moves the file or folder to the trash. */
  remove(id: string) {
    return this.request<T.DeleteResult>('deleteFile', { params: { id } })
  }
  createFolder(parent_id: string | null, name: string) {
    return this.request<T.FileItem>('createFolder', { json: { parent_id, name } })
  }
  unfinishedUploads() {
    return this.request<T.UnfinishedUploadList>('listUploads')
  }
  /** tus termination: gives the space of an unfinished upload back. */
  discardUpload(id: string) {
    return this.request<void>('terminateUpload', { params: { id }, headers: { 'Tus-Resumable': '1.0.0' } })
  }
  addTag(id: string, tag: string) {
    return this.request<T.FileTags>('addTag', { params: { id, tag } })
  }
  removeTag(id: string, tag: string) {
    return this.request<T.FileTags>('removeTag', { params: { id, tag } })
  }

  // Versions (earlier bodies of a file)
  versions(id: string) {
    return this.request<T.FileVersionList>('versions', { params: { id } })
  }
  /** The current body becomes a version; answers the file. */
  restoreVersion(id: string, vid: string) {
    return this.request<T.FileItem>('restoreVersion', { params: { id, vid } })
  }
  deleteVersion(id: string, vid: string) {
    return this.request<void>('deleteVersion', { params: { id, vid } })
  }
  /** An earlier body as a Blob, fetched with the token (the page itself links to it: `versionContentUrl`). */
  versionContent(id: string, vid: string) {
    return this.blob('versionContent', { params: { id, vid } })
  }

  // Trash
  trash(limit = 100, offset = 0) {
    return this.request<T.TrashListing>('trash', { query: { limit, offset } })
  }
  /** Back to its old place (or the root when that folder is gone), or into `parent_id`. */
  restoreFromTrash(id: string, opts: L.RestoreOptions = {}) {
    return this.request<T.FileItem>('restoreTrash', { params: { id }, json: opts })
  }
  deleteFromTrash(id: string) {
    return this.request<void>('deleteTrash', { params: { id } })
  }
  emptyTrash() {
    return this.request<T.EmptyTrashResult>('emptyTrash')
  }

  // Tags and search
  tags() {
    return this.request<T.TagList>('tags')
  }
  tagFiles(tag: string, limit = 200, offset = 0) {
    return this.request<T.TagFiles>('tagFiles', { params: { tag }, query: { limit, offset } })
  }
  search(q: string, filters: L.SearchFilters = {}, limit = 60, offset = 0, signal?: AbortSignal) {
    return this.request<T.SearchResponse>('search', { query: { q, ...filters, tz: -new Date().getTimezoneOffset(), limit, offset }, signal })
  }

  // Admin
  adminUsers() {
    return this.request<T.UserList>('adminUsers')
  }
  setQuota(id: string, quota: string) {
    return this.request<T.User>('adminSetQuota', { params: { id }, json: { quota } })
  }
  setDisabled(id: string, disabled: boolean) {
    return this.request<T.User>('adminSetDisabled', { params: { id }, json: { disabled } })
  }
  createInvites(count: number, expires_in: string) {
    return this.request<T.InviteList>('adminCreateInvites', { json: { count, expires_in } })
  }
  invites() {
    return this.request<T.InviteList>('adminInvites')
  }
  accessRequests() {
    return this.request<T.AccessRequestList>('adminRequests')
  }
  /** Answers an access request with a new invite code (the request is removed with it). */
  inviteForRequest(id: string, expires_in?: string) {
    return this.request<T.RequestInvite>('adminInviteRequest', { params: { id }, json: expires_in ? { expires_in } : {} })
  }
  deleteAccessRequest(id: string) {
    return this.request<void>('adminDeleteRequest', { params: { id } })
  }
  volumes() {
    return this.request<T.VolumeList>('adminVolumes')
  }
  stats() {
    return this.request<T.ServerStats>('adminStats')
  }
  jobs() {
    return this.request<T.JobsStatus>('adminJobs')
  }
}

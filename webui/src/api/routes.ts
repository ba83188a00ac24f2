// Every server route the web UI calls. routes.test.ts checks this table against the Rust router
// (src/http/mod.rs and src/http/tus.rs), so a renamed or removed route fails the unit tests.

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD'
  path: string
}

export const ROUTES = {
  register: { method: 'POST', path: '/api/auth/register' },
  login: { method: 'POST', path: '/api/auth/login' },
  refresh: { method: 'POST', path: '/api/auth/refresh' },
  logout: { method: 'POST', path: '/api/auth/logout' },
  me: { method: 'GET', path: '/api/auth/me' },
  changePassword: { method: 'POST', path: '/api/auth/password' },
  requestAccess: { method: 'POST', path: '/api/auth/request-access' },
  setupStatus: { method: 'GET', path: '/api/setup' },
  setup: { method: 'POST', path: '/api/setup' },
  listAppPasswords: { method: 'GET', path: '/api/auth/app-passwords' },
  createAppPassword: { method: 'POST', path: '/api/auth/app-passwords' },
  deleteAppPassword: { method: 'DELETE', path: '/api/auth/app-passwords/{id}' },
  directLogin: { method: 'POST', path: '/api/login-flows' },
  loginFlow: { method: 'GET', path: '/api/login-flows/{token}' },
  grantLoginFlow: { method: 'POST', path: '/api/login-flows/{token}/grant' },
  denyLoginFlow: { method: 'POST', path: '/api/login-flows/{token}/deny' },

  listFiles: { method: 'GET', path: '/api/files/' },
  getFile: { method: 'GET', path: '/api/files/{id}' },
  updateFile: { method: 'PATCH', path: '/api/files/{id}' },
  deleteFile: { method: 'DELETE', path: '/api/files/{id}' },
  createFolder: { method: 'POST', path: '/api/files/folders' },
  download: { method: 'GET', path: '/api/files/{id}/download' },
  thumbnail: { method: 'GET', path: '/api/files/{id}/thumbnail' },
  uploads: { method: 'POST', path: '/api/files/uploads' },
  listUploads: { method: 'GET', path: '/api/files/uploads' },
  terminateUpload: { method: 'DELETE', path: '/api/files/uploads/{id}' },
  addTag: { method: 'PUT', path: '/api/files/{id}/tags/{tag}' },
  removeTag: { method: 'DELETE', path: '/api/files/{id}/tags/{tag}' },
  versions: { method: 'GET', path: '/api/files/{id}/versions' },
  versionContent: { method: 'GET', path: '/api/files/{id}/versions/{vid}/content' },
  restoreVersion: { method: 'POST', path: '/api/files/{id}/versions/{vid}/restore' },
  deleteVersion: { method: 'DELETE', path: '/api/files/{id}/versions/{vid}' },

  trash: { method: 'GET', path: '/api/trash' },
  emptyTrash: { method: 'DELETE', path: '/api/trash' },
  restoreTrash: { method: 'POST', path: '/api/trash/{id}/restore' },
  deleteTrash: { method: 'DELETE', path: '/api/trash/{id}' },

  tags: { method: 'GET', path: '/api/tags/' },
  tagFiles: { method: 'GET', path: '/api/tags/{tag}/files' },
  search: { method: 'GET', path: '/api/search' },

  photoBuckets: { method: 'GET', path: '/api/photos/buckets' },
  photos: { method: 'GET', path: '/api/photos' },
  onThisDay: { method: 'GET', path: '/api/photos/on-this-day' },
  photoNeighbours: { method: 'GET', path: '/api/photos/{id}/neighbours' },
  places: { method: 'GET', path: '/api/places' },
  albums: { method: 'GET', path: '/api/albums' },
  createAlbum: { method: 'POST', path: '/api/albums' },
  album: { method: 'GET', path: '/api/albums/{id}' },
  editAlbum: { method: 'PATCH', path: '/api/albums/{id}' },
  deleteAlbum: { method: 'DELETE', path: '/api/albums/{id}' },
  addAlbumItems: { method: 'POST', path: '/api/albums/{id}/items' },
  removeAlbumItems: { method: 'DELETE', path: '/api/albums/{id}/items' },

  shares: { method: 'GET', path: '/api/shares' },
  createShare: { method: 'POST', path: '/api/shares' },
  revokeShare: { method: 'DELETE', path: '/api/shares/{id}' },
  publicShare: { method: 'GET', path: '/api/public/shares/{token}' },
  unlockShare: { method: 'POST', path: '/api/public/shares/{token}/unlock' },
  publicItems: { method: 'GET', path: '/api/public/shares/{token}/items' },
  publicThumbnail: { method: 'GET', path: '/api/public/shares/{token}/files/{id}/thumbnail' },
  publicDownload: { method: 'GET', path: '/api/public/shares/{token}/files/{id}/download' },
  publicZip: { method: 'GET', path: '/api/public/shares/{token}/zip' },

  adminUsers: { method: 'GET', path: '/api/admin/users' },
  adminSetQuota: { method: 'PUT', path: '/api/admin/users/{id}/quota' },
  adminSetDisabled: { method: 'PUT', path: '/api/admin/users/{id}/disabled' },
  adminCreateInvites: { method: 'POST', path: '/api/admin/invite-codes' },
  adminInvites: { method: 'GET', path: '/api/admin/invite-codes' },
  adminRequests: { method: 'GET', path: '/api/admin/access-requests' },
  adminDeleteRequest: { method: 'DELETE', path: '/api/admin/access-requests/{id}' },
  adminInviteRequest: { method: 'POST', path: '/api/admin/access-requests/{id}/invite' },
  adminVolumes: { method: 'GET', path: '/api/admin/volumes' },
  adminStats: { method: 'GET', path: '/api/admin/stats' },
  adminJobs: { method: 'GET', path: '/api/admin/jobs' },
} as const satisfies Record<string, Route>

export type RouteName = keyof typeof ROUTES

/** Fills `{name}` placeholders (percent-encoded) in a route's path. */
export function pathOf(name: RouteName, params: Record<string, string> = {}): string {
  return ROUTES[name].path.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in params)) throw new Error(`route ${name} needs ${k}`)
    return encodeURIComponent(params[k])
  })
}

/** `version` (the file's etag) changes the URL when the file is overwritten: thumbnails are cached. */
export function thumbnailUrl(id: string, size: 'small' | 'large' = 'small', retry = 0, version = ''): string {
  return `${pathOf('thumbnail', { id })}?size=${size}${version ? `&v=${encodeURIComponent(version)}` : ''}${retry ? `&r=${retry}` : ''}`
}

/** An earlier body of a file (a download: the server answers `Content-Disposition: attachment`). */
export function versionContentUrl(id: string, vid: string): string {
  return pathOf('versionContent', { id, vid })
}

export function downloadUrl(id: string, inline = false): string {
  return `${pathOf('download', { id })}${inline ? '?inline=true' : ''}`
}

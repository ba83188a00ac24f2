// How to connect the WebDAV drive from each system, for the account page.

export interface MountGuide {
  os: string
  steps: string[]
  command?: string
}

export function davUrl(origin: string, username: string): string {
  return `${origin.replace(/\/$/, '')}/dav/files/${encodeURIComponent(username)}/`
}

export function mountGuides(origin: string, username: string): MountGuide[] {
  const url = davUrl(origin, username)
  const host = origin.replace(/^https?:\/\//, '').replace(/\/$/, '')
  const secure = origin.startsWith('https://')
  return [
    {
      os: 'Windows',
      steps: [
        'Open File Explorer, right-click “This PC” and choose “Map network drive…”.',
        `Folder: ${url}`,
        `Sign in with ${username} and an app password.`,
        ...(secure ? [] : ['Windows only connects to WebDAV over HTTPS unless BasicAuthLevel is changed in the registry.']),
      ],
      command: `net use Z: "${url}" /user:${username} *`,
    },
    {
      os: 'macOS',
      steps: ['In Finder choose Go → Connect to Server… (⌘K).', `Server address: ${url}`, `Connect as ${username} with an app password.`],
    },
    {
      os: 'Linux (GNOME/KDE)',
      steps: ['In Files (Nautilus) choose “Other Locations”, or in Dolphin type into the address bar:', `${secure ? 'davs' : 'dav'}://${host}/dav/files/${encodeURIComponent(username)}/`, `User ${username}, password: an app password.`],
      command: `sudo mount -t davfs ${url} /mnt/cloudvault -o uid=$(id -u)`,
    },
    {
      os: 'rclone',
      steps: ['Large files go up in chunks under 100 MB (Nextcloud chunking), so they pass through Cloudflare.'],
      command: `rclone config create cloudvault webdav url=${origin.replace(/\/$/, '')}/dav/files/${encodeURIComponent(username)}/ vendor=nextcloud user=${username} pass=$(rclone obscure APP_PASSWORD)`,
    },
  ]
}

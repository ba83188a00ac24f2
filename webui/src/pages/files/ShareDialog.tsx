// Makes a share link for a file, a folder or an album: optional password, expiry, view only or
// with downloads; then shows the link to copy. Links are listed (and revoked) on the Account page.
import { useState, type FormEvent } from 'react'
import type { ShareLink } from '../../api/types'
import { CopyButton, Dialog, ErrorText } from '../../components/ui'
import { Link } from '../../lib/router'
import { api } from '../../store/app'

const EXPIRY = [
  ['never', 'Never', 0],
  ['1d', '1 day', 1],
  ['7d', '7 days', 7],
  ['30d', '30 days', 30],
] as const

export function shareUrl(s: ShareLink): string {
  return `${window.location.origin}${s.url}`
}

export function ShareDialog({ kind, targetId, name, onClose }: { kind: 'file' | 'folder' | 'album'; targetId: string; name: string; onClose: () => void }) {
  const [password, setPassword] = useState('')
  const [expiry, setExpiry] = useState<string>('never')
  const [allowDownload, setAllowDownload] = useState(true)
  const [made, setMade] = useState<ShareLink | null>(null)
  const [error, setError] = useState<unknown>(null)

  async function submit(e: FormEvent) {
    e.preventDefault()
    const days = EXPIRY.find((x) => x[0] === expiry)?.[2] ?? 0
    try {
      setMade(
        await api.createShare({
          kind,
          target_id: targetId,
          password: password || undefined,
          expires_at: days ? new Date(Date.now() + days * 86_400_000).toISOString() : null,
          allow_download: allowDownload,
        }),
      )
      setError(null)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <Dialog title={`Share “${name}”`} onClose={onClose}>
      {made ? (
        <div className="space-y-3" role="status">
          <p className="text-sm text-slate-700">Anyone with this link{made.has_password ? ' and the password' : ''} can see {kind === 'folder' ? 'this folder and everything in it' : kind === 'album' ? 'this album' : 'this file'}{made.allow_download ? ' and download it' : ' (view only)'}.</p>
          <p className="flex items-center gap-2">
            <code className="min-w-0 flex-1 truncate rounded bg-slate-100 px-2 py-1 text-sm" data-testid="share-url">{shareUrl(made)}</code>
            <CopyButton text={shareUrl(made)} label="Copy link" />
          </p>
          <p className="text-sm text-slate-600">
            Revoke it any time on your{' '}
            <Link href="/account" className="link">
              Account
            </Link>{' '}
            page.
          </p>
          <div className="flex justify-end">
            <button type="button" className="btn btn-primary" onClick={onClose}>Done</button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} className="space-y-3">
          <label className="block text-sm">
            <span className="font-medium">Password (optional)</span>
            <input type="password" className="input mt-1" value={password} minLength={4} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
          </label>
          <label className="block text-sm">
            <span className="font-medium">Expires</span>
            <select className="input mt-1" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY.map(([v, label]) => (
                <option key={v} value={v}>{label}</option>
              ))}
            </select>
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={allowDownload} onChange={(e) => setAllowDownload(e.target.checked)} />
            Allow downloads (off: view only)
          </label>
          <ErrorText error={error} />
          <div className="flex justify-end gap-2">
            <button type="button" className="btn" onClick={onClose}>Cancel</button>
            <button type="submit" className="btn btn-primary">Create link</button>
          </div>
        </form>
      )}
    </Dialog>
  )
}

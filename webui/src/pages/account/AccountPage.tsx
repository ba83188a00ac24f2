// Account: the quota bar, changing the password, and app passwords for WebDAV clients with
// mount instructions for each system, and the share links made for people without an account.
import { useEffect, useState, type FormEvent } from 'react'
import { errorText } from '../../api/client'
import type { AppPassword, NewAppPassword, ShareLink } from '../../api/types'
import { PasswordRules } from '../../components/PasswordRules'
import { CopyButton, ErrorText, PageTitle, QuotaBar } from '../../components/ui'
import { formatDate } from '../../lib/format'
import { newPasswordReady, repeatProblem } from '../../lib/password'
import { Link } from '../../lib/router'
import { useStore } from '../../lib/store'
import { api, session, toast } from '../../store/app'
import { davUrl, mountGuides } from './mountInstructions'
import { shareUrl } from '../files/ShareDialog'

function ChangePassword({ username }: { username: string }) {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [repeat, setRepeat] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  async function submit(e: FormEvent) {
    e.preventDefault()
    if (!newPasswordReady(next, repeat, username)) return
    setBusy(true)
    setError(null)
    try {
      session.accept(await api.changePassword(current, next))
      setCurrent('')
      setNext('')
      setRepeat('')
      toast('Password changed. Other devices were signed out.')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="pw-title">
      <h2 id="pw-title" className="font-semibold">Change password</h2>
      <div>
        <label className="label" htmlFor="current-password">Current password</label>
        <input id="current-password" type="password" className="input" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
      </div>
      <div>
        <label className="label" htmlFor="new-password">New password</label>
        <input id="new-password" type="password" className="input" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} />
        <PasswordRules password={next} username={username} />
      </div>
      <div>
        <label className="label" htmlFor="repeat-password">Repeat the new password</label>
        <input id="repeat-password" type="password" className="input" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} aria-invalid={!!repeatProblem(next, repeat)} />
        {repeatProblem(next, repeat) && (
          <p className="mt-1 text-xs text-red-700" data-testid="repeat-problem">
            {repeatProblem(next, repeat)}
          </p>
        )}
      </div>
      <ErrorText error={error} />
      <button type="submit" className="btn btn-primary" disabled={busy || !current || !newPasswordReady(next, repeat, username)}>
        Change password
      </button>
    </form>
  )
}

function AppPasswords({ username }: { username: string }) {
  const [list, setList] = useState<AppPassword[] | null>(null)
  const [name, setName] = useState('')
  const [created, setCreated] = useState<NewAppPassword | null>(null)
  const [error, setError] = useState<unknown>(null)
  const load = () =>
    api
      .appPasswords()
      .then((r) => setList(r.app_passwords))
      .catch(setError)
  useEffect(() => void load(), [])
  const origin = window.location.origin
  return (
    <section className="card space-y-3" aria-labelledby="ap-title">
      <h2 id="ap-title" className="font-semibold">WebDAV drive and app passwords</h2>
      <p className="text-sm text-slate-600">
        Your files are also a network drive at <code className="rounded bg-slate-100 px-1">{davUrl(origin, username)}</code> <CopyButton text={davUrl(origin, username)} label="Copy address" />
      </p>
      <p className="text-sm text-slate-600">Give each device its own app password: you can revoke it without changing your password.</p>
      <p className="text-sm text-slate-600" data-testid="exact-names-help">
        Names are exact, as on Linux: “Photo.JPG” and “photo.jpg” can be two different files. Windows and macOS ignore letter case, so in a mounted or synced folder they show only one of two such
        files; rename one to see both. What a device deletes goes to the Trash, and what it overwrites is kept as an earlier version.
      </p>
      <form
        className="flex gap-2"
        onSubmit={async (e) => {
          e.preventDefault()
          try {
            setCreated(await api.createAppPassword(name))
            setName('')
            setError(null)
            void load()
          } catch (err) {
            setError(err)
          }
        }}
      >
        <label htmlFor="ap-name" className="sr-only">Name of the device</label>
        <input id="ap-name" className="input" placeholder="e.g. laptop, phone, rclone" required value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn btn-primary shrink-0">Create</button>
      </form>
      <ErrorText error={error} />
      {created && (
        <div role="status" className="rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm">
          <p>
            App password for <strong>{created.name}</strong> (shown only now):
          </p>
          <p className="mt-1 flex flex-wrap items-center gap-2">
            <code className="rounded bg-white px-2 py-1 font-mono" data-testid="new-app-password">{created.password}</code>
            <CopyButton text={created.password} />
          </p>
        </div>
      )}
      <ul className="divide-y divide-slate-100">
        {list?.map((p) => (
          <li key={p.id} className="flex items-center gap-2 py-2 text-sm">
            <span className="flex-1">
              <strong>{p.name}</strong> <span className="text-slate-500">· created {formatDate(p.created_at)} · {p.last_used_at ? `last used ${formatDate(p.last_used_at)}` : 'never used'}</span>
            </span>
            <RevokeButton revoke={() => api.deleteAppPassword(p.id)} then={load} />
          </li>
        ))}
      </ul>
      <div className="space-y-2">
        {mountGuides(origin, username).map((g) => (
          <details key={g.os} className="rounded-md border border-slate-200 p-2">
            <summary className="cursor-pointer text-sm font-medium">{g.os}</summary>
            <ol className="ml-5 mt-2 list-decimal space-y-1 text-sm text-slate-700">
              {g.steps.map((s) => (
                <li key={s}>{s}</li>
              ))}
            </ol>
            {g.command && (
              <div className="mt-2 flex items-start gap-2">
                <code className="block flex-1 overflow-x-auto whitespace-pre rounded bg-slate-900 p-2 text-xs text-slate-100">{g.command}</code>
                <CopyButton text={g.command} />
              </div>
            )}
          </details>
        ))}
      </div>
    </section>
  )
}

/** The user's share links: what each shows, how, until when; copy or revoke. */
function ShareLinks() {
  const [list, setList] = useState<ShareLink[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  const load = () =>
    api
      .shares()
      .then((r) => setList(r.shares))
      .catch(setError)
  useEffect(() => void load(), [])
  return (
    <section className="card space-y-3" aria-labelledby="sl-title">
      <h2 id="sl-title" className="font-semibold">Share links</h2>
      <p className="text-sm text-slate-600">Links you made for people without an account (select a file or folder, then Share). Revoking one stops it at once.</p>
      <ErrorText error={error} />
      {list && list.length === 0 && <p className="text-sm text-slate-500">No share links.</p>}
      <ul className="divide-y divide-slate-100" data-testid="share-links">
        {list?.map((s) => (
          <li key={s.id} className="flex flex-wrap items-center gap-2 py-2 text-sm" data-testid="share-link">
            <span className="min-w-0 flex-1">
              <strong>{s.name ?? '(deleted)'}</strong>{' '}
              <span className="text-slate-500">
                · {s.kind}
                {s.has_password ? ' · password' : ''}
                {s.allow_download ? '' : ' · view only'}
                {s.expires_at ? ` · until ${formatDate(s.expires_at)}` : ''} · {s.last_used_at ? `last opened ${formatDate(s.last_used_at)}` : 'never opened'}
              </span>
            </span>
            <CopyButton text={shareUrl(s)} label="Copy link" />
            <RevokeButton revoke={() => api.revokeShare(s.id)} then={load} />
          </li>
        ))}
      </ul>
    </section>
  )
}


/** Revoke, for an app password or a share link: errors as a toast, the list reloaded after. */
function RevokeButton({ revoke, then }: { revoke: () => Promise<unknown>; then: () => unknown }) {
  return (
    <button
      type="button"
      className="btn"
      onClick={async () => {
        try {
          await revoke()
          void then()
        } catch (err) {
          toast(errorText(err), 'error')
        }
      }}
    >
      Revoke
    </button>
  )
}

export function AccountPage() {
  const user = useStore(session.store, (s) => s.user)
  useEffect(() => {
    api.me().then((u) => session.setUser(u)).catch(() => undefined)
  }, [])
  if (!user) return null
  return (
    <div className="space-y-4">
      <PageTitle>Account</PageTitle>
      <section className="card" aria-label="Storage">
        <h2 className="mb-2 font-semibold">Storage</h2>
        <QuotaBar used={user.used_bytes} quota={user.quota_bytes} />
        <p className="mt-2 text-sm text-slate-600" data-testid="storage-help">
          This counts your files, the{' '}
          <Link className="link" href="/trash">
            Trash
          </Link>{' '}
          and the earlier versions of your files. When an upload needs more room, the oldest items in the Trash and the oldest versions are deleted first; emptying the Trash frees its space at once.
        </p>
      </section>
      <div className="grid gap-4 lg:grid-cols-2">
        <ChangePassword username={user.username} />
        <AppPasswords username={user.username} />
      </div>
      <ShareLinks />
    </div>
  )
}

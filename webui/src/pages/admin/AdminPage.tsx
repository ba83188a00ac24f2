// Admin: users with their usage and quota, invite codes, access requests, the job queue and
// the server's own figures.
import { useEffect, useState } from 'react'
import { ApiError, errorText, sentence } from '../../api/client'
import type { AccessRequest, Invite, JobsStatus, User, Volume } from '../../api/types'
import { CopyButton, Dialog, ErrorText, PageTitle, QuotaBar, Spinner } from '../../components/ui'
import { formatBytes, formatDate, formatExpiry, parseSize } from '../../lib/format'
import { useStore } from '../../lib/store'
import { api, session, toast } from '../../store/app'

function useLoad<T>(f: () => Promise<T>): [T | null, unknown, () => void] {
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [n, setN] = useState(0)
  useEffect(() => {
    f().then(
      (d) => {
        setData(d)
        setError(null)
      },
      (e) => setError(e),
    )
  }, [n]) // eslint-disable-line react-hooks/exhaustive-deps
  return [data, error, () => setN((x) => x + 1)]
}

function QuotaEditor({ user, onSaved }: { user: User; onSaved: () => void }) {
  const [text, setText] = useState(formatBytes(user.quota_bytes).replace(' ', ''))
  const bytes = parseSize(text)
  return (
    <form
      className="flex gap-1"
      onSubmit={async (e) => {
        e.preventDefault()
        try {
          await api.setQuota(user.id, text.replace(/\s+/g, ''))
          toast(`Quota of ${user.username} set to ${formatBytes(bytes ?? 0)}`)
          onSaved()
        } catch (err) {
          toast(errorText(err), 'error')
        }
      }}
    >
      <label htmlFor={`quota-${user.id}`} className="sr-only">Quota of {user.username}</label>
      <input id={`quota-${user.id}`} className="input w-28 py-1" value={text} onChange={(e) => setText(e.target.value)} aria-invalid={bytes === null} />
      <button type="submit" className="btn py-1" disabled={bytes === null}>Set</button>
    </form>
  )
}

/** Disabling signs the user out everywhere at once: asked first. Enabling is not. */
function DisableDialog({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => void }) {
  const [busy, setBusy] = useState(false)
  return (
    <Dialog title={`Disable ${user.username}?`} onClose={onClose}>
      <p className="text-sm text-slate-700">
        <strong className="break-all">{user.username}</strong> is signed out on every device at once and can no longer sign in, use WebDAV or app passwords. Their files stay as they are, and you can enable the account again at any time.
      </p>
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="btn btn-danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true)
            try {
              await api.setDisabled(user.id, true)
              toast(`${user.username} is disabled`)
              onDone()
            } catch (err) {
              toast(errorText(err), 'error')
              setBusy(false)
            }
          }}
        >
          Disable {user.username}
        </button>
      </div>
    </Dialog>
  )
}

function Users() {
  const [data, error, reload] = useLoad(() => api.adminUsers())
  const me = useStore(session.store, (s) => s.user?.id)
  const [disabling, setDisabling] = useState<User | null>(null)
  return (
    <section className="card" aria-labelledby="users-title">
      <h2 id="users-title" className="mb-3 font-semibold">Users</h2>
      <ErrorText error={error} />
      {!data && !error && <Spinner />}
      <ul className="divide-y divide-slate-100">
        {data?.users.map((u) => (
          <li key={u.id} className="grid gap-2 py-3 sm:grid-cols-[10rem_1fr_auto_auto] sm:items-center" data-testid="admin-user" data-username={u.username}>
            <div>
              <p className="break-all font-medium">{u.username}</p>
              <p className="text-xs text-slate-500">
                {u.is_admin ? 'admin · ' : ''}
                {u.disabled ? 'disabled · ' : ''}since {formatDate(u.created_at)}
              </p>
            </div>
            <QuotaBar used={u.used_bytes} quota={u.quota_bytes} compact />
            <QuotaEditor user={u} onSaved={reload} />
            <button
              type="button"
              className="btn py-1"
              disabled={u.id === me}
              title={u.id === me ? 'You cannot disable your own account' : undefined}
              onClick={async () => {
                if (!u.disabled) {
                  setDisabling(u)
                  return
                }
                try {
                  await api.setDisabled(u.id, false)
                  reload()
                } catch (err) {
                  toast(errorText(err), 'error')
                }
              }}
            >
              {u.disabled ? 'Enable' : 'Disable'}
            </button>
          </li>
        ))}
      </ul>
      {disabling && (
        <DisableDialog
          user={disabling}
          onClose={() => setDisabling(null)}
          onDone={() => {
            setDisabling(null)
            reload()
          }}
        />
      )}
    </section>
  )
}

function Invites({ version }: { version: number }) {
  const [data, error, reload] = useLoad(() => api.invites())
  useEffect(() => {
    if (version) reload()
  }, [version]) // eslint-disable-line react-hooks/exhaustive-deps
  const [expiry, setExpiry] = useState('7d')
  const [count, setCount] = useState(1)
  const [made, setMade] = useState<Invite[]>([])
  const link = (code: string) => registerLink(window.location.origin, code)
  return (
    <section className="card min-w-0" aria-labelledby="invites-title">
      <h2 id="invites-title" className="mb-3 font-semibold">Invite codes</h2>
      <form
        className="mb-3 flex flex-wrap items-end gap-2"
        onSubmit={async (e) => {
          e.preventDefault()
          try {
            setMade((await api.createInvites(count, expiry)).codes)
            reload()
          } catch (err) {
            toast(errorText(err), 'error')
          }
        }}
      >
        <div>
          <label className="label" htmlFor="invite-count">How many</label>
          <input id="invite-count" type="number" min={1} max={100} className="input w-20" value={count} onChange={(e) => setCount(Number(e.target.value))} />
        </div>
        <div>
          <label className="label" htmlFor="invite-expiry">Valid for</label>
          <select id="invite-expiry" className="input w-32" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            <option value="1d">1 day</option>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary">Create invite</button>
      </form>
      {made.length > 0 && (
        <div role="status" className="mb-3 rounded-md border border-emerald-200 bg-emerald-50 p-2 text-sm">
          New: {made.map((i) => <code key={i.code} className="mr-2 font-mono" data-testid="new-invite">{i.code}</code>)}
        </div>
      )}
      <ErrorText error={error} />
      <ul className="divide-y divide-slate-100">
        {data?.codes.length === 0 && <li className="py-2 text-sm text-slate-500">No active invite codes.</li>}
        {data?.codes.map((i) => (
          <li key={i.code} className="flex flex-wrap items-center gap-2 py-2 text-sm" data-testid="invite">
            <code className="font-mono">{i.code}</code>
            <span className="flex-1 text-slate-500">expires {formatExpiry(i.expires_at)}</span>
            <CopyButton text={i.code} label="Copy code" />
            <CopyButton text={link(i.code)} label="Copy link" />
          </li>
        ))}
      </ul>
    </section>
  )
}

export function registerLink(origin: string, code: string): string {
  return `${origin}/register?invite=${encodeURIComponent(code)}`
}

function Requests({ onInvited }: { onInvited: () => void }) {
  const [data, error, reload] = useLoad(() => api.accessRequests())
  const [answered, setAnswered] = useState<{ request: AccessRequest; invite: Invite }[]>([])
  return (
    <section className="card min-w-0" aria-labelledby="requests-title">
      <h2 id="requests-title" className="mb-3 font-semibold">Access requests</h2>
      <ErrorText error={error} />
      {answered.map(({ request, invite }) => (
        <div key={invite.code} role="status" className="mb-3 rounded-md border border-emerald-200 bg-emerald-50 p-2 text-sm" data-testid="request-invite" data-code={invite.code}>
          <p className="break-words">
            Invite for <strong>{request.name}</strong> ({request.contact}), valid {formatExpiry(invite.expires_at).replace(/^in /, 'for ')}: send them the link or the code.
          </p>
          <p className="mt-1 break-all font-mono text-xs" data-testid="request-invite-link">
            {registerLink(window.location.origin, invite.code)}
          </p>
          <div className="mt-1.5 flex flex-wrap items-center gap-2">
            <code className="font-mono">{invite.code}</code>
            <CopyButton text={registerLink(window.location.origin, invite.code)} label="Copy link" />
            <CopyButton text={invite.code} label="Copy code" />
            <button type="button" className="btn" onClick={() => setAnswered((l) => l.filter((a) => a.invite.code !== invite.code))}>
              Done
            </button>
          </div>
        </div>
      ))}
      <ul className="divide-y divide-slate-100">
        {data?.requests.length === 0 && <li className="py-2 text-sm text-slate-500">No requests.</li>}
        {data?.requests.map((r: AccessRequest) => (
          <li key={r.id} className="py-2 text-sm" data-testid="access-request" data-name={r.name}>
            <div className="flex flex-wrap items-center gap-2">
              <strong className="min-w-0 flex-1 break-words">
                {r.name} <span className="font-normal text-slate-500">· {r.contact} · {formatDate(r.created_at)}</span>
              </strong>
              <button
                type="button"
                className="btn btn-primary py-1"
                aria-label={`Send invite to ${r.name}`}
                onClick={async () => {
                  try {
                    const invite = await api.inviteForRequest(r.id)
                    setAnswered((l) => [{ request: r, invite }, ...l])
                    onInvited()
                  } catch (e) {
                    toast(errorText(e), 'error')
                  }
                  reload()
                }}
              >
                Send invite
              </button>
              <button
                type="button"
                className="btn py-1"
                onClick={async () => {
                  await api.deleteAccessRequest(r.id).catch((e) => toast(errorText(e), 'error'))
                  reload()
                }}
              >
                Dismiss
              </button>
            </div>
            {r.message && <p className="mt-1 whitespace-pre-wrap break-words text-slate-700">{r.message}</p>}
          </li>
        ))}
      </ul>
    </section>
  )
}

/** The CLIP model cannot run (its runtime or files are missing): what the admin has to do. */
export function modelMissing(status: string): boolean {
  return status === 'runtime-missing' || status === 'not-installed' || status === 'error'
}

function Jobs() {
  const [data, error, reload] = useLoad<JobsStatus>(() => api.jobs())
  useEffect(() => {
    const t = setInterval(reload, 5000)
    return () => clearInterval(t)
  }, []) // eslint-disable-line react-hooks/exhaustive-deps
  const missing = error instanceof ApiError && error.code === 'no-such-route'
  const states = ['queued', 'running', 'waiting', 'done', 'failed']
  const kinds = [...new Set(data?.counts.map((c) => c.kind) ?? [])]
  const count = (k: string, s: string) => data?.counts.find((c) => c.kind === k && c.state === s)?.count ?? 0
  return (
    <section className="card" aria-labelledby="jobs-title">
      <h2 id="jobs-title" className="mb-3 font-semibold">Job queue</h2>
      {missing ? <p className="text-sm text-slate-500">This server has no job queue yet.</p> : <ErrorText error={error} />}
      {data && modelMissing(data.model.status) && (
        <p className="mb-3 break-words rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="model-notice">
          Search by description is off: {sentence(data.model.message).replace(/\.$/, '')}. Until then everyone searches by names and tags.
        </p>
      )}
      {data && (
        <>
          <p className="mb-2 text-sm">
            {data.workers} worker{data.workers === 1 ? '' : 's'} · model: <strong>{data.model.status}</strong>
            {data.model.name ? ` (${data.model.name})` : ''} {data.model.message && <span className="text-slate-500">— {data.model.message}</span>}
          </p>
          <div className="overflow-x-auto">
            <table className="w-full text-sm">
              <thead>
                <tr className="text-left text-slate-500">
                  <th className="py-1 pr-3 font-medium">Kind</th>
                  {states.map((s) => (
                    <th key={s} className="py-1 pr-3 font-medium">{s}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {kinds.map((k) => (
                  <tr key={k}>
                    <td className="py-1 pr-3 font-medium">{k}</td>
                    {states.map((s) => (
                      <td key={s} className={`py-1 pr-3 ${s === 'failed' && count(k, s) ? 'text-red-700' : ''}`}>{count(k, s)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.failures.length > 0 && (
            <>
              <h3 className="mt-3 text-sm font-semibold">Failures</h3>
              <ul className="divide-y divide-slate-100 text-sm">
                {data.failures.map((f) => (
                  <li key={f.id} className="py-1.5">
                    <strong>{f.file_name}</strong> <span className="text-slate-500">({f.username}, {f.kind}, {f.attempts} attempts, {formatDate(f.updated_at)})</span>
                    <p className="break-words text-red-800">{f.last_error}</p>
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  )
}

function Server() {
  const [vols, error] = useLoad<{ volumes: Volume[] }>(() => api.volumes())
  const [stats] = useLoad(() => api.stats())
  return (
    <section className="card" aria-labelledby="server-title">
      <h2 id="server-title" className="mb-3 font-semibold">Storage volumes</h2>
      <ErrorText error={error} />
      <ul className="space-y-1 text-sm">
        {vols?.volumes.map((v) => (
          <li key={v.name}>
            <strong>{v.name}</strong> <span className="text-slate-500">{v.path}</span> ·{' '}
            {!v.online ? (
              <span className="text-red-700">offline: {v.problem}</span>
            ) : v.read_only ? (
              <span className="text-red-700">read-only, {formatBytes(v.free_bytes ?? 0)} free</span>
            ) : v.low_space ? (
              <span className="text-amber-700" data-testid="low-space">
                low on space: {formatBytes(v.free_bytes ?? 0)} free (threshold {formatBytes(v.low_space_bytes)})
              </span>
            ) : (
              <span className="text-emerald-700">online, {formatBytes(v.free_bytes ?? 0)} free</span>
            )}
          </li>
        ))}
      </ul>
      {stats && (
        <p className="mt-2 text-sm text-slate-600" data-testid="largest-body">
          Largest request body so far: {formatBytes(stats.largest_request_body)} (Cloudflare allows 100 MB)
        </p>
      )}
    </section>
  )
}

export default function AdminPage() {
  const [invited, setInvited] = useState(0)
  return (
    <div className="space-y-4">
      <PageTitle>Admin</PageTitle>
      <Users />
      <div className="grid grid-cols-[minmax(0,1fr)] gap-4 lg:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
        <Invites version={invited} />
        <Requests onInvited={() => setInvited((n) => n + 1)} />
      </div>
      <Jobs />
      <Server />
    </div>
  )
}

// Admin: users with their usage and quota, invite codes, access requests, the job queue and
// the server's own figures.
import { useEffect, useState } from 'react'
import { ApiError, errorText } from '../../api/client'
import type { AccessRequest, Invite, JobsStatus, User, Volume } from '../../api/types'
import { CopyButton, ErrorText, PageTitle, QuotaBar, Spinner } from '../../components/ui'
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

function Users() {
  const [data, error, reload] = useLoad(() => api.adminUsers())
  const me = useStore(session.store, (s) => s.user?.id)
  return (
    <section className="card" aria-labelledby="users-title">
      <h2 id="users-title" className="mb-3 font-semibold">Users</h2>
      <ErrorText error={error} />
      {!data && !error && <Spinner />}
      <ul className="divide-y divide-slate-100">
        {data?.users.map((u) => (
          <li key={u.id} className="grid gap-2 py-3 sm:grid-cols-[10rem_1fr_auto_auto] sm:items-center" data-testid="admin-user" data-username={u.username}>
            <div>
              <p className="font-medium">{u.username}</p>
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
                try {
                  await api.setDisabled(u.id, !u.disabled)
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
    </section>
  )
}

function Invites() {
  const [data, error, reload] = useLoad(() => api.invites())
  const [expiry, setExpiry] = useState('7d')
  const [count, setCount] = useState(1)
  const [made, setMade] = useState<Invite[]>([])
  const link = (code: string) => `${window.location.origin}/register?invite=${encodeURIComponent(code)}`
  return (
    <section className="card" aria-labelledby="invites-title">
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

function Requests() {
  const [data, error, reload] = useLoad(() => api.accessRequests())
  return (
    <section className="card" aria-labelledby="requests-title">
      <h2 id="requests-title" className="mb-3 font-semibold">Access requests</h2>
      <ErrorText error={error} />
      <ul className="divide-y divide-slate-100">
        {data?.requests.length === 0 && <li className="py-2 text-sm text-slate-500">No requests.</li>}
        {data?.requests.map((r: AccessRequest) => (
          <li key={r.id} className="py-2 text-sm">
            <div className="flex items-center gap-2">
              <strong className="flex-1">
                {r.name} <span className="font-normal text-slate-500">· {r.contact} · {formatDate(r.created_at)}</span>
              </strong>
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
            {r.message && <p className="mt-1 whitespace-pre-wrap text-slate-700">{r.message}</p>}
          </li>
        ))}
      </ul>
    </section>
  )
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
  return (
    <div className="space-y-4">
      <PageTitle>Admin</PageTitle>
      <Users />
      <div className="grid gap-4 lg:grid-cols-2">
        <Invites />
        <Requests />
      </div>
      <Jobs />
      <Server />
    </div>
  )
}

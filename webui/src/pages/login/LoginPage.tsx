import { useEffect, useState, type FormEvent } from 'react'
import { AuthFrame } from '../../components/Layout'
import { ErrorText } from '../../components/ui'
import { Link, navigate, useLocation } from '../../lib/router'
import { useStore } from '../../lib/store'
import { api, session } from '../../store/app'

export function LoginPage() {
  const notice = useStore(session.store, (s) => s.notice)
  const { path, search } = useLocation()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [setupNeeded, setSetupNeeded] = useState(false)

  useEffect(() => {
    // A server with no account yet: no sign-in can work, the set-up link it printed can.
    // (A server without /api/setup answers 404: the form stays.)
    api
      .setupStatus()
      .then((s) => setSetupNeeded(s.needed))
      .catch(() => undefined)
  }, [])

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      session.signIn(await api.login(username, password))
      // The landing page (Photos when there are any, else Files) is chosen at '/'.
      if (path === '/login' || path === '/') navigate('/', { replace: true })
      else navigate(path + (search.toString() ? `?${search}` : ''), { replace: true })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  if (setupNeeded) {
    return (
      <AuthFrame title="Welcome to CloudVault">
        <p className="text-sm text-slate-700" data-testid="setup-needed">
          This server has no account yet: open the set-up link the server printed when it started (it ends in <code className="break-all">/setup#token=…</code>) to create the administrator.
        </p>
      </AuthFrame>
    )
  }
  return (
    <AuthFrame title="Sign in">
      {notice && (
        <p role="status" className="mb-3 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
          {notice}
        </p>
      )}
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label className="label" htmlFor="username">Username</label>
          <input id="username" className="input" autoComplete="username" autoCapitalize="none" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </div>
        <div>
          <label className="label" htmlFor="password">Password</label>
          <input id="password" type="password" className="input" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <ErrorText error={error} />
        <button type="submit" className="btn btn-primary w-full" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="mt-4 text-sm text-slate-600">
        Have an invite code? <Link className="link" href="/register">Create an account</Link>.<br />
        No invite? <Link className="link" href="/request-access">Ask for access</Link>.
      </p>
    </AuthFrame>
  )
}

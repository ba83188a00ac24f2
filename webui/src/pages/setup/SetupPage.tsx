// First run: the server has no administrator yet and printed a one-time set-up link
// (…/setup#token=…). This page reads the token (and takes it out of the address bar), asks for
// the administrator's name and password, creates the account and signs in.
import { useEffect, useState, type FormEvent } from 'react'
import { ApiError } from '../../api/client'
import { AuthFrame } from '../../components/Layout'
import { PasswordRules } from '../../components/PasswordRules'
import { ErrorText, Spinner } from '../../components/ui'
import { newPasswordReady, repeatProblem, usernameProblem } from '../../lib/password'
import { Link, navigate } from '../../lib/router'
import { api, session } from '../../store/app'
import { readSetupToken, setupErrorText } from './setupToken'

export function SetupPage() {
  const [token, setToken] = useState(() => readSetupToken(window.location.hash, window.location.search))
  const [needed, setNeeded] = useState<boolean | null>(null)
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [repeat, setRepeat] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    // The token is a password for one use: not left in the address bar, the history or a bookmark.
    const takeToken = () => {
      const t = readSetupToken(window.location.hash, window.location.search)
      if (t) setToken(t)
      if (window.location.hash || window.location.search) navigate('/setup', { replace: true })
    }
    takeToken()
    // The link pasted into a tab already on /setup changes only the fragment: no page load.
    window.addEventListener('hashchange', takeToken)
    api
      .setupStatus()
      .then((s) => setNeeded(s.needed))
      .catch((e) => {
        setError(e)
        setNeeded(true)
      })
    return () => window.removeEventListener('hashchange', takeToken)
  }, [])

  const userProblem = username ? usernameProblem(username) : null
  const ready = !!token && !usernameProblem(username) && newPasswordReady(password, repeat, username)

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (!ready || !token) return
    setBusy(true)
    setError(null)
    try {
      session.signIn(await api.setup(token, username, password))
      navigate('/files', { replace: true })
    } catch (err) {
      if (err instanceof ApiError && err.code === 'setup-done') setNeeded(false)
      setError(err)
      setBusy(false)
    }
  }

  if (needed === null) {
    return (
      <AuthFrame title="Set up CloudVault">
        <Spinner />
      </AuthFrame>
    )
  }
  if (!needed) {
    return (
      <AuthFrame title="CloudVault is set up">
        <p className="text-sm text-slate-700" data-testid="setup-done">
          This server already has an administrator. Sign in with your account; new people join with an invite from the administrator.
        </p>
        <Link className="btn btn-primary mt-4 w-full" href="/login">
          Sign in
        </Link>
      </AuthFrame>
    )
  }
  if (!token) {
    return (
      <AuthFrame title="Set up CloudVault">
        <p role="alert" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="setup-no-token">
          This address has no set-up token. Open the set-up link the server printed when it started (it ends in <code className="break-all">/setup#token=…</code>); it is in the server’s output or its log.
        </p>
      </AuthFrame>
    )
  }
  const known = error instanceof ApiError ? setupErrorText(error.code) : null
  return (
    <AuthFrame title="Set up CloudVault">
      <p className="mb-4 text-sm text-slate-600">Create the administrator account. The administrator invites everyone else and sets their storage.</p>
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label className="label" htmlFor="username">Administrator’s username</label>
          <input id="username" className="input" autoComplete="username" autoCapitalize="none" required aria-invalid={!!userProblem} value={username} onChange={(e) => setUsername(e.target.value)} />
          <p className={`mt-1 text-xs ${userProblem ? 'text-red-700' : 'text-slate-500'}`}>{userProblem ?? 'It is part of your WebDAV address, e.g. /dav/files/admin/'}</p>
        </div>
        <div>
          <label className="label" htmlFor="password">Password</label>
          <input id="password" type="password" className="input" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <PasswordRules password={password} username={username} />
        </div>
        <div>
          <label className="label" htmlFor="repeat">Repeat the password</label>
          <input id="repeat" type="password" className="input" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          {repeatProblem(password, repeat) && <p className="mt-1 text-xs text-red-700">{repeatProblem(password, repeat)}</p>}
        </div>
        {known ? (
          <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {known}
          </p>
        ) : (
          <ErrorText error={error} />
        )}
        <button type="submit" className="btn btn-primary w-full" disabled={busy || !ready}>
          {busy ? 'Creating…' : 'Create administrator'}
        </button>
      </form>
    </AuthFrame>
  )
}

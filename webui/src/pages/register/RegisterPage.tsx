import { useState, type FormEvent } from 'react'
import { AuthFrame } from '../../components/Layout'
import { PasswordRules } from '../../components/PasswordRules'
import { ErrorText } from '../../components/ui'
import { passwordOk, usernameProblem } from '../../lib/password'
import { Link, navigate } from '../../lib/router'
import { api, session } from '../../store/app'

export function RegisterPage({ invite }: { invite: string }) {
  const [code, setCode] = useState(invite)
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [repeat, setRepeat] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const userProblem = username ? usernameProblem(username) : null
  const ready = code.trim() && !usernameProblem(username) && passwordOk(password, username) && password === repeat

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      session.signIn(await api.register(code, username, password))
      navigate('/files', { replace: true })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <AuthFrame title="Create your account">
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label className="label" htmlFor="invite">Invite code</label>
          <input id="invite" className="input font-mono uppercase" placeholder="XXXX-XXXX-XXXX" autoComplete="off" required value={code} onChange={(e) => setCode(e.target.value)} />
        </div>
        <div>
          <label className="label" htmlFor="username">Username</label>
          <input id="username" className="input" autoComplete="username" autoCapitalize="none" required aria-invalid={!!userProblem} aria-describedby="username-help" value={username} onChange={(e) => setUsername(e.target.value)} />
          <p id="username-help" className={`mt-1 text-xs ${userProblem ? 'text-red-700' : 'text-slate-500'}`}>
            {userProblem ?? 'It is part of your WebDAV address, e.g. /dav/files/alice/'}
          </p>
        </div>
        <div>
          <label className="label" htmlFor="password">Password</label>
          <input id="password" type="password" className="input" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby="password-rules" />
          <div id="password-rules">
            <PasswordRules password={password} username={username} />
          </div>
        </div>
        <div>
          <label className="label" htmlFor="repeat">Repeat the password</label>
          <input id="repeat" type="password" className="input" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          {repeat && repeat !== password && <p className="mt-1 text-xs text-red-700">The two passwords differ.</p>}
        </div>
        <ErrorText error={error} />
        <button type="submit" className="btn btn-primary w-full" disabled={busy || !ready}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p className="mt-4 text-sm text-slate-600">
        Already registered? <Link className="link" href="/login">Sign in</Link>.
      </p>
    </AuthFrame>
  )
}

// "Connect this device?": where a Nextcloud app's sign-in lands in the browser. The signed-in user
// sees which app asks and lets it in (it gets an app password of its own, revocable on the
// Account page) or not. Signed out, the sign-in page comes first and returns here. The desktop
// app (Login Flow v2, `token`) then gets its password by polling; a phone app (Login Flow v1, no
// token: the page runs in the app's own web view) gets it from this page, as `nc://login/...`.
import { useEffect, useState } from 'react'
import { ApiError } from '../../api/client'
import { ErrorText, Spinner } from '../../components/ui'
import { Link } from '../../lib/router'
import { useStore } from '../../lib/store'
import { api, session } from '../../store/app'

/** Where a phone app picks up its credentials (Nextcloud's format: the values percent-encoded). */
export function ncLoginUrl(server: string, user: string, password: string): string {
  return `nc://login/server:${server}&user:${encodeURIComponent(user)}&password:${encodeURIComponent(password)}`
}

type State = { step: 'loading' } | { step: 'ask'; client: string } | { step: 'granted'; client: string; appUrl?: string } | { step: 'denied' } | { step: 'gone' } | { step: 'error'; error: unknown }

export default function ConnectPage({ token }: { token: string | null }) {
  const user = useStore(session.store, (s) => s.user)
  const [state, setState] = useState<State>({ step: 'loading' })
  useEffect(() => {
    if (token === null) {
      setState({ step: 'ask', client: navigator.userAgent || 'A Nextcloud app' })
      return
    }
    api
      .loginFlow(token)
      .then((f) => setState({ step: 'ask', client: f.client }))
      .catch((error) => setState(error instanceof ApiError && error.status === 404 ? { step: 'gone' } : { step: 'error', error }))
  }, [token])

  const body = (() => {
    switch (state.step) {
      case 'loading':
        return <Spinner />
      case 'error':
        return <ErrorText error={state.error} />
      case 'gone':
        return <p className="text-sm text-slate-700" data-testid="connect-gone">This sign-in request has expired or was already used. Start again from the app.</p>
      case 'denied':
        return <p className="text-sm text-slate-700" data-testid="connect-denied">Not connected. You can close this page.</p>
      case 'granted':
        return (
          <p className="text-sm text-slate-700" data-testid="connect-done">
            Connected: go back to the app, it is signing in now. It appears among your app passwords on the{' '}
            <Link href="/account" className="link">
              Account
            </Link>{' '}
            page, where you can revoke it at any time.
            {state.appUrl && (
              <>
                {' '}
                If the app did not take over,{' '}
                <a href={state.appUrl} className="link" data-testid="connect-app-link">
                  open it from here
                </a>
                .
              </>
            )}
          </p>
        )
      case 'ask':
        return (
          <>
            <p className="text-sm text-slate-700">
              <strong className="break-words">{state.client.replace(/ \(login flow\)$/, '')}</strong> asks to sign in to your files as <strong>{user?.username}</strong>. It gets an app password of its own, which you can revoke on your Account page.
            </p>
            <p className="mt-2 text-sm text-slate-600">Only connect if you just started this from the app yourself.</p>
            <div className="mt-4 flex justify-end gap-2">
              <button
                type="button"
                className="btn"
                onClick={async () => {
                  if (token !== null) await api.denyLoginFlow(token).catch(() => undefined)
                  setState({ step: 'denied' })
                }}
              >
                Cancel
              </button>
              <button
                type="button"
                className="btn btn-primary"
                onClick={async () => {
                  try {
                    if (token === null) {
                      const d = await api.directLogin(state.client)
                      const appUrl = ncLoginUrl(d.server, d.login_name, d.app_password)
                      setState({ step: 'granted', client: state.client, appUrl })
                      window.location.href = appUrl // the app's web view takes it from here
                      return
                    }
                    const f = await api.grantLoginFlow(token)
                    setState({ step: 'granted', client: f.client })
                  } catch (error) {
                    setState(error instanceof ApiError && error.status === 404 ? { step: 'gone' } : { step: 'error', error })
                  }
                }}
              >
                Connect
              </button>
            </div>
          </>
        )
    }
  })()
  return (
    <div className="card mx-auto max-w-lg" data-testid="connect-device">
      <h1 className="mb-3 text-lg font-semibold">Connect this device?</h1>
      {body}
    </div>
  )
}

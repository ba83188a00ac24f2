import { useState, type FormEvent } from 'react'
import { AuthFrame } from '../../components/Layout'
import { ErrorText } from '../../components/ui'
import { Link } from '../../lib/router'
import { api } from '../../store/app'

export function RequestAccessPage() {
  const [name, setName] = useState('')
  const [contact, setContact] = useState('')
  const [message, setMessage] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [sent, setSent] = useState(false)
  const [busy, setBusy] = useState(false)

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await api.requestAccess(name, contact, message)
      setSent(true)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <AuthFrame title="Ask for access">
      {sent ? (
        <p role="status" className="text-sm text-slate-700">
          Thanks — your request reached the administrator, who will send you an invite code.
        </p>
      ) : (
        <form onSubmit={submit} className="space-y-3">
          <div>
            <label className="label" htmlFor="name">Your name</label>
            <input id="name" className="input" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div>
            <label className="label" htmlFor="contact">How to reach you (email, phone…)</label>
            <input id="contact" className="input" required maxLength={200} value={contact} onChange={(e) => setContact(e.target.value)} />
          </div>
          <div>
            <label className="label" htmlFor="message">Message (optional)</label>
            <textarea id="message" className="input" rows={3} maxLength={2000} value={message} onChange={(e) => setMessage(e.target.value)} />
          </div>
          <ErrorText error={error} />
          <button type="submit" className="btn btn-primary w-full" disabled={busy}>
            Send request
          </button>
        </form>
      )}
      <p className="mt-4 text-sm text-slate-600">
        <Link className="link" href="/login">Back to sign in</Link>
      </p>
    </AuthFrame>
  )
}

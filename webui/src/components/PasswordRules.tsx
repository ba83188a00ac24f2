// The password rules, ticked off as the user types.
import { passwordRules } from '../lib/password'

export function PasswordRules({ password, username }: { password: string; username: string }) {
  const rules = passwordRules(password, username)
  return (
    <ul className="mt-2 space-y-0.5 text-xs" aria-label="Password rules" data-testid="password-rules">
      {rules.map((r) => (
        <li key={r.id} data-ok={r.ok} className={r.ok ? 'text-emerald-700' : 'text-slate-500'}>
          <span aria-hidden>{r.ok ? '✓' : '○'}</span> {r.text}
          <span className="sr-only">{r.ok ? ' (met)' : ' (not met yet)'}</span>
        </li>
      ))}
    </ul>
  )
}

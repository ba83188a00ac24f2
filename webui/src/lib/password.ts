// The server's password rules (src/auth/password.rs), checked as the user types.

export const MIN_PASSWORD_CHARS = 8
export const MAX_PASSWORD_BYTES = 256

const COMMON = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwertyuiop', 'qwerty123',
  'iloveyou', 'sunshine', 'princess', 'football', 'baseball', 'welcome1', 'letmein1', 'trustno1', 'abc12345',
  '11111111', '00000000', 'passw0rd', 'superman', 'starwars', 'dragon123', 'monkey123', 'cloudvault', 'changeme',
  'administrator', 'qwertyui', 'asdfghjk', 'zxcvbnm1', '1q2w3e4r', '1qaz2wsx', 'q1w2e3r4', 'aaaaaaaa',
])

export interface Rule {
  id: string
  text: string
  ok: boolean
}

export function passwordRules(password: string, username: string): Rule[] {
  const chars = [...password]
  const lower = password.toLowerCase()
  const user = username.trim().toLowerCase()
  return [
    { id: 'length', text: `At least ${MIN_PASSWORD_CHARS} characters`, ok: chars.length >= MIN_PASSWORD_CHARS },
    { id: 'max', text: `At most ${MAX_PASSWORD_BYTES} bytes`, ok: new TextEncoder().encode(password).length <= MAX_PASSWORD_BYTES },
    { id: 'distinct', text: 'At least 4 different characters', ok: new Set(chars).size >= 4 },
    { id: 'username', text: 'Does not contain your username', ok: user === '' || !lower.includes(user) },
    { id: 'common', text: 'Not one of the most common passwords', ok: password !== '' && !COMMON.has(lower) },
  ]
}

export function passwordOk(password: string, username: string): boolean {
  return passwordRules(password, username).every((r) => r.ok)
}

/** The server's username rule (src/auth/mod.rs parse_username). */
export function usernameProblem(raw: string): string | null {
  const u = raw.trim().toLowerCase()
  if (u.length < 2 || u.length > 32) return 'A username has 2 to 32 characters'
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(u)) return "Use letters a-z, digits, '.', '_' or '-', starting with a letter or digit"
  return null
}

/** A new password must be typed twice the same, checked before anything is sent. */
export function repeatProblem(password: string, repeat: string): string | null {
  if (!repeat) return null
  return password === repeat ? null : 'The two passwords differ.'
}

/** Whether a new-password form may be sent: the rules met and the repeat equal. */
export function newPasswordReady(password: string, repeat: string, username: string): boolean {
  return passwordOk(password, username) && password === repeat
}

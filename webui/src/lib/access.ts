// Who may open what.

/** Whether the admin page may load: only once the user is known to be an admin, so a user who
 *  is not never sees its layout nor fires its requests. */
export function adminAccess(user: { is_admin: boolean } | null): 'wait' | 'admin' | 'not-admin' {
  if (!user) return 'wait'
  return user.is_admin ? 'admin' : 'not-admin'
}

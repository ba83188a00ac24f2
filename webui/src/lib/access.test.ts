import { describe, expect, it } from 'vitest'
import { adminAccess } from './access'

describe('adminAccess', () => {
  it('loads the admin page for admins only, and waits until the user is known', () => {
    expect(adminAccess(null)).toBe('wait')
    expect(adminAccess({ is_admin: false })).toBe('not-admin')
    expect(adminAccess({ is_admin: true })).toBe('admin')
  })
})

import { describe, expect, it } from 'vitest'
import { passwordOk, passwordRules, usernameProblem } from './password'

const failing = (pw: string, user = 'alice') => passwordRules(pw, user).filter((r) => !r.ok).map((r) => r.id)

describe('password rules (same as src/auth/password.rs)', () => {
  it('accept a good password', () => {
    expect(failing('tulip-orbit-92')).toEqual([])
    expect(passwordOk('tulip-orbit-92', 'alice')).toBe(true)
  })
  it('name each rule that fails', () => {
    expect(failing('short')).toContain('length')
    expect(failing('password123')).toEqual(['common'])
    expect(failing('Alice-is-great')).toEqual(['username'])
    expect(failing('aaaaaaaaaaab')).toEqual(['distinct'])
    expect(failing('x1y2'.repeat(100))).toEqual(['max'])
    expect(failing('')).toEqual(expect.arrayContaining(['length', 'distinct', 'common']))
  })
  it('counts characters, not UTF-16 units', () => {
    expect(failing('ééééééé1')).toEqual(['distinct'])
    expect(failing('日本語のパスワード')).toEqual([])
  })
})

describe('usernames', () => {
  it('follow the server rule', () => {
    expect(usernameProblem('alice')).toBeNull()
    expect(usernameProblem(' Bob.Smith ')).toBeNull()
    expect(usernameProblem('a')).not.toBeNull()
    expect(usernameProblem('-bob')).not.toBeNull()
    expect(usernameProblem('bob smith')).not.toBeNull()
    expect(usernameProblem('élise')).not.toBeNull()
  })
})

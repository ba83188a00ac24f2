import { describe, expect, it } from 'vitest'
import { newPasswordReady, passwordOk, passwordRules, repeatProblem, usernameProblem } from './password'

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

describe('the repeated password', () => {
  it('must equal the new one before the form can be sent', () => {
    expect(repeatProblem('tulip-orbit-92', '')).toBeNull() // not typed yet: no complaint
    expect(repeatProblem('tulip-orbit-92', 'tulip-orbit-9')).toBe('The two passwords differ.')
    expect(repeatProblem('tulip-orbit-92', 'tulip-orbit-92')).toBeNull()
    expect(newPasswordReady('tulip-orbit-92', 'tulip-orbit-92', 'alice')).toBe(true)
    expect(newPasswordReady('tulip-orbit-92', 'tulip-orbit-93', 'alice')).toBe(false)
    expect(newPasswordReady('alice123', 'alice123', 'alice')).toBe(false)
  })
})

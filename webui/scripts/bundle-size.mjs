// Prints the gzipped size of the production bundle's JavaScript and fails over the budget.
import { readdirSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

const BUDGET = 300 * 1024
const dir = new URL('../dist/assets/', import.meta.url).pathname
let total = 0
for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
  const gz = gzipSync(readFileSync(join(dir, f)), { level: 9 }).length
  total += gz
  console.log(`  ${f.padEnd(40)} ${(gz / 1024).toFixed(1).padStart(7)} KiB gzipped`)
}
console.log(`bundle: ${(total / 1024).toFixed(1)} KiB of JavaScript gzipped (budget ${BUDGET / 1024} KiB)`)
if (total > BUDGET) {
  console.error('the JavaScript bundle is over its budget')
  process.exit(1)
}

// Names in a folder are unique exactly (after Unicode NFC), as on Linux, in Nextcloud and in
// rclone: "Holiday.JPG" and "holiday.jpg" are two different files. The comparison that ignores
// case serves only to warn, because Windows and macOS (whose disks ignore case) show one of
// two such files in a synced or mounted folder.

export interface Named {
  id?: string
  name: string
}

/** The name as the server compares it: NFC, exact. */
export function nameKey(name: string): string {
  return name.normalize('NFC')
}

/** Ignoring case, for the warning only (never for identity). */
export function foldedName(name: string): string {
  return name.normalize('NFC').toLowerCase()
}

/** The sibling with exactly this name, if any (`selfId` is the item being renamed). */
export function exactSibling<T extends Named>(name: string, siblings: readonly T[], selfId?: string): T | undefined {
  const key = nameKey(name)
  return siblings.find((s) => (selfId === undefined || s.id !== selfId) && nameKey(s.name) === key)
}

/** Siblings whose name differs from `name` only in letter case. */
export function caseTwins<T extends Named>(name: string, siblings: readonly T[], selfId?: string): T[] {
  const key = nameKey(name)
  const folded = foldedName(name)
  return siblings.filter((s) => (selfId === undefined || s.id !== selfId) && nameKey(s.name) !== key && foldedName(s.name) === folded)
}

/** The sentence shown under a name field or in the upload dialog. */
export function caseWarning(name: string, twins: readonly Named[]): string | null {
  if (twins.length === 0) return null
  const others = twins.map((t) => `“${t.name}”`).join(', ')
  return `“${name}” differs from ${others} only in upper and lower case. CloudVault keeps them as separate files; Windows and macOS ignore case and show only one of them in a synced or mounted folder.`
}

export interface UploadPlan<F extends Named> {
  /** Files whose exact name is taken in the folder: the user chooses Replace or Keep both. */
  taken: F[]
  /** Files whose name differs from a sibling (or from an earlier file of the same batch) only in case. */
  twins: { file: F; twins: Named[] }[]
  /** Everything else. */
  fresh: F[]
}

/** Sorts the files of an upload against the folder's items before anything is sent. */
export function planUploads<F extends Named>(files: readonly F[], siblings: readonly Named[]): UploadPlan<F> {
  const exact = new Set(siblings.map((s) => nameKey(s.name)))
  const plan: UploadPlan<F> = { taken: [], twins: [], fresh: [] }
  files.forEach((f, i) => {
    if (exact.has(nameKey(f.name))) plan.taken.push(f)
    else plan.fresh.push(f)
    // Against the files before it in the batch only, so a pair inside the batch is told once.
    const batch = files.slice(0, i).map((g) => ({ name: g.name }))
    const twins = caseTwins(f.name, [...siblings, ...batch])
    if (twins.length) plan.twins.push({ file: f, twins: dedupe(twins) })
  })
  return plan
}

function dedupe(list: Named[]): Named[] {
  const seen = new Set<string>()
  return list.filter((n) => (seen.has(nameKey(n.name)) ? false : (seen.add(nameKey(n.name)), true)))
}

/** What a rename selects at first: a file's name without its extension (so typing keeps
 *  ".jpg"), a folder's whole name; a name with no extension or only a leading dot
 *  (".bashrc") whole too. */
export function renameSelection(name: string, kind: 'file' | 'folder'): [number, number] {
  if (kind === 'folder') return [0, name.length]
  const dot = name.lastIndexOf('.')
  return [0, dot > 0 ? dot : name.length]
}

// What the search page says.

/** When the server cannot search by description: a neutral line for users (the fix is not
 *  theirs to make, so no admin instructions), a pointer to the Admin page for admins. */
export function semanticOffText(isAdmin: boolean): string {
  return isAdmin
    ? 'Search by description is off on this server: these results match names and tags.'
    : "Search by description isn't available on this server yet: these results match names and tags."
}

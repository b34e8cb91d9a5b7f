/**
 * The user CMD's environment from a base one (spec supervisor-register-lifecycle.md §4): USER and
 * LOGNAME become the account's name, HOME its home; an empty name or home leaves those as they are.
 */
export const envForUser = (
  base: NodeJS.ProcessEnv,
  user: { readonly name: string; readonly home: string }
): NodeJS.ProcessEnv => ({
  ...base,
  ...(user.name !== "" ? { USER: user.name, LOGNAME: user.name } : {}),
  ...(user.home !== "" ? { HOME: user.home } : {})
})

/** Text from the network (peer error bodies, error messages) made safe for one log field or one reply. */

const CONTROL = /\p{Cc}+/gu

/** Control characters become a space, and the text is cut to `max` characters. */
export const excerpt = (text: string, max = 256): string => {
  const clean = text.replace(CONTROL, " ").trim()
  return clean.length <= max ? clean : `${clean.slice(0, max)}…`
}

/** An error's message with its code and the message of its cause, the way a reader needs it. */
export const describeError = (e: unknown): string => {
  if (!(e instanceof Error)) return excerpt(String(e))
  const code = (e as NodeJS.ErrnoException).code
  const cause = e.cause instanceof Error && e.cause.message !== e.message ? `: ${e.cause.message}` : ""
  return excerpt(`${code !== undefined && !e.message.includes(code) ? `${code}: ` : ""}${e.message}${cause}`)
}

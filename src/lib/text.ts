// Small string checks shared by config validation and the gateway.

/** True when `s` holds a C0 control character or DEL: never valid in a header value or a name. */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

// The account list the proxy authenticates clients against, decoded from the
// backend's grant tables (see fetch-accounts.ts).

export const NATIVE_PASSWORD = 'mysql_native_password';

export interface AuthMethod {
  /** e.g. 'mysql_native_password', 'unix_socket', 'ed25519'. */
  plugin: string;
  /** Raw authentication_string as stored by the server. */
  authString: string;
  /**
   * For mysql_native_password: the 20 bytes of SHA1(SHA1(password)) decoded
   * from '*HEX'. null when the password is empty, when the string is not a
   * valid hash (e.g. 'invalid', which MariaDB uses for "no login by
   * password") and for other plugins: use acceptsEmptyPassword() to tell
   * "empty password" from "can never match".
   */
  stage2: Buffer | null;
}

export interface Account {
  user: string;
  host: string;
  /** In MariaDB's order: the server tries them in this order (auth_or). */
  methods: AuthMethod[];
  locked: boolean;
}

/** '*' + 40 hex digits → 20 bytes; anything else → null. */
export function decodeNativeHash(authString: string): Buffer | null {
  if (!/^\*[0-9a-fA-F]{40}$/.test(authString)) return null;
  return Buffer.from(authString.slice(1), 'hex');
}

export function makeMethod(plugin: string, authString: string): AuthMethod {
  const native = plugin.toLowerCase() === NATIVE_PASSWORD;
  return { plugin, authString, stage2: native ? decodeNativeHash(authString) : null };
}

/**
 * A native-password method with an empty authentication string accepts only
 * an empty password (the client sends an empty auth response). A non-empty
 * string that is not a hash accepts nothing, so callers must not treat
 * stage2 === null alone as "no password".
 */
export function acceptsEmptyPassword(m: AuthMethod): boolean {
  return m.plugin.toLowerCase() === NATIVE_PASSWORD && m.authString === '';
}

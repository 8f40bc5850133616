// MariaDB's host matching and account ordering, reproduced from sql/sql_acl.cc
// (update_hostname, compare_hostname, calc_ip, acl_user_compare,
// find_by_username_or_anon) and sql/sql_acl_getsort.ic (get_magic_sort),
// so the proxy picks the same account the server would.

/** What the server knows of a client: its IP text and, for loopback, 'localhost'. */
export interface ClientHost {
  ip: string;
  /** MariaDB resolves names; the proxy does no DNS, so only loopback gets a name. */
  hostname: string | null;
  ipv4: number | null;
}

export interface HostPattern {
  /** The account's Host, with '' replaced by '%' as MariaDB does. */
  text: string;
  /** 'a.b.c.d/m.m.m.m' form: matched by mask, never by wildcard. */
  ip: number;
  mask: number;
  /** Lower is more specific (MariaDB's get_magic_sort before its final '~'). */
  generality: number;
}

// Host column is char(255) since MariaDB 10.6; the value only scales the
// magic number, it hardly ever changes the order of two real patterns.
const MAX_HOSTNAME_LENGTH = 255;

/** calc_ip(): exactly four dotted decimal parts 0..255, else null. */
export function parseIPv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return null;
    v = v * 256 + part;
  }
  return v;
}

/**
 * socket.remoteAddress → what MariaDB would see. The server turns
 * IPv4-mapped IPv6 addresses into plain IPv4 (vio_get_normalized_ip) and
 * names 127.0.0.1 and ::1 'localhost' (vio_is_loopback in ip_to_hostname).
 */
export function clientHost(address: string): ClientHost {
  let ip = address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) ip = mapped[1]!;
  const loopback = ip === '127.0.0.1' || ip === '::1';
  return { ip, hostname: loopback ? 'localhost' : null, ipv4: parseIPv4(ip) };
}

/**
 * wild_compare/wild_case_compare: '%' any run, '_' one character, '\' makes
 * the next character literal. Linear-time greedy matching with one
 * backtrack point, the usual algorithm for a single kind of star.
 */
export function wildMatch(str: string, pattern: string, caseInsensitive: boolean): boolean {
  const s = Array.from(caseInsensitive ? str.toLowerCase() : str);
  const p = Array.from(caseInsensitive ? pattern.toLowerCase() : pattern);
  // Tokenise so that escapes are resolved once: string = literal, 0 = '_', 1 = '%'.
  const toks: (string | 0 | 1)[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\' && i + 1 < p.length) toks.push(p[++i]!);
    else if (c === '_') toks.push(0);
    else if (c === '%') toks.push(1);
    else toks.push(c);
  }
  let si = 0, ti = 0, starTi = -1, starSi = 0;
  while (si < s.length) {
    const t = toks[ti];
    if (t === 1) { starTi = ti++; starSi = si; continue; }
    if (t !== undefined && (t === 0 || t === s[si])) { si++; ti++; continue; }
    if (starTi < 0) return false;
    ti = starTi + 1;
    si = ++starSi;
  }
  while (toks[ti] === 1) ti++;
  return ti === toks.length;
}

/**
 * get_magic_sort() for one 'h' pattern, without the final bit inversion.
 * Among equally wild patterns the one with the shorter literal prefix (P)
 * ranks first: that is what the code and mariadbd 10.11 do, although the
 * comment above get_magic_sort claims the opposite.
 */
export function hostGenerality(pattern: string): number {
  const maxlen = MAX_HOSTNAME_LENGTH;
  let n = 0, m = 0, k = 0, p = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '%') {
      if (!k && !m) p = n;
      k++;
      while (pattern[i + 1] === '%') i++;
      continue;
    }
    if (c === '_') {
      if (!k && !m) p = n;
      m++;
      continue;
    }
    if (c === '\\' && i + 1 < pattern.length) i++;
    n++;
  }
  k = Math.min(k, 31);
  m = Math.min(m, 31);
  const l = k ? Math.max(0, maxlen - n - m) : 0;
  const d = maxlen + 1, d1 = Math.min(d, 32);
  return l > m
    ? (((l * 2 + 1) * d + k) * d1 + m) * d + p
    : ((m * 2 * d + l) * d1 + k) * d + p;
}

export function parseHostPattern(host: string): HostPattern {
  // Historical convention kept by update_hostname(): empty host means '%'.
  const text = host === '' ? '%' : host;
  let ip = 0, mask = 0;
  const slash = text.indexOf('/');
  if (slash > 0) {
    const a = parseIPv4(text.slice(0, slash)), b = parseIPv4(text.slice(slash + 1));
    if (a !== null && b !== null) { ip = a; mask = b; }
  }
  return { text, ip, mask, generality: hostGenerality(text) };
}

/** compare_hostname(). */
export function hostMatches(pat: HostPattern, client: ClientHost): boolean {
  if (pat.mask && client.ipv4 !== null) {
    // Unsigned AND: a host part outside the mask never matches, as in MariaDB.
    return ((client.ipv4 & pat.mask) >>> 0) === pat.ip;
  }
  return (client.hostname !== null && wildMatch(client.hostname, pat.text, true))
    || wildMatch(client.ip, pat.text, false);
}

/** Convenience for one-off checks: account Host vs socket.remoteAddress. */
export function matchHost(accountHost: string, clientAddress: string): boolean {
  return hostMatches(parseHostPattern(accountHost), clientHost(clientAddress));
}

/** The part of an account that decides its rank. */
export interface Ranked { user: string; pattern: HostPattern }

/**
 * acl_user_compare() restricted to what matters for one login: more specific
 * host first (get_magic_sort "hu": host magic, then named user before
 * anonymous), then MariaDB's tie-break on the host text in reverse byte order
 * (so 'localhost' comes before '127.0.0.1'). With this single order the first
 * entry whose user is the client's name or '' and whose host matches is what
 * find_by_username_or_anon() returns: the named user wins unless an anonymous
 * account has a strictly more specific host.
 */
export function compareRank(a: Ranked, b: Ranked): number {
  const ga = a.pattern.generality * 2 + (a.user === '' ? 1 : 0);
  const gb = b.pattern.generality * 2 + (b.user === '' ? 1 : 0);
  if (ga !== gb) return ga - gb;
  return -Buffer.compare(Buffer.from(a.pattern.text), Buffer.from(b.pattern.text));
}

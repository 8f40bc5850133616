import { NATIVE_PASSWORD } from '../protocol/constants.js';
import { Er, type ErrorSpec } from '../protocol/errors.js';
import { recoverStage1 } from '../protocol/native-password.js';
import { acceptsEmptyPassword, type Account } from './accounts/account.js';

export interface AccountSource {
  find(user: string, clientAddress: string): Account | undefined;
  refreshWhenAllowed(): Promise<boolean>;
}

export type Verdict =
  | { ok: true; stage1: Buffer | null; account: Account }
  | { ok: false; error: ErrorSpec; message: string; reason: string };

/** The host part of an error message, as MariaDB prints it (loopback resolves to localhost). */
export function displayHost(address: string): string {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '127.0.0.1' || a === '::1' ? 'localhost' : a;
}

function check(account: Account, token: Buffer, scramble: Buffer): Buffer | null | false {
  for (const m of account.methods) {
    if (m.plugin !== NATIVE_PASSWORD) continue;
    if (m.stage2 === null) {
      // No hash: either no password at all, or a marker such as 'invalid' that no password matches.
      if (token.length === 0 && acceptsEmptyPassword(m)) return null;
      continue;
    }
    const stage1 = recoverStage1(token, scramble, m.stage2);
    if (stage1) return stage1;
  }
  return false;
}

/**
 * Checks a mysql_native_password token against the accounts read from the backends. A failed
 * check reloads the accounts once (rate-limited by the cache) in case the user or password was
 * just created or changed on the server, as MaxScale does.
 */
export async function verifyNativePassword(
  accounts: AccountSource,
  user: string,
  clientAddress: string,
  token: Buffer,
  scramble: Buffer,
): Promise<Verdict> {
  let reason = 'no matching account';
  for (let attempt = 0; attempt < 2; attempt++) {
    const account = accounts.find(user, clientAddress);
    if (account) {
      if (account.locked) {
        return { ok: false, error: Er.ACCOUNT_LOCKED, message: `Access denied, this account is locked`, reason: 'account locked' };
      }
      const result = check(account, token, scramble);
      if (result !== false) return { ok: true, stage1: result, account };
      const plugins = account.methods.map((m) => m.plugin);
      reason = plugins.includes(NATIVE_PASSWORD)
        ? 'wrong password'
        : `account ${user}@${account.host} uses ${plugins.join(', ')}; the proxy supports ${NATIVE_PASSWORD} only`;
    }
    if (attempt === 0) await accounts.refreshWhenAllowed();
  }
  const using = token.length > 0 ? 'YES' : 'NO';
  return {
    ok: false,
    error: Er.ACCESS_DENIED,
    message: `Access denied for user '${user}'@'${displayHost(clientAddress)}' (using password: ${using})`,
    reason,
  };
}

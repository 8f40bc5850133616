import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { acceptsEmptyPassword, decodeNativeHash } from '../../host/session/accounts/account.js';
import {
  decodeGlobalPriv,
  decodeUserRow,
  readAccounts,
  type Row,
} from '../../host/session/accounts/fetch-accounts.js';

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest();
const stage2Of = (pw: string) => sha1(sha1(pw));
const hashOf = (pw: string) => '*' + stage2Of(pw).toString('hex').toUpperCase();

describe('decodeNativeHash', () => {
  it('decodes *HEX into 20 bytes, any case', () => {
    expect(decodeNativeHash(hashOf('secret'))).toEqual(stage2Of('secret'));
    expect(decodeNativeHash(hashOf('secret').toLowerCase())).toEqual(stage2Of('secret'));
    expect(decodeNativeHash(hashOf('secret'))!.length).toBe(20);
  });
  it('returns null for empty, invalid and pre-4.1 hashes', () => {
    expect(decodeNativeHash('')).toBeNull();
    expect(decodeNativeHash('invalid')).toBeNull();
    expect(decodeNativeHash('6f8c114b58f2ce9e')).toBeNull();
    expect(decodeNativeHash(hashOf('x').slice(0, 40))).toBeNull();
  });
});

describe('decodeGlobalPriv', () => {
  it('decodes a plain native-password account', () => {
    const a = decodeGlobalPriv('app', '%', JSON.stringify({
      access: 0, plugin: 'mysql_native_password', authentication_string: hashOf('pw'),
    }))!;
    expect(a).toMatchObject({ user: 'app', host: '%', locked: false });
    expect(a.methods).toHaveLength(1);
    expect(a.methods[0]!.plugin).toBe('mysql_native_password');
    expect(a.methods[0]!.stage2).toEqual(stage2Of('pw'));
  });

  it('expands auth_or, where {} stands for the top-level method', () => {
    const a = decodeGlobalPriv('root', 'localhost',
      '{"access":1,"plugin":"mysql_native_password","authentication_string":"","auth_or":[{"plugin":"unix_socket"},{}]}')!;
    expect(a.methods.map((m) => m.plugin)).toEqual(['unix_socket', 'mysql_native_password']);
    expect(a.methods[0]).toEqual({ plugin: 'unix_socket', authString: '', stage2: null });
    expect(a.methods[1]).toEqual({ plugin: 'mysql_native_password', authString: '', stage2: null });
    expect(acceptsEmptyPassword(a.methods[1]!)).toBe(true);
  });

  it('keeps auth_or order and explicit strings', () => {
    const a = decodeGlobalPriv('u', 'h', {
      plugin: 'mysql_native_password', authentication_string: hashOf('top'),
      auth_or: [{}, { plugin: 'ed25519', authentication_string: 'abc' },
        { plugin: 'mysql_native_password', authentication_string: hashOf('alt') }],
    })!;
    expect(a.methods.map((m) => m.plugin)).toEqual(['mysql_native_password', 'ed25519', 'mysql_native_password']);
    expect(a.methods[0]!.stage2).toEqual(stage2Of('top'));
    expect(a.methods[1]).toEqual({ plugin: 'ed25519', authString: 'abc', stage2: null });
    expect(a.methods[2]!.stage2).toEqual(stage2Of('alt'));
  });

  it('treats a missing or empty plugin as native and "invalid" as never matching', () => {
    const a = decodeGlobalPriv('mysql', 'localhost', '{"access":0}')!;
    expect(a.methods).toEqual([{ plugin: 'mysql_native_password', authString: '', stage2: null }]);
    const b = decodeGlobalPriv('mysql', 'localhost', '{"plugin":"","authentication_string":"invalid"}')!;
    expect(b.methods[0]!.stage2).toBeNull();
    expect(acceptsEmptyPassword(b.methods[0]!)).toBe(false);
  });

  it('reads account_locked and skips roles and corrupt rows', () => {
    expect(decodeGlobalPriv('s', 'localhost', '{"account_locked":true,"plugin":"mysql_native_password","authentication_string":""}')!.locked).toBe(true);
    expect(decodeGlobalPriv('r', '', '{"access":0,"is_role":true}')).toBeNull();
    expect(decodeGlobalPriv('x', '%', '{not json')).toBeNull();
    expect(decodeGlobalPriv('x', '%', '{"auth_or":[{"plugin":5}]}')).toBeNull();
    expect(decodeGlobalPriv('x', '%', Buffer.from('{"plugin":"unix_socket"}'))!.methods[0]!.plugin).toBe('unix_socket');
  });
});

describe('decodeUserRow', () => {
  it('uses Password for native accounts of old servers', () => {
    const a = decodeUserRow({ Host: '%', User: 'old', Password: hashOf('p'), plugin: '', authentication_string: '' })!;
    expect(a.methods[0]!.plugin).toBe('mysql_native_password');
    expect(a.methods[0]!.stage2).toEqual(stage2Of('p'));
  });
  it('reads MySQL-style rows and skips roles', () => {
    const a = decodeUserRow({ Host: 'h', User: 'u', plugin: 'mysql_native_password',
      authentication_string: hashOf('q'), account_locked: 'Y' })!;
    expect(a.locked).toBe(true);
    expect(a.methods[0]!.stage2).toEqual(stage2Of('q'));
    expect(decodeUserRow({ Host: '', User: 'role1', is_role: 'Y' })).toBeNull();
  });
});

describe('readAccounts', () => {
  const sqlError = (errno: number, message: string) =>
    Object.assign(new Error(message), { errno, sqlState: '42000', sqlMessage: message });

  it('falls back to mysql.user when global_priv does not exist', async () => {
    const seen: string[] = [];
    const accounts = await readAccounts(async (sql) => {
      seen.push(sql);
      if (sql.includes('global_priv')) throw sqlError(1146, "Table 'mysql.global_priv' doesn't exist");
      return [{ Host: '%', User: 'a', Password: hashOf('z'), plugin: '' } as Row];
    }, 'svc');
    expect(seen).toHaveLength(2);
    expect(accounts).toHaveLength(1);
    expect(accounts[0]!.methods[0]!.stage2).toEqual(stage2Of('z'));
  });

  it('says what to grant when the service user cannot read the tables', async () => {
    const msg = "SELECT command denied to user 'svc'@'localhost' for table `mysql`.`global_priv`";
    const p = readAccounts(async (sql) => {
      throw sql.includes('global_priv') ? sqlError(1142, msg) : sqlError(1142, 'denied for user');
    }, 'svc');
    await expect(p).rejects.toThrow(
      `service user 'svc' cannot read mysql.global_priv: ${msg} — grant SELECT ON mysql.* to it`);
  });

  it('rethrows connection errors without trying the fallback', async () => {
    let calls = 0;
    const p = readAccounts(async () => { calls++; throw new Error('Connection lost'); }, 'svc');
    await expect(p).rejects.toThrow('Connection lost');
    expect(calls).toBe(1);
  });
});

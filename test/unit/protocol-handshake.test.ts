// Handshake (host/protocol/handshake.ts), native password (native-password.ts), KILL parsing
// (kill.ts), OK/ERR (ok-err.ts) and COM_CHANGE_USER (change-user.ts). Decoders get garbage and
// truncated input too: they may fail only with ProtocolError.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeChangeUser, encodeChangeUser, type ChangeUser } from '../../host/protocol/change-user.js';
import { Cap, MariaCap, Status } from '../../host/protocol/constants.js';
import {
  decodeAttributes, decodeAuthSwitch, decodeHandshakeResponse, decodeHandshakeV10, encodeAuthSwitch,
  encodeHandshakeResponse, encodeHandshakeV10, isSslRequest, type HandshakeResponse, type HandshakeV10,
} from '../../host/protocol/handshake.js';
import { mayBeKill, parseKill } from '../../host/protocol/kill.js';
import {
  newScramble, recoverStage1, stage2FromAuthString, tokenFromPassword, tokenFromStage1,
} from '../../host/protocol/native-password.js';
import { decodeErr, decodeOk, encodeEof, encodeErr, encodeOk } from '../../host/protocol/ok-err.js';
import { ProtocolError } from '../../host/protocol/reader.js';
import { PayloadWriter } from '../../host/protocol/writer.js';
import { rng } from '../harness/rng.js';

const sha1 = (...parts: (Buffer | string)[]) => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Connection attributes block: lenenc key, lenenc value, repeated. */
function attrs(pairs: [string, string][]): Buffer {
  const w = new PayloadWriter();
  for (const [k, v] of pairs) w.lenencBytes(Buffer.from(k)).lenencBytes(Buffer.from(v));
  return Buffer.from(w.payload());
}

// A greeting captured from MariaDB 10.11.19 (Debian) on 127.0.0.1:3306, header stripped.
const REAL_GREETING = Buffer.from(
  '0a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100800000006e25685d7865722f00fef72d0200ff8115' +
  '0000000000001d00000031464f396c376d3f32793227006d7973716c5f6e61746976655f70617373776f726400', 'hex');

describe('HandshakeV10', () => {
  it('decodes a real MariaDB greeting', () => {
    const h = decodeHandshakeV10(REAL_GREETING);
    expect(h.serverVersion).toBe('5.5.5-10.11.19-MariaDB-0+deb12u1');
    expect(h.connectionId).toBe(0x80);
    expect(h.scramble.toString('latin1')).toBe('n%h]xer/1FO9l7m?2y2\'');
    expect(h.scramble.length).toBe(20);
    expect(h.capabilities).toBe(0x81fff7fe);
    // MariaDB clears CLIENT_MYSQL (LONG_PASSWORD) to announce its extended capabilities.
    expect(h.capabilities & Cap.LONG_PASSWORD).toBe(0);
    expect(h.mariaCapabilities).toBe(MariaCap.PROGRESS | MariaCap.STMT_BULK_OPERATIONS | MariaCap.EXTENDED_METADATA | MariaCap.CACHE_METADATA);
    expect(h.charset).toBe(45);
    expect(h.status).toBe(Status.AUTOCOMMIT);
    expect(h.authPlugin).toBe('mysql_native_password');
    // Re-encoding gives the same bytes.
    expect(encodeHandshakeV10(h).equals(REAL_GREETING)).toBe(true);
  });

  const base: HandshakeV10 = {
    serverVersion: '10.11.19-MariaDB-wasmscale',
    connectionId: 0xfffffffe,
    scramble: Buffer.from('abcdefghijklmnopqrst'),
    capabilities: (Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.DEPRECATE_EOF | Cap.CONNECT_ATTRS |
      Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA | Cap.REMEMBER_OPTIONS) >>> 0,
    mariaCapabilities: MariaCap.PROGRESS | MariaCap.STMT_BULK_OPERATIONS,
    charset: 224,
    status: Status.AUTOCOMMIT | Status.IN_TRANS,
    authPlugin: 'mysql_native_password',
  };

  it('round-trips with extended (MariaDB) capabilities and the high capability bits', () => {
    expect(decodeHandshakeV10(encodeHandshakeV10(base))).toEqual(base);
    const s = newScramble();
    expect(decodeHandshakeV10(encodeHandshakeV10({ ...base, scramble: s })).scramble).toEqual(s);
  });

  it('drops the extended capabilities when the server sets CLIENT_MYSQL', () => {
    const h = { ...base, capabilities: (base.capabilities | Cap.LONG_PASSWORD) >>> 0 };
    expect(decodeHandshakeV10(encodeHandshakeV10(h))).toEqual({ ...h, mariaCapabilities: 0 });
  });

  it('without PLUGIN_AUTH the plugin defaults to mysql_native_password and the scramble survives', () => {
    const h = { ...base, capabilities: Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION, authPlugin: 'ignored' };
    const d = decodeHandshakeV10(encodeHandshakeV10(h));
    expect(d.authPlugin).toBe('mysql_native_password');
    expect(d.scramble).toEqual(base.scramble);
  });

  it('without SECURE_CONNECTION only the first 8 scramble bytes travel', () => {
    const h = { ...base, capabilities: Cap.PROTOCOL_41 };
    expect(decodeHandshakeV10(encodeHandshakeV10(h)).scramble).toEqual(base.scramble.subarray(0, 8));
  });

  it('rejects other protocol versions', () => {
    const b = encodeHandshakeV10(base);
    b[0] = 9;
    expect(() => decodeHandshakeV10(b)).toThrow(ProtocolError);
  });
});

describe('HandshakeResponse41', () => {
  const base: HandshakeResponse = {
    capabilities: Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH,
    mariaCapabilities: MariaCap.PROGRESS | MariaCap.EXTENDED_METADATA,
    maxPacket: 0x40000000,
    charset: 45,
    user: 'app_user',
    authResponse: tokenFromPassword('pw', Buffer.from('abcdefghijklmnopqrst')),
    database: null,
    authPlugin: 'mysql_native_password',
    attributes: null,
  };
  const rt = (h: HandshakeResponse) => decodeHandshakeResponse(encodeHandshakeResponse(h));

  it('round-trips the minimal form, keeping MariaDB capabilities when CLIENT_MYSQL is clear', () => {
    expect(rt(base)).toEqual(base);
    expect(rt({ ...base, capabilities: base.capabilities | Cap.LONG_PASSWORD })).toEqual({
      ...base, capabilities: base.capabilities | Cap.LONG_PASSWORD, mariaCapabilities: 0,
    });
  });

  it('round-trips with PLUGIN_AUTH_LENENC_CLIENT_DATA, also for auth data of 255+ bytes', () => {
    const caps = base.capabilities | Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA;
    expect(rt({ ...base, capabilities: caps })).toEqual({ ...base, capabilities: caps });
    const long = Buffer.alloc(300, 7);
    expect(rt({ ...base, capabilities: caps, authResponse: long }).authResponse).toEqual(long);
    expect(rt({ ...base, capabilities: caps, authResponse: Buffer.alloc(0) }).authResponse).toEqual(Buffer.alloc(0));
  });

  it('round-trips a NUL-terminated auth response when neither SECURE_CONNECTION nor LENENC is set', () => {
    const h = { ...base, capabilities: Cap.PROTOCOL_41 | Cap.PLUGIN_AUTH, authResponse: Buffer.from('plain') };
    expect(rt(h)).toEqual(h);
  });

  it('CONNECT_WITH_DB: the database, or null for an empty name', () => {
    const caps = base.capabilities | Cap.CONNECT_WITH_DB;
    expect(rt({ ...base, capabilities: caps, database: 'shop' })).toEqual({ ...base, capabilities: caps, database: 'shop' });
    expect(rt({ ...base, capabilities: caps, database: '' }).database).toBeNull();
    expect(rt({ ...base, capabilities: caps, database: 'db_ünïcode' }).database).toBe('db_ünïcode');
  });

  it('CONNECT_ATTRS: the block is kept as sent and decodes to key/value pairs', () => {
    const block = attrs([['_client_name', 'libmariadb'], ['_os', 'Linux'], ['program_name', 'x'.repeat(300)], ['empty', '']]);
    const caps = base.capabilities | Cap.CONNECT_ATTRS | Cap.CONNECT_WITH_DB | Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA;
    const h = { ...base, capabilities: caps, database: 'test', attributes: block };
    const d = rt(h);
    expect(d).toEqual(h);
    expect(decodeAttributes(d.attributes!)).toEqual(new Map([
      ['_client_name', 'libmariadb'], ['_os', 'Linux'], ['program_name', 'x'.repeat(300)], ['empty', ''],
    ]));
  });

  it('a malformed attribute block inside a well-formed length is not passed on (and does not fail the login)', () => {
    const caps = base.capabilities | Cap.CONNECT_ATTRS;
    const bad = Buffer.from([0x05, 0x61, 0x62]); // key claims 5 bytes, has 2
    const d = rt({ ...base, capabilities: caps, attributes: bad });
    expect(d.user).toBe(base.user);
    expect(d.attributes).toBeNull();
    expect(() => decodeAttributes(bad)).toThrow(ProtocolError);
  });

  it('the optional trailing fields may be absent even when their flags are set', () => {
    const caps = base.capabilities | Cap.CONNECT_WITH_DB | Cap.CONNECT_ATTRS;
    const full = encodeHandshakeResponse({ ...base, capabilities: caps, database: 'd', attributes: attrs([['a', 'b']]) });
    // Cut right after the auth response: no database, plugin or attributes.
    const cut = full.subarray(0, 32 + base.user.length + 1 + 1 + base.authResponse.length);
    expect(decodeHandshakeResponse(cut)).toMatchObject({ database: null, authPlugin: null, attributes: null });
  });

  it('rejects clients without protocol 4.1; recognises an SSL request', () => {
    expect(() => rt({ ...base, capabilities: Cap.SECURE_CONNECTION })).toThrow(ProtocolError);
    const ssl = encodeHandshakeResponse({ ...base, capabilities: base.capabilities | Cap.SSL }).subarray(0, 32);
    expect(isSslRequest(ssl)).toBe(true);
    expect(isSslRequest(encodeHandshakeResponse(base).subarray(0, 32))).toBe(false);
    expect(isSslRequest(encodeHandshakeResponse({ ...base, capabilities: base.capabilities | Cap.SSL }))).toBe(false);
  });
});

describe('auth switch', () => {
  it('round-trips plugin and data (without the trailing NUL)', () => {
    const s = newScramble();
    expect(decodeAuthSwitch(encodeAuthSwitch('mysql_native_password', s))).toEqual({ plugin: 'mysql_native_password', data: s });
    expect(decodeAuthSwitch(Buffer.from('\xfeclient_ed25519\0', 'latin1'))).toEqual({ plugin: 'client_ed25519', data: Buffer.alloc(0) });
  });
});

describe('decoders on garbage and truncated input', () => {
  const caps = Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.CONNECT_ATTRS | Cap.CONNECT_WITH_DB;
  const decoders: [string, (b: Buffer) => unknown][] = [
    ['decodeHandshakeV10', decodeHandshakeV10],
    ['decodeHandshakeResponse', decodeHandshakeResponse],
    ['decodeAttributes', decodeAttributes],
    ['decodeAuthSwitch', decodeAuthSwitch],
    ['decodeChangeUser', (b) => decodeChangeUser(b, caps)],
    ['decodeChangeUser (lenenc caps)', (b) => decodeChangeUser(b, caps | Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA)],
    ['decodeChangeUser (no secure conn)', (b) => decodeChangeUser(b, Cap.PROTOCOL_41)],
    ['decodeOk', decodeOk],
    ['decodeErr', decodeErr],
  ];
  const onlyProtocolErrors = (name: string, fn: (b: Buffer) => unknown, input: Buffer) => {
    try {
      fn(input);
    } catch (e) {
      if (!(e instanceof ProtocolError)) {
        throw new Error(`${name}(${input.toString('hex')}) threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      }
    }
  };

  const valid: Buffer[] = [
    REAL_GREETING,
    encodeHandshakeResponse({
      capabilities: caps | Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA, mariaCapabilities: 0, maxPacket: 1 << 24, charset: 33,
      user: 'root', authResponse: Buffer.alloc(20, 1), database: 'test', authPlugin: 'mysql_native_password',
      attributes: attrs([['_os', 'Linux'], ['_pid', '1234']]),
    }),
    encodeChangeUser({ user: 'u', authResponse: Buffer.alloc(20, 2), database: 'db', charset: 45, authPlugin: 'mysql_native_password', attributes: attrs([['k', 'v']]) }, caps),
    encodeOk({ status: 2, affectedRows: 70000, lastInsertId: 2 ** 40 }),
    encodeErr({ code: 1045, sqlState: '28000' }, 'Access denied'),
    attrs([['a', 'b'.repeat(300)]]),
  ];

  it('random bytes: never anything but ProtocolError', () => {
    const r = rng(42);
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(r() * (i % 10 === 0 ? 400 : 60));
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = Math.floor(r() * 256);
      // Bias some inputs towards plausible prefixes so decoders get past their first checks.
      if (len > 4 && i % 3 === 0) b[0] = 10;
      if (len > 4 && i % 3 === 1) b.writeUInt32LE((b.readUInt32LE(0) | Cap.PROTOCOL_41) >>> 0, 0);
      if (len > 0 && i % 7 === 0) b[len - 1] = [0xfb, 0xfc, 0xfd, 0xfe, 0xff][i % 5]!;
      for (const [name, fn] of decoders) onlyProtocolErrors(name, fn, b);
    }
  });

  it('every truncation and single-byte corruption of valid packets: never anything but ProtocolError', () => {
    const r = rng(7);
    for (const v of valid) {
      for (let n = 0; n <= v.length; n++) for (const [name, fn] of decoders) onlyProtocolErrors(name, fn, v.subarray(0, n));
      for (let i = 0; i < v.length; i++) {
        for (const val of [0x00, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, Math.floor(r() * 256)]) {
          const c = Buffer.from(v);
          c[i] = val;
          for (const [name, fn] of decoders) onlyProtocolErrors(name, fn, c);
        }
      }
    }
  });

  it('a greeting or handshake response cut inside its fixed part throws ProtocolError', () => {
    const fixedGreeting = REAL_GREETING.indexOf(0, 1) + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6 + 4;
    for (let n = 0; n < fixedGreeting; n++) expect(() => decodeHandshakeV10(REAL_GREETING.subarray(0, n))).toThrow(ProtocolError);
    const resp = valid[1]!;
    for (let n = 0; n < 32; n++) expect(() => decodeHandshakeResponse(resp.subarray(0, n))).toThrow(ProtocolError);
    // A length-encoded auth response longer than the packet.
    const bad = Buffer.from(resp);
    bad[32 + 'root'.length + 1] = 0xfe;
    expect(() => decodeHandshakeResponse(bad)).toThrow(ProtocolError);
  });
});

describe('mysql_native_password', () => {
  const scramble = Buffer.from('A&r@9~x!Zq#1LmN0pQ5s');
  const stage1 = sha1('correct horse');
  const stage2 = sha1(stage1);
  // Independent formula: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
  const mask = sha1(scramble, stage2);
  const token = Buffer.from(stage1.map((b, i) => b ^ mask[i]!));

  it('tokenFromPassword matches the protocol formula; tokenFromStage1 equals it', () => {
    expect(tokenFromPassword('correct horse', scramble)).toEqual(token);
    expect(tokenFromStage1(stage1, scramble)).toEqual(token);
    // A scramble sent with its trailing NUL (21 bytes) gives the same token.
    expect(tokenFromPassword('correct horse', Buffer.concat([scramble, Buffer.from([0])]))).toEqual(token);
  });

  it('recoverStage1 recovers SHA1(password) from a client token', () => {
    expect(recoverStage1(token, scramble, stage2)).toEqual(stage1);
    // ... which then answers any other scramble (proxy → backend).
    const other = newScramble();
    expect(tokenFromStage1(recoverStage1(token, scramble, stage2)!, other)).toEqual(tokenFromPassword('correct horse', other));
  });

  it('recoverStage1 returns null for a wrong password, wrong scramble or malformed token', () => {
    expect(recoverStage1(tokenFromPassword('wrong horse', scramble), scramble, stage2)).toBeNull();
    expect(recoverStage1(token, newScramble(), stage2)).toBeNull();
    expect(recoverStage1(token.subarray(0, 19), scramble, stage2)).toBeNull();
    expect(recoverStage1(Buffer.concat([token, Buffer.from([0])]), scramble, stage2)).toBeNull();
    expect(recoverStage1(Buffer.alloc(0), scramble, stage2)).toBeNull();
    const flipped = Buffer.from(token);
    flipped[5] = flipped[5]! ^ 1;
    expect(recoverStage1(flipped, scramble, stage2)).toBeNull();
  });

  it('an empty password gives an empty token', () => {
    expect(tokenFromPassword('', scramble)).toEqual(Buffer.alloc(0));
  });

  it('stage2FromAuthString decodes *HEX, nothing else', () => {
    const hex = stage2.toString('hex').toUpperCase();
    expect(stage2FromAuthString('*' + hex)).toEqual(stage2);
    expect(stage2FromAuthString('*' + hex.toLowerCase())).toEqual(stage2);
    expect(stage2FromAuthString('')).toBeNull();
    expect(stage2FromAuthString(hex)).toBeNull();
    expect(stage2FromAuthString('*' + hex.slice(1))).toBeNull();
    expect(stage2FromAuthString('*' + hex + '0')).toBeNull();
    expect(stage2FromAuthString('*' + 'G'.repeat(40))).toBeNull();
  });

  it('newScramble: 20 printable bytes, no NUL, different each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = newScramble();
      expect(s.length).toBe(20);
      for (const b of s) expect(b >= 33 && b <= 126).toBe(true);
      seen.add(s.toString('hex'));
    }
    expect(seen.size).toBe(200);
  });
});

describe('parseKill / mayBeKill', () => {
  const cases: [string, { id: number; query: boolean } | null][] = [
    ['KILL 5', { id: 5, query: false }],
    ['KILL QUERY 5', { id: 5, query: true }],
    ['kill connection 5;', { id: 5, query: false }],
    ['KILL HARD QUERY 5', { id: 5, query: true }],
    ['KILL SOFT CONNECTION 7', { id: 7, query: false }],
    ['KILL HARD 9', { id: 9, query: false }],
    ['  KiLl\n\tQuErY   42 ; ', { id: 42, query: true }],
    ['KILL 4294967295', { id: 4294967295, query: false }],
    ['KILL USER x', null],
    ['KILL USER 5', null],
    ['KILL QUERY ID 5', null],
    ['KILL 4294967296', null],
    ['KILL 99999999999999999999', null],
    ['KILL', null],
    ['KILL CONNECTION', null],
    ['KILL -1', null],
    ['KILL 5 6', null],
    ['KILL 5; SELECT 1', null],
    ['KILL CONNECTION QUERY 5', null],
    ['KILLQUERY 5', null],
    ['SELECT 1', null],
  ];
  for (const [sql, want] of cases) {
    it(`${JSON.stringify(sql.length > 30 ? sql.slice(0, 30) + '…' : sql)} → ${JSON.stringify(want)}`, () => {
      expect(parseKill(sql)).toEqual(want);
    });
  }

  it('mayBeKill looks at the COM_QUERY payload', () => {
    const p = (s: string) => Buffer.concat([Buffer.from([0x03]), Buffer.from(s)]);
    expect(mayBeKill(p('KILL 5'))).toBe(true);
    expect(mayBeKill(p(' \n\t\rkill query 5'))).toBe(true);
    expect(mayBeKill(p('kIlL 1'))).toBe(true);
    expect(mayBeKill(p('KILL'))).toBe(false);
    expect(mayBeKill(p('SELECT 1'))).toBe(false);
    expect(mayBeKill(p('kil 5'))).toBe(false);
    expect(mayBeKill(Buffer.from([0x03]))).toBe(false);
    // Every statement parseKill accepts passes the cheap test.
    for (const [sql, want] of cases) if (want) expect(mayBeKill(p(sql)), sql).toBe(true);
  });
});

describe('OK / ERR / EOF', () => {
  it('OK round-trips, including 9-byte length-encoded counters', () => {
    const ok = { status: Status.AUTOCOMMIT | Status.SESSION_STATE_CHANGED, affectedRows: 2 ** 40 + 1, lastInsertId: 70000, warnings: 3 };
    expect(decodeOk(encodeOk(ok))).toEqual({ ...ok, info: '' });
    expect(decodeOk(encodeOk({ status: 0 }))).toEqual({ affectedRows: 0, lastInsertId: 0, status: 0, warnings: 0, info: '' });
    // The FE-headed OK that ends a result set under DEPRECATE_EOF decodes the same way.
    const fe = encodeOk(ok);
    fe[0] = 0xfe;
    expect(decodeOk(fe).status).toBe(ok.status);
  });

  it('ERR round-trips; the SQLSTATE marker is optional', () => {
    expect(decodeErr(encodeErr({ code: 1146, sqlState: '42S02' }, "Table 't' doesn't exist"))).toEqual({
      code: 1146, sqlState: '42S02', message: "Table 't' doesn't exist",
    });
    expect(decodeErr(Buffer.from('\xff\x15\x04Access denied', 'latin1'))).toEqual({ code: 1045, sqlState: 'HY000', message: 'Access denied' });
    expect(decodeErr(encodeErr({ code: 2013, sqlState: 'HY' }, 'x')).sqlState).toBe('HY000');
  });

  it('EOF layout: FE, warnings, status', () => {
    expect(encodeEof(Status.MORE_RESULTS_EXISTS | Status.AUTOCOMMIT, 2).toString('hex')).toBe('fe02000a00');
  });
});

describe('COM_CHANGE_USER', () => {
  const base: ChangeUser = {
    user: 'other', authResponse: Buffer.alloc(20, 9), database: 'test', charset: 224,
    authPlugin: 'mysql_native_password', attributes: attrs([['_client_name', 'x']]),
  };
  it('round-trips with SECURE_CONNECTION, PLUGIN_AUTH and CONNECT_ATTRS', () => {
    const caps = Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.CONNECT_ATTRS;
    expect(decodeChangeUser(encodeChangeUser(base, caps), caps)).toEqual(base);
    expect(decodeChangeUser(encodeChangeUser({ ...base, database: null }, caps), caps).database).toBeNull();
  });
  it('round-trips with a NUL-terminated auth response and no plugin/attributes', () => {
    const caps = Cap.PROTOCOL_41;
    const c = { ...base, authResponse: Buffer.from('tok'), authPlugin: null, attributes: null };
    expect(decodeChangeUser(encodeChangeUser(c, caps), caps)).toEqual(c);
  });
});

// Blobs of 32 MiB and more in both directions, and payloads at the 16 MiB packet boundary
// (a payload of exactly 0xffffff bytes is followed by an empty packet).
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { both, mariaConn, mysqlConn, useProxy } from './clients-helpers.js';

const ports = useProxy();
const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');
const MiB = 1024 * 1024;
const BIG = randomBytes(33 * MiB + 123);
const BIG_SHA = sha1(BIG);

describe('blobs of 32 MiB and more', () => {
  // Each 33 MiB transfer is done once per client and direction, and only one is stored, to keep
  // the run short (the server's disk writes dominate on a loaded machine).
  it('33 MiB to the server (binary parameter, long data, text query) and back (text and binary rows)', { timeout: 240_000 }, async () => {
    const out = await both(ports, async (port, via) => {
      const t = `test.blob_${via}`;
      const my = await mysqlConn(port);
      const ma = await mariaConn(port, { maxAllowedPacket: 256 * MiB });
      await my.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY, b LONGBLOB)`);
      // COM_STMT_EXECUTE of 33 MiB: three physical packets.
      await my.execute(`INSERT INTO ${t} VALUES (?, ?)`, [1, BIG]);
      // mariadb execute sends a buffer this large with COM_STMT_SEND_LONG_DATA.
      const longData = await ma.execute('SELECT SHA1(?) AS h', [BIG]);
      // Text protocol: the blob travels escaped inside a COM_QUERY of more than 33 MiB.
      const textIn = await ma.query('SELECT SHA1(x) AS h, LENGTH(x) AS len FROM (SELECT ? AS x) AS t', [BIG]);
      const [server] = await my.query(`SELECT id, LENGTH(b) AS len, SHA1(b) AS h FROM ${t}`);
      const [text] = await my.query<{ b: Buffer }[] & mysql2Rows>(`SELECT b FROM ${t} WHERE id = 1`);
      const bin = await ma.execute(`SELECT b FROM ${t} WHERE id = ?`, [1]);
      const [after] = await my.query('SELECT 1 AS ok');
      const afterMa = await ma.query('SELECT 2 AS ok');
      await my.query(`DROP TABLE ${t}`);
      await my.end();
      await ma.end();
      return { server, longData: [...longData], textIn: [...textIn], text: sha1(text[0]!.b), bin: sha1(bin[0].b as Buffer), after, afterMa: [...afterMa] };
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy).toEqual({
      server: [{ id: 1, len: BIG.length, h: BIG_SHA }],
      longData: [{ h: BIG_SHA }],
      textIn: [{ h: BIG_SHA, len: BIG.length }],
      text: BIG_SHA,
      bin: BIG_SHA,
      after: [{ ok: 1 }],
      afterMa: [{ ok: 2 }],
    });
  });
});

describe('the 16 MiB packet boundary', () => {
  const MAX = 0xffffff;
  it('result rows and commands of exactly 0xffffff bytes and one more', { timeout: 240_000 }, async () => {
    const out = await both(ports, async (port) => {
      const c = await mysqlConn(port);
      const res: unknown[] = [];
      // Text row: lenenc prefix (4 bytes) + data; MAX - 4 makes the row payload exactly MAX.
      for (const len of [MAX - 4, MAX - 3]) {
        const [rows] = await c.query<{ s: string }[] & mysql2Rows>(`SELECT REPEAT('a', ${len}) AS s`);
        res.push([len, rows[0]!.s.length, sha1(rows[0]!.s)]);
      }
      // Binary row: 0x00 + null bitmap (1 byte) + lenenc (4) + data.
      for (const len of [MAX - 6]) {
        const [rows] = await c.execute<{ s: string }[] & mysql2Rows>('SELECT REPEAT(?, ?) AS s', ['b', len]);
        res.push([len, rows[0]!.s.length]);
      }
      // COM_QUERY payloads (command byte + SQL) of exactly MAX and MAX + 1 bytes.
      for (const total of [MAX, MAX + 1]) {
        const head = "SELECT LENGTH('";
        const tail = "') AS n";
        const sql = head + 'q'.repeat(total - 1 - head.length - tail.length) + tail;
        const [rows] = await c.query<{ n: number }[] & mysql2Rows>(sql);
        res.push([total, rows[0]!.n]);
      }
      const [after] = await c.query('SELECT 3 AS ok');
      res.push(after);
      await c.end();
      return res;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]).toEqual([MAX - 4, MAX - 4, sha1('a'.repeat(MAX - 4))]);
    expect(out.proxy[1]).toEqual([MAX - 3, MAX - 3, sha1('a'.repeat(MAX - 3))]);
    expect(out.proxy[2]).toEqual([MAX - 6, MAX - 6]);
    expect(out.proxy[3]).toEqual([MAX, MAX - 23]);
    expect(out.proxy[4]).toEqual([MAX + 1, MAX - 22]);
    expect(out.proxy[5]).toEqual([{ ok: 3 }]);
  });
});

type mysql2Rows = import('mysql2/promise').RowDataPacket[];

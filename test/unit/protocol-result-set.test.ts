// readResultSet (host/protocol/result-set.ts) on REAL replies from the machine's MariaDB on
// 127.0.0.1:3306: the same row read with COM_QUERY (text protocol) and with COM_STMT_EXECUTE
// (binary protocol) must give the same values, with and without DEPRECATE_EOF and with MariaDB's
// extended metadata; the text values are checked against literals too.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cap, PROXY_MARIA_CAPS } from '../../host/protocol/constants.js';
import { prepareColumnDefs, skipsColumns, withColumnDefs } from '../../host/protocol/column-cache.js';
import { packets, readResultSet } from '../../host/protocol/result-set.js';
import { BASE_CAPS, RawMariadb } from './raw-mariadb-client.js';

const reachable = await new Promise<boolean>((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port: 3306 });
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

const SQL = `SELECT CAST(-5 AS SIGNED) AS i, CAST(18446744073709551615 AS UNSIGNED) AS bu, 12.50 AS dec1,
  CAST(0.5 AS DOUBLE) AS dbl, 'héllo' AS s, NULL AS n, DATE '2024-02-29' AS d,
  TIMESTAMP '2024-02-29 23:59:59.123456' AS dt6, CAST('2001-02-03 04:05:06' AS DATETIME) AS dt0,
  CAST('-838:59:59' AS TIME) AS t, CAST('12:00:00.5' AS TIME(1)) AS t1, YEAR('2024-01-01') AS y, x'00ff' AS b,
  CAST(255 AS UNSIGNED) & 0xff AS tiny_ish, 2000000000 AS l`;

describe.skipIf(!reachable)('readResultSet on real replies', () => {
  for (const dep of [false, true]) {
    describe(`deprecateEof=${dep}`, () => {
      let c: RawMariadb;
      beforeAll(async () => {
        c = await RawMariadb.connect({ database: 'test', caps: BASE_CAPS | (dep ? Cap.DEPRECATE_EOF : 0), mariaCaps: PROXY_MARIA_CAPS });
      });
      afterAll(() => c?.close());

      const run = async (payload: Buffer): Promise<Buffer> => {
        c.write(payload);
        return Buffer.concat(await c.collect());
      };

      it('text and binary protocol give the same values', async () => {
        const text = readResultSet(await run(Buffer.from(`\x03${SQL}`)), { deprecateEof: dep, binary: false })!;
        const prepReply = await run(Buffer.from(`\x16${SQL}`));
        const prep = packets(prepReply);
        const id = prep[0]!.readUInt32LE(1);
        const exec = Buffer.alloc(10);
        exec[0] = 0x17;
        exec.writeUInt32LE(id, 1);
        exec[5] = 0;
        exec.writeUInt32LE(1, 6);
        // With metadata caching the server skips the definitions the prepare reply gave; the
        // proxy puts them back in (host/protocol/column-cache.ts) for filters that read rows.
        const execReply = await run(exec);
        expect(skipsColumns(execReply)).toBe(true);
        const defs = prepareColumnDefs(prepReply, dep)!.defs!;
        const bin = readResultSet(withColumnDefs(execReply, defs), { deprecateEof: dep, binary: true })!;
        const show = (r: NonNullable<typeof text>) => r.rows.map((row) => row.map((v) => (v === null ? null : v.toString('latin1'))));
        expect(text.columns.map((x) => x.name)).toEqual(['i', 'bu', 'dec1', 'dbl', 's', 'n', 'd', 'dt6', 'dt0', 't', 't1', 'y', 'b', 'tiny_ish', 'l']);
        expect(bin.columns).toEqual(text.columns);
        expect(show(bin)).toEqual(show(text));
        expect(text.rows).toHaveLength(1);
        const row = text.rows[0]!.map((v) => (v === null ? null : v.toString('utf8')));
        expect(row.slice(0, 12)).toEqual(['-5', '18446744073709551615', '12.50', '0.5', 'héllo', null, '2024-02-29',
          '2024-02-29 23:59:59.123456', '2001-02-03 04:05:06', '-838:59:59', '12:00:00.5', '2024']);
        expect(text.rows[0]![12]).toEqual(Buffer.from([0x00, 0xff]));
      });

      it('several rows, a row limit, and no result set for OK and ERR', async () => {
        const r = readResultSet(await run(Buffer.from('\x03SELECT seq FROM seq_1_to_5')), { deprecateEof: dep, binary: false })!;
        expect(r.rows.map((x) => x[0]!.toString())).toEqual(['1', '2', '3', '4', '5']);
        const limited = readResultSet(await run(Buffer.from('\x03SELECT seq FROM seq_1_to_5')), { deprecateEof: dep, binary: false, maxRows: 2 })!;
        expect(limited.rows).toHaveLength(2);
        expect(readResultSet(await run(Buffer.from('\x03DO 1')), { deprecateEof: dep, binary: false })).toBeNull();
        expect(readResultSet(await run(Buffer.from('\x03SELECT * FROM no_such_table_x')), { deprecateEof: dep, binary: false })).toBeNull();
      });
    });
  }
});

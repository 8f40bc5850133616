// host/protocol/column-cache.ts on REAL replies from the machine's MariaDB on 127.0.0.1:3306
// with metadata caching (MARIADB_CLIENT_CACHE_METADATA): a reply whose column definitions the
// server skipped, completed with the definitions an earlier reply carried, must be byte for byte
// the reply the server sends when it does not skip them.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPackets, prepareColumnDefs, skipsColumns, withColumnDefs, withoutColumnDefs } from '../../host/protocol/column-cache.js';
import { Cap, MariaCap, PROXY_MARIA_CAPS } from '../../host/protocol/constants.js';
import { PayloadWriter } from '../../host/protocol/writer.js';
import { BASE_CAPS, RawMariadb } from './raw-mariadb-client.js';

const reachable = await new Promise<boolean>((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port: 3306 });
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/** COM_STMT_EXECUTE with one parameter: a BIGINT or a string. */
function execute(id: number, v: number | string): Buffer {
  const w = new PayloadWriter().u8(0x17).u32(id).u8(0).u32(1).u8(0).u8(1);
  if (typeof v === 'number') w.u8(0x08).u8(0).u32(v).u32(0);
  else w.u8(0xfd).u8(0).lenenc(Buffer.byteLength(v)).bytes(Buffer.from(v));
  return Buffer.from(w.payload());
}

describe.skipIf(!reachable)('metadata caching: skipped column definitions put back', () => {
  for (const dep of [false, true]) {
    describe(`DEPRECATE_EOF ${dep ? 'on' : 'off'}`, () => {
      let c: RawMariadb;
      beforeAll(async () => {
        c = await RawMariadb.connect({ database: 'test', caps: BASE_CAPS | (dep ? Cap.DEPRECATE_EOF : 0), mariaCaps: PROXY_MARIA_CAPS });
        expect(c.handshake.mariaCapabilities & MariaCap.CACHE_METADATA).toBeTruthy();
      });
      afterAll(() => c?.close());
      const run = async (payload: Buffer): Promise<Buffer> => {
        c.write(payload);
        return Buffer.concat(await c.collect(80));
      };

      it('a skipped reply completed equals the full one; the prepare reply gives the definitions', async () => {
        const prep = await run(Buffer.from('\x16SELECT ? AS a, 2 AS b, seq FROM seq_1_to_3'));
        const p = prepareColumnDefs(prep, dep)!;
        expect(p).not.toBeNull();
        expect(countPackets(p.defs!)).toBe(3);
        const full = await run(execute(p.id, 5)); // types differ from the prepare's: definitions sent
        expect(skipsColumns(full)).toBe(false);
        const skipped = await run(execute(p.id, 5));
        expect(skipsColumns(skipped)).toBe(true);
        expect(skipped.length).toBeLessThan(full.length);
        // The definitions as the full reply carried them (sequence ids 0), from its packets 2..4.
        let pos = 4 + full.readUIntLE(0, 3);
        const start = pos;
        for (let i = 0; i < 3; i++) pos += 4 + full.readUIntLE(pos, 3);
        const defs = Buffer.from(full.subarray(start, pos));
        for (let q = 0; q < defs.length; q += 4 + defs.readUIntLE(q, 3)) defs[q + 3] = 0;
        expect(withColumnDefs(Buffer.from(skipped), defs)).toEqual(full);
        // And back: the full reply without its definitions is the skipped one (transaction replay compares both forms).
        expect(withoutColumnDefs(Buffer.from(full))).toEqual(skipped);
        expect(withoutColumnDefs(Buffer.from(skipped))).toBeNull();
        // And a string parameter: new definitions, then skipped again.
        const full2 = await run(execute(p.id, 'abc'));
        expect(skipsColumns(full2)).toBe(false);
        const skipped2 = await run(execute(p.id, 'abc'));
        expect(skipsColumns(skipped2)).toBe(true);
        // The int definitions on the string reply would not give the string reply: the session
        // must use the definitions the connection last sent, which these tests pin down.
        expect(withColumnDefs(Buffer.from(skipped2), defs)).not.toEqual(full2);
      });

      it('a first execute whose columns match the prepare reply skips them; the prepare definitions complete it', async () => {
        const prep = await run(Buffer.from('\x16SELECT seq AS n, CONCAT(seq, \'x\') AS s FROM seq_1_to_4'));
        const p = prepareColumnDefs(prep, dep)!;
        const exec = Buffer.from(new PayloadWriter().u8(0x17).u32(p.id).u8(0).u32(1).payload());
        const skipped = await run(exec);
        expect(skipsColumns(skipped)).toBe(true);
        const whole = withColumnDefs(Buffer.from(skipped), p.defs!);
        // The same statement on a connection without caching sends the definitions: equal bytes
        // but for the column-count packet's extra byte.
        const plain = await RawMariadb.connect({ database: 'test', caps: BASE_CAPS | (dep ? Cap.DEPRECATE_EOF : 0), mariaCaps: PROXY_MARIA_CAPS & ~MariaCap.CACHE_METADATA });
        try {
          plain.write(Buffer.from('\x16SELECT seq AS n, CONCAT(seq, \'x\') AS s FROM seq_1_to_4'));
          const id = Buffer.concat(await plain.collect(80)).readUInt32LE(5);
          exec.writeUInt32LE(id, 1);
          plain.write(exec);
          const ref = Buffer.concat(await plain.collect(80));
          expect(whole.readUIntLE(0, 3)).toBe(2);
          expect(whole[5]).toBe(1);
          const dropFlag = Buffer.concat([Buffer.from([1, 0, 0, whole[3]!, whole[4]!]), whole.subarray(6)]);
          expect(dropFlag).toEqual(ref);
        } finally {
          await plain.close();
        }
      });

      it('leaves replies alone that skipped nothing: OK, ERR, text results', async () => {
        for (const sql of ['\x03DO 1', '\x03SELECT nope', '\x03SELECT 1 AS x']) {
          const r = await run(Buffer.from(sql));
          expect(skipsColumns(r)).toBe(false);
          expect(withColumnDefs(r, Buffer.alloc(0))).toBe(r);
          // A text result carries the flag (always 1) and its definitions: only it has another form.
          if (sql.startsWith('\x03SELECT 1')) expect(withoutColumnDefs(Buffer.from(r))!.length).toBeLessThan(r.length);
          else expect(withoutColumnDefs(r)).toBeNull();
        }
      });
    });
  }
});

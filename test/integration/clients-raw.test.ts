// Commands no connector exposes, spoken by a hand-written client (clients-raw-client.ts), with
// and without DEPRECATE_EOF: cursors (COM_STMT_FETCH), COM_FIELD_LIST, COM_SET_OPTION,
// COM_STMT_RESET/CLOSE, COM_PROCESS_KILL, COM_STATISTICS, pipelined commands mixing forwarded
// and proxy-answered ones. Every reply must be byte-identical to the direct one.
import { describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { both, useProxy } from './clients-helpers.js';
import { com, RawClient, type Packet } from './clients-raw-client.js';

const ports = useProxy();
const hex = (ps: Packet[]): string[] => ps.map((p) => `${p.seq}:${p.payload.toString('hex')}`);
const open = (port: number, deprecateEof: boolean): Promise<RawClient> =>
  RawClient.connect(port, { ...CREDENTIALS.app, database: 'test', deprecateEof });

describe.each([false, true])('raw protocol, DEPRECATE_EOF=%s', (deprecateEof) => {
  it('cursor: execute with a read-only cursor, fetch in batches, then proxy-answered commands', async () => {
    const out = await both(ports, async (port, via) => {
      const c = await open(port, deprecateEof);
      const t = `test.raw_cur_${via[0]}_${deprecateEof ? 1 : 0}`;
      const r: Record<string, unknown> = {};
      c.write(com.query(`CREATE OR REPLACE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(10))`));
      await c.result();
      c.write(com.query(`INSERT INTO ${t} SELECT seq, CONCAT('v', seq) FROM seq_1_to_10`));
      await c.result();
      const stmt = await c.prepare(`SELECT id, v FROM ${t} WHERE id > ? ORDER BY id`);
      // Statement ids come from a per-THD counter that survives in MariaDB's thread cache: not compared.
      r.prepare = [stmt.id > 0, hex(stmt.packets).length];
      c.write(com.stmtExecute(stmt.id, [2], 1));
      r.opened = hex(await c.result()).map((h) => h.slice(0, 6));
      const batches: number[] = [];
      r.fetches = [];
      for (let i = 0; i < 5; i++) {
        c.write(com.stmtFetch(stmt.id, 3));
        const rows = await c.rows();
        batches.push(rows.length - 1);
        (r.fetches as unknown[]).push(hex(rows));
        const last = rows[rows.length - 1]!;
        if (last.payload[0] === 0xff || c.statusOf(last) & 0x0080) break; // LAST_ROW_SENT
      }
      r.batches = batches;
      // Proxy-answered: waits until every earlier reply ended (the cursor replies included).
      c.write(com.processKill(4_000_000_000));
      r.processKill = hex(await c.rows()).map((h) => h.slice(0, 10));
      c.write(com.query('KILL QUERY 4000000001'));
      r.killQuery = hex(await c.result()).map((h) => h.slice(0, 10));
      c.write(com.stmtReset(stmt.id));
      r.reset = hex([await c.read()]);
      c.write(com.stmtExecute(stmt.id, [8]));
      r.again = hex(await c.result()).length;
      c.write(com.stmtClose(stmt.id));
      c.write(com.stmtExecute(stmt.id, [8]));
      // The message names the statement id: masked like the id itself.
      r.closed = hex(await c.result()).map((h) => h.replace(/28(3[0-9])+29/, "(N)"));
      c.write(com.query(`DROP TABLE ${t}`));
      await c.result();
      c.destroy();
      return r;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy.batches).toEqual([3, 3, 2]);
    expect(out.proxy.processKill).toEqual(['1:ff460423']); // 1094 = 0x0446
    expect((out.proxy.closed as string[])[0]).toMatch(/^1:ffdb04.*\(N\)/); // 1243 = 0x04db
  });

  it('COM_FIELD_LIST, COM_SET_OPTION, COM_PING, COM_STATISTICS, COM_QUIT', async () => {
    const out = await both(ports, async (port, via) => {
      const c = await open(port, deprecateEof);
      const t = `raw_fl_${via[0]}`; // same length both ways: the name is inside the replies
      const log: unknown[] = [];
      c.write(com.query(`CREATE OR REPLACE TABLE test.${t} (id INT PRIMARY KEY, name VARCHAR(20) DEFAULT 'x', d DATETIME(3))`));
      await c.result();
      c.write(com.fieldList(t));
      // Column definitions name the table: compare them with the name blanked out.
      log.push(hex(await c.rows()).map((h) => h.split(Buffer.from(t).toString('hex')).join('<t>')));
      c.write(com.fieldList('raw_no_such_table'));
      log.push(hex(await c.rows()));
      c.write(com.setOption(1)); // MULTI_STATEMENTS off
      log.push(hex([await c.read()]));
      c.write(com.query('SELECT 1; SELECT 2'));
      log.push(hex(await c.result()).map((h) => h.slice(0, 10)));
      c.write(com.setOption(0)); // back on
      log.push(hex([await c.read()]));
      c.write(com.query('SELECT 1; SELECT 2'));
      log.push(hex(await c.result()));
      c.write(com.ping());
      log.push(hex([await c.read()]));
      c.write(com.statistics());
      log.push((await c.read()).payload.toString().replace(/\d+(\.\d+)?/g, 'N'));
      c.write(com.query(`DROP TABLE test.${t}`));
      await c.result();
      c.write(com.quit());
      log.push(await c.closed());
      return log;
    });
    expect(out.proxy).toEqual(out.direct);
    expect((out.proxy[3] as string[])[0]).toMatch(/^1:ff2804/); // 1064 = 0x0428
    expect(out.proxy[7]).toMatch(/^Uptime: N {2}Threads: N/);
    expect(out.proxy[8]).toBe(true);
  });

  it('the server ending an idle session (wait_timeout) looks the same through the proxy', async () => {
    const out = await both(ports, async (port) => {
      const c = await open(port, deprecateEof);
      c.write(com.query('SET SESSION wait_timeout = 1'));
      await c.result();
      const closed = await c.closed(10_000);
      return { closed, reason: c.closeReason };
    });
    expect(out.proxy).toEqual(out.direct);
    // MariaDB 10.11 sends no ERR first (MySQL 8's 4031); it resets the connection.
    expect(out.proxy).toEqual({ closed: true, reason: 'ECONNRESET' });
  });

  it('pipelined commands: forwarded and proxy-answered ones keep their order', async () => {
    const out = await both(ports, async (port) => {
      const c = await open(port, deprecateEof);
      const self = c.connectionId;
      c.writeMany([
        com.query('SELECT 1 AS a'),
        com.query('KILL QUERY 4000000002'),
        com.query('SELECT SLEEP(0.2) AS s, 2 AS b'),
        com.processKill(4_000_000_003),
        com.query('SELECT 3 AS c; SELECT 4 AS d'),
        com.ping(),
        com.query(`KILL QUERY ${self}`),
        com.query('SELECT 5 AS e'),
      ]);
      const replies = [
        hex(await c.result()), hex(await c.result()), hex(await c.result()), hex(await c.rows()),
        hex(await c.result()), hex([await c.read()]), hex(await c.result()), hex(await c.result()),
      ];
      c.destroy();
      return replies;
    });
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy.map((r) => r.length)).toEqual(deprecateEof ? [4, 1, 5, 1, 8, 1, 1, 4] : [5, 1, 6, 1, 10, 1, 1, 5]);
    // KILL QUERY of its own id: 1317, after the OK of the PING sent before it.
    expect(out.proxy[6]![0]).toMatch(/^1:ff2505/);
  });
});

// KILL through the proxy: the ids clients see are the proxy's session ids, so KILL [QUERY] <id>
// is answered by the proxy, which kills the matching backend thread — also when the two
// sessions live on different worker processes. Outcomes are compared with MariaDB directly.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { errOf, mariaConn, mysqlConn, type ErrInfo } from './clients-helpers.js';

let single: TestProxy;
let multi: TestProxy;
let direct: number;

beforeAll(async () => {
  const t = sharedTopology();
  direct = t.primary.port;
  [single, multi] = await Promise.all([
    startTestProxy({ servers: [{ name: 'primary', port: t.primary.port }] }),
    startTestProxy({ servers: [{ name: 'primary', port: t.primary.port }], workers: 2 }),
  ]);
});
afterAll(async () => Promise.all([single?.stop(), multi?.stop()]));

interface KillOutcome {
  sleep: ErrInfo | 'completed';
  killReply: ErrInfo | null;
  fast: boolean;
  after: unknown;
}

/** A sleeps, B kills (QUERY or CONNECTION) A's id as A's client sees it. */
async function killWhileSleeping(port: number, query: boolean): Promise<KillOutcome & { ids: number[] }> {
  const a = await mysqlConn(port);
  const b = await mysqlConn(port);
  a.on('error', () => {});
  const id = a.threadId!;
  const started = Date.now();
  const [sql, marker] = sleepSql();
  const sleeping = a.query(sql).then(() => 'completed' as const, (e: { errno?: number; sqlState?: string }) => ({ errno: e.errno, sqlState: e.sqlState }));
  await waitRunning(marker);
  const killReply = await errOf(b.query(`KILL ${query ? 'QUERY ' : ''}${id}`));
  const sleep = await sleeping;
  const fast = Date.now() - started < 15_000;
  const after = await a.query('SELECT 1 AS alive').then(([r]) => r, (e: { errno?: number; code?: string }) => e.errno ?? e.code);
  a.destroy();
  await b.end();
  return { sleep, killReply, fast, after, ids: [id, b.threadId!] };
}

/** Waits until a statement carrying `marker` runs on the primary (a fixed delay races on a busy machine). */
async function waitRunning(marker: string): Promise<void> {
  const root = await mysqlConn(direct, { user: 'root', password: '' });
  try {
    for (let i = 0; i < 200; i++) {
      const [rows] = await root.query<mysql.RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, '%') AND INFO NOT LIKE '%PROCESSLIST%'", [marker]);
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`statement ${marker} never started`);
  } finally {
    await root.end();
  }
}

let markers = 0;
const sleepSql = (): [string, string] => {
  const marker = `kill-test-${process.pid}-${++markers}`;
  return [`SELECT SLEEP(30) AS s /* ${marker} */`, marker];
};

const strip = ({ ids: _ids, ...rest }: KillOutcome & { ids: number[] }): KillOutcome => rest;

describe('KILL', () => {
  it('KILL QUERY interrupts a SLEEP on another session; the session goes on', async () => {
    const d = await killWhileSleeping(direct, true);
    const p = await killWhileSleeping(single.port, true);
    expect(strip(p)).toEqual(strip(d));
    expect(strip(p)).toEqual({ sleep: { errno: 1317, sqlState: '70100' }, killReply: null, fast: true, after: [{ alive: 1 }] });
  });

  it('KILL <id> ends the other session', async () => {
    const d = await killWhileSleeping(direct, false);
    const p = await killWhileSleeping(single.port, false);
    expect(strip(p)).toEqual(strip(d));
    expect(p.killReply).toBeNull();
    expect(p.fast).toBe(true);
    expect(p.after).not.toEqual([{ alive: 1 }]);
  });

  it('KILL of an idle session, of an unknown id, and of oneself', async () => {
    const scenario = async (port: number): Promise<unknown[]> => {
      const a = await mysqlConn(port);
      const b = await mysqlConn(port);
      a.on('error', () => {});
      b.on('error', () => {});
      const res: unknown[] = [];
      res.push(await errOf(b.query(`KILL QUERY ${a.threadId}`)));
      res.push((await a.query('SELECT 2 AS alive'))[0]);
      res.push(await errOf(b.query(`KILL CONNECTION ${a.threadId}`)));
      await new Promise((r) => setTimeout(r, 200));
      res.push(await a.query('SELECT 3').then(() => 'alive', () => 'gone'));
      res.push(await errOf(b.query('KILL 4000000000')), await errOf(b.query('KILL QUERY 4000000001')));
      res.push(await errOf(b.query(`KILL ${b.threadId}`)));
      res.push(await b.query('SELECT 4').then(() => 'alive', () => 'gone'));
      a.destroy();
      b.destroy();
      return res;
    };
    const d = await scenario(direct);
    const p = await scenario(single.port);
    expect(p).toEqual(d);
    expect(p).toEqual([null, [{ alive: 2 }], null, 'gone', { errno: 1094, sqlState: 'HY000' }, { errno: 1094, sqlState: 'HY000' }, { errno: 1927, sqlState: '70100' }, 'gone']);
  });

  it('mariadb connector: KILL QUERY by its threadId', async () => {
    const scenario = async (port: number): Promise<unknown[]> => {
      const a = await mariaConn(port);
      const b = await mariaConn(port);
      const [sql, marker] = sleepSql();
      const sleeping = a.query(sql).then(() => 'completed', (e: { errno: number }) => e.errno);
      await waitRunning(marker);
      await b.query(`KILL QUERY ${a.threadId}`);
      const res = [await sleeping, await a.query('SELECT 5 AS alive')];
      await a.end();
      await b.end();
      return res;
    };
    const d = await scenario(direct);
    const p = await scenario(single.port);
    expect(p).toEqual(d);
    expect(p).toEqual([1317, [{ alive: 5 }]]);
  });

  it('workers: 2 — KILL QUERY and KILL across worker processes', async () => {
    // Consecutive connections go to the least loaded worker: keep opening until the killer
    // and the victim are owned by different workers (the low bits of an id name the worker).
    const owner = (c: mysql.Connection): number => c.threadId! & 63;
    const conns: mysql.Connection[] = [];
    let a: mysql.Connection | undefined, b: mysql.Connection | undefined;
    for (let i = 0; i < 6 && !(a && b); i++) {
      const c = await mysqlConn(multi.port);
      c.on('error', () => {});
      conns.push(c);
      if (!a) a = c;
      else if (owner(c) !== owner(a)) b = c;
    }
    expect(a && b).toBeTruthy();
    const started = Date.now();
    const [sql, marker] = sleepSql();
    const sleeping = a!.query(sql).then(() => 'completed', (e: { errno: number }) => e.errno);
    await waitRunning(marker);
    expect(await errOf(b!.query(`KILL QUERY ${a!.threadId}`))).toBeNull();
    expect(await sleeping).toBe(1317);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await a!.query('SELECT 6 AS alive'))[0]).toEqual([{ alive: 6 }]);
    expect(await errOf(b!.query(`KILL ${a!.threadId}`))).toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    expect(await a!.query('SELECT 7').then(() => 'alive', () => 'gone')).toBe('gone');
    // An id that no worker owns, whatever its worker bits.
    expect(await errOf(b!.query(`KILL ${(a!.threadId! & ~63) + 62}`))).toEqual({ errno: 1094, sqlState: 'HY000' });
    for (const c of conns) c.destroy();
  });
});

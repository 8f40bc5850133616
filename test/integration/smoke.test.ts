import mysql from 'mysql2/promise';
import * as mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from '../harness/credentials.js';
import { startTestProxy, type TestProxy } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';

let proxy: TestProxy;
beforeAll(async () => {
  const t = sharedTopology();
  proxy = await startTestProxy({ servers: [{ name: 'primary', port: t.primary.port }] });
});
afterAll(async () => proxy?.stop());

describe('smoke', () => {
  it('mysql2 text, prepared, multi-statement', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'test', multipleStatements: true });
    const [rows] = await c.query('SELECT 1 AS a, @@server_id AS sid');
    expect(rows).toEqual([{ a: 1, sid: 1 }]);
    const [prep] = await c.execute('SELECT ? + 1 AS b', [41]);
    expect(prep).toEqual([{ b: 42 }]);
    const [multi] = await c.query('SELECT 1 AS x; SELECT 2 AS y');
    expect(multi).toEqual([[{ x: 1 }], [{ y: 2 }]]);
    await c.end();
  });
  it('mariadb connector with pipelining', async () => {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, ...CREDENTIALS.app, database: 'test' });
    const rows = await Promise.all([1, 2, 3].map((i) => c.query('SELECT ? AS v', [i])));
    expect(rows.map((r) => r[0].v)).toEqual([1, 2, 3]);
    const ps = await c.execute('SELECT ? AS v', [7]);
    expect(ps[0].v).toBe(7);
    await c.end();
  });
  it('wrong password gets 1045/28000', async () => {
    const err = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'app', password: 'nope' }).catch((e: unknown) => e);
    expect((err as { errno: number }).errno).toBe(1045);
    expect((err as { sqlState: string }).sqlState).toBe('28000');
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../host/config/load.js';

const BASE = `
servers:
  db1: { address: 10.0.0.1 }
  db2: { address: 10.0.0.2, weight: 3 }
  db3: { address: 10.0.0.3 }
monitors:
  mon: { module: mariadbmon, servers: [db1, db2], user: mon }
services:
  main: { servers: [db1, db2], user: svc, monitor: mon }
listeners:
  main: { service: main, port: 4006 }
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('monitors config', () => {
  it('applies MaxScale defaults and keeps weights', () => {
    const c = parseConfig(BASE, 'test.yaml');
    expect(c.monitors.mon).toEqual({
      name: 'mon', module: 'mariadbmon', servers: ['db1', 'db2'], user: 'mon', password: '',
      monitor_interval: 2000, backend_connect_timeout: 3000, backend_read_timeout: 3000,
      backend_connect_attempts: 1, failcount: 5, detect_stale_slave: true, detect_standalone_master: true,
      assume_unique_hostnames: true, ignore_external_masters: false,
    });
    expect(c.services.main!.monitor).toBe('mon');
    expect(c.servers.db1!.weight).toBe(1);
    expect(c.servers.db2!.weight).toBe(3);
  });

  it('is optional', () => {
    const c = parseConfig(BASE.replace(/monitors:\n.*\n/, '').replace(', monitor: mon', ''), 'test.yaml');
    expect(c.monitors).toEqual({});
    expect(c.services.main!.monitor).toBeUndefined();
  });

  it('parses durations and flags', () => {
    const c = parseConfig(BASE.replace('user: mon }', 'user: mon, monitor_interval: 200ms, backend_connect_timeout: 1, failcount: 0, detect_stale_slave: false }'), 't.yaml');
    expect(c.monitors.mon).toMatchObject({ monitor_interval: 200, backend_connect_timeout: 1000, failcount: 0, detect_stale_slave: false });
  });

  it('reports an unknown monitor of a service', () => {
    expect(problems(BASE.replace('monitor: mon', 'monitor: mom'))).toEqual([
      'test.yaml:9:52 services.main.monitor: unknown monitor "mom" (defined monitors: mon)',
    ]);
    expect(problems(BASE.replace(/monitors:\n.*\n/, ''))).toEqual([
      'test.yaml:7:52 services.main.monitor: unknown monitor "mon" (no monitors are defined)',
    ]);
  });

  it('reports unknown, repeated and doubly monitored servers', () => {
    const p = problems(BASE.replace('servers: [db1, db2], user: mon }', 'servers: [db1, db9, db1], user: mon }\n  mon2: { module: mariadbmon, servers: [db1, db3], user: mon }')
      .replace('servers: [db1, db2], user: svc', 'servers: [db1], user: svc'));
    expect(p).toEqual([
      'test.yaml:7:45 monitors.mon.servers[1]: unknown server "db9" (defined servers: db1, db2, db3)',
      'test.yaml:7:50 monitors.mon.servers[2]: server "db1" is listed twice',
      'test.yaml:8:41 monitors.mon2.servers[0]: server "db1" is already monitored by monitor "mon" (a server has one monitor)',
    ]);
  });

  it("reports a service server its monitor does not monitor", () => {
    expect(problems(BASE.replace('servers: [db1, db2], user: svc', 'servers: [db1, db3], user: svc'))).toEqual([
      'test.yaml:9:26 services.main.servers[1]: server "db3" is not monitored by monitor "mon" (its servers: db1, db2)',
    ]);
  });

  it('reports bad values with MaxScale names', () => {
    const p = problems(BASE.replace('module: mariadbmon', 'module: galeramon').replace('user: mon }', 'user: mon, monitor_interval: 10ms, failcunt: 3 }'));
    expect(p).toEqual([
      'test.yaml:7:18 monitors.mon.module: expected one of mariadbmon, got "galeramon"',
      expect.stringMatching(/monitors\.mon\.monitor_interval: must be at least 50ms, got "10ms"$/),
      expect.stringMatching(/monitors\.mon\.failcunt: unknown key "failcunt" \(did you mean "failcount"\?\)$/),
    ]);
    expect(problems(BASE.replace('weight: 3', 'weight: -1'))[0]).toMatch(/servers\.db2\.weight: expected an integer between 0 and 1000000, got -1$/);
    expect(problems(BASE.replace('monitors:\n  mon:', 'monitors:\n  "m on":'))[0]).toMatch(/monitors\["m on"\]: invalid name/);
  });
});

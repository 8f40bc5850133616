import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../host/config/load.js';
import { isRuntimeParameter, RUNTIME_PARAMETERS } from '../../host/config/runtime.js';

const MINIMAL = `
servers:
  db1: { address: 10.0.0.1 }
services:
  main: { servers: [db1], user: svc }
listeners:
  main: { service: main, port: 4006 }
`;

/** The problems parseConfig reports for `text` (fails the test if it accepts it). */
function problems(text: string, file = 'test.yaml'): string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.message).toBe(err.problems.join('\n'));
      return err.problems;
    }
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies defaults and normalizes', () => {
    const c = parseConfig(MINIMAL, 'test.yaml');
    expect(c.workers).toBeGreaterThanOrEqual(1); // auto = CPU count
    expect(c.log).toEqual({ level: 'info', format: 'auto' });
    expect(c.admin).toEqual({ enabled: true, host: '127.0.0.1', port: 8989 });
    expect(c.servers.db1).toEqual({ name: 'db1', address: '10.0.0.1', port: 3306, weight: 1 });
    expect(c.services.main).toEqual({
      name: 'main',
      router: 'first-available',
      servers: ['db1'],
      user: 'svc',
      password: '',
      users_refresh_interval: 30_000,
      users_refresh_min_interval: 1000,
      idle_timeout: 0,
      net_read_timeout: 30_000,
      max_allowed_packet: 64 * 1024 * 1024,
      connect_timeout: 3000,
      filters: [],
      transaction_replay: false,
      transaction_replay_max_size: 1024 ** 2,
      transaction_replay_attempts: 5,
      transaction_replay_timeout: 30_000,
      transaction_replay_safe_commit: true,
      causal_reads: 'none',
      causal_reads_timeout: 10_000,
      master_reconnection: false,
      delayed_retry: false,
      delayed_retry_timeout: 10_000,
      refresh_interval: 300_000,
      refresh_min_interval: 1000,
    });
    expect(c.listeners.main).toEqual({
      name: 'main', service: 'main', host: '127.0.0.1', port: 4006, handshake_timeout: 10_000,
    });
  });

  it('parses durations and sizes', () => {
    const c = parseConfig(
      `${MINIMAL}
workers: 0
log: { level: debug, format: json }
`.replace(
        'user: svc }',
        `user: svc, password: "0123", users_refresh_interval: 5m, users_refresh_min_interval: 250ms,
          idle_timeout: 1h, net_read_timeout: 1.5, max_allowed_packet: 16k, connect_timeout: "2" }`,
      ),
      'test.yaml',
    );
    expect(c.workers).toBe(0);
    expect(c.log).toEqual({ level: 'debug', format: 'json' });
    const s = c.services.main!;
    expect(s.password).toBe('0123');
    expect(s.users_refresh_interval).toBe(300_000);
    expect(s.users_refresh_min_interval).toBe(250);
    expect(s.idle_timeout).toBe(3_600_000);
    expect(s.net_read_timeout).toBe(1500);
    expect(s.max_allowed_packet).toBe(16 * 1024);
    expect(s.connect_timeout).toBe(2000);

    for (const [text, bytes] of [['64M', 64 * 2 ** 20], ['64MiB', 64 * 2 ** 20], ['1G', 2 ** 30], ['2048', 2048]] as const) {
      const c2 = parseConfig(MINIMAL.replace('user: svc }', `user: svc, max_allowed_packet: ${text} }`), 't.yaml');
      expect(c2.services.main!.max_allowed_packet).toBe(bytes);
    }
  });

  it('reports an unknown key with its path, line and a hint', () => {
    const p = problems(MINIMAL.replace('user: svc }', 'user: svc, idle_timout: 5s }'));
    expect(p).toEqual([
      'test.yaml:5:38 services.main.idle_timout: unknown key "idle_timout" (did you mean "idle_timeout"?)',
    ]);
    expect(problems(`${MINIMAL}lsteners: {}\n`)).toEqual([
      'test.yaml:8:1 lsteners: unknown key "lsteners" (did you mean "listeners"?)',
    ]);
  });

  it('reports bad values with line:col and what was found', () => {
    const p = problems(MINIMAL.replace('port: 4006', 'port: abc'));
    expect(p).toEqual(['test.yaml:7:32 listeners.main.port: expected an integer between 1 and 65535, got "abc"']);
    expect(problems(MINIMAL.replace('user: svc }', 'user: svc, max_allowed_packet: 12 }'))[0]).toMatch(
      /services\.main\.max_allowed_packet: must be between 1KiB and 1GiB, got 12$/,
    );
    expect(problems(MINIMAL.replace('user: svc }', 'user: svc, password: 1234 }'))[0]).toMatch(
      /services\.main\.password: expected a string, got 1234/,
    );
  });

  it('reports a missing required key at its parent', () => {
    expect(problems(MINIMAL.replace('user: svc ', ''))).toEqual(['test.yaml:5:9 services.main.user: required']);
  });

  it('reports an unknown server', () => {
    const text = MINIMAL.replace('db1: { address: 10.0.0.1 }', 'db1: { address: a }\n  db2: { address: b }').replace(
      'servers: [db1]',
      'servers: [db1, db9]',
    );
    expect(problems(text)).toEqual([
      'test.yaml:6:26 services.main.servers[1]: unknown server "db9" (defined servers: db1, db2)',
    ]);
  });

  it('reports an unknown service', () => {
    expect(problems(MINIMAL.replace('service: main', 'service: mian'))).toEqual([
      'test.yaml:7:20 listeners.main.service: unknown service "mian" (defined services: main)',
    ]);
  });

  it('reports two listeners on one address, including a wildcard and the admin port', () => {
    const p = problems(`${MINIMAL}  b: { service: main, host: 0.0.0.0, port: 4006 }\n  c: { service: main, port: 8989 }\n`);
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^test\.yaml:8:\d+ listeners\.b\.port: address 0\.0\.0\.0:4006 is already used by listener "main"/);
    expect(p[1]).toMatch(/^test\.yaml:9:\d+ listeners\.c\.port: address 127\.0\.0\.1:8989 is already used by the admin endpoint/);
  });

  it('reports several problems together, in file order', () => {
    const p = problems(`
workers: many
servers:
  "db 1": { address: 10.0.0.1, prot: 3306 }
services:
  main: { servers: [db1], user: svc, router: magic }
listeners:
  main: { service: nope, port: 70000 }
`);
    expect(p).toEqual([
      'test.yaml:2:10 workers: expected "auto" or an integer >= 0, got "many"',
      'test.yaml:4:3 servers["db 1"]: invalid name "db 1": a name starts with a letter and has only letters, digits, "_", "." and "-"',
      'test.yaml:4:32 servers["db 1"].prot: unknown key "prot" (did you mean "port"?)',
      'test.yaml:6:21 services.main.servers[0]: unknown server "db1" (defined servers: db 1)',
      'test.yaml:6:46 services.main.router: unknown router "magic" (available: first-available)',
      'test.yaml:8:20 listeners.main.service: unknown service "nope" (defined services: main)',
      'test.yaml:8:32 listeners.main.port: expected an integer between 1 and 65535, got 70000',
    ]);
  });

  it('reports missing sections and an empty file', () => {
    expect(problems('log: { level: info }\n')).toEqual([
      'test.yaml:1:1 servers: required',
      'test.yaml:1:1 services: required',
      'test.yaml:1:1 listeners: required',
    ]);
    expect(problems('# nothing\n')).toEqual(['test.yaml: the file is empty']);
  });

  it('reports YAML syntax errors with line and column', () => {
    const p = problems('servers:\n  db1: { address: a\nservices: {}\n');
    expect(p.length).toBeGreaterThan(0);
    expect(p[0]).toMatch(/^test\.yaml:\d+:\d+ YAML syntax error: /);
    expect(problems('a: 1\na: 2\n')[0]).toMatch(/^test\.yaml:2:1 YAML syntax error: .*unique/);
  });
});

describe('config files', () => {
  it("loads the repository's wasmscale.yaml", () => {
    const c = loadConfigFile(fileURLToPath(new URL('../../wasmscale.yaml', import.meta.url)));
    expect(c.listeners.main).toMatchObject({ host: '127.0.0.1', port: 4006, service: 'main' });
    expect(c.servers.db1).toMatchObject({ address: '127.0.0.1', port: 3306 });
    expect(c.services.main).toMatchObject({ user: 'root', password: '', servers: ['db1'] });
    expect(c.admin).toEqual({ enabled: true, host: '127.0.0.1', port: 8989 });
  });

  it('names an unreadable file', () => {
    expect(() => loadConfigFile('/nonexistent/w.yaml')).toThrow('/nonexistent/w.yaml: cannot read the file: no such file');
  });
});

describe('RUNTIME_PARAMETERS', () => {
  it('matches concrete paths, including names with dots', () => {
    expect(RUNTIME_PARAMETERS.has('log.level')).toBe(true);
    expect(isRuntimeParameter('services.main.idle_timeout')).toBe(true);
    expect(isRuntimeParameter('services.app.v2.max_allowed_packet')).toBe(true);
    expect(isRuntimeParameter('listeners.main.port')).toBe(false);
    expect(isRuntimeParameter('workers')).toBe(false);
  });
});

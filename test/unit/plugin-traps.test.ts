// Traps, failure policy and quarantine (sdk/ABI.md §9) with a plugin that fails on request:
// a trap fails only its call, the instance is replaced at once and learns the live sessions
// again, fail_open / fail_closed decide the failed call, repeated traps quarantine the plugin.
import { pino, type Logger } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PluginLimits } from '../../host/config/index.js';
import { PluginTestKit, type TestServer } from '../../host/plugins/testkit.js';
import { fixturePlugin } from './plugin-fixtures.js';

const SERVERS: TestServer[] = [
  { name: 'db1', role: 'primary', state: 'up' },
  { name: 'db2', role: 'replica', state: 'up' },
];

let probe: string;
beforeAll(async () => {
  probe = await fixturePlugin('probe-router');
});

function capture(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function kit(limits: Partial<PluginLimits> = {}, log?: Logger): Promise<PluginTestKit> {
  return PluginTestKit.load(probe, { servers: SERVERS, limits: { cpu_budget: 5, ...limits }, ...(log ? { log } : {}) });
}

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('a trap fails only its call', () => {
  it('fail_open: the trapped statement stays on the current server; the next one is served by a fresh instance that knows the session', async () => {
    const k = await kit({ failure_policy: 'fail_open' });
    try {
      const a = k.startSession({ user: 'pick:1' });
      const b = k.startSession({ user: 'pick:0' });
      expect(k.route(a, 'TRAP')).toEqual({ kind: 'server', server: 'db2' });
      expect(k.metrics()).toMatchObject({ plugin__traps: 1, plugin__policy_decisions: 1 });
      // Synchronous recovery: the spare took over, and was told about both live sessions.
      expect(k.route(a, 'SESSION?')).toEqual({ kind: 'error', message: 'known:1' });
      expect(k.route(b, 'SESSION?')).toEqual({ kind: 'error', message: 'known:0' });
      expect(k.route(b, 'ROUTE 1')).toEqual({ kind: 'server', server: 'db2' });
      expect(k.metrics().plugin__policy_decisions).toBe(1);
      expect(k.router.quarantined).toBe(false);
    } finally {
      k.close();
    }
  });

  it('fail_closed: the trapped statement gets an error, the session goes on', async () => {
    const k = await kit({ failure_policy: 'fail_closed' });
    try {
      const s = k.startSession();
      expect(k.route(s, 'TRAP')).toEqual({ kind: 'error', message: 'router plugin plugin failed; statement refused (failure_policy: fail_closed)' });
      expect(k.route(s, 'SELECT 1')).toEqual({ kind: 'server', server: 'db1' });
    } finally {
      k.close();
    }
  });

  it('a trap at session start: fail_open uses the host order, fail_closed refuses the session', async () => {
    const open = await kit({ failure_policy: 'fail_open' });
    const closed = await kit({ failure_policy: 'fail_closed' });
    try {
      expect(open.startSession({ user: 'trap' }).servers).toEqual(['db1', 'db2']);
      expect(closed.startSession({ user: 'trap' }).refusal).toBe('router plugin plugin failed; session refused (failure_policy: fail_closed)');
      expect(open.startSession({ user: 'pick:1' }).servers).toEqual(['db2']);
    } finally {
      open.close();
      closed.close();
    }
  });

  it("abort() in the plugin is logged with its message and handled as a trap", async () => {
    const { log, lines } = capture();
    const k = await kit({}, log);
    try {
      const s = k.startSession();
      expect(k.route(s, 'ABORT')).toEqual({ kind: 'server', server: 'db1' });
      const logged = lines();
      expect(logged.some((l) => typeof l.msg === 'string' && l.msg.startsWith('abort: probe abort at ') && l.plugin === 'plugin')).toBe(true);
      expect(logged.some((l) => l.msg === 'plugin trapped; the call failed and the instance is replaced' && l.hook === 'route')).toBe(true);
      expect(k.route(s, 'ROUTE 1')).toEqual({ kind: 'server', server: 'db2' });
    } finally {
      k.close();
    }
  });

  it('an endless loop runs out of CPU budget and traps within about the budget', async () => {
    const { log, lines } = capture();
    const k = await kit({ cpu_budget: 5 }, log);
    try {
      const s = k.startSession();
      const started = performance.now();
      expect(k.route(s, 'SPIN')).toEqual({ kind: 'server', server: 'db1' });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(lines().some((l) => l.kind === 'fuel')).toBe(true);
      expect(k.route(s, 'ROUTE 1')).toEqual({ kind: 'server', server: 'db2' });
    } finally {
      k.close();
    }
  });

  it('allocating without end stops at the memory maximum and traps', async () => {
    const k = await kit({ cpu_budget: 2000 });
    try {
      const s = k.startSession();
      expect(k.route(s, 'GROW')).toEqual({ kind: 'server', server: 'db1' });
      expect(k.metrics().plugin__traps).toBe(1);
      expect(k.route(s, 'ROUTE 1')).toEqual({ kind: 'server', server: 'db2' });
    } finally {
      k.close();
    }
  });

  it('a new spare is made after each replacement, so later traps recover too', async () => {
    const k = await kit({ max_traps: 100 });
    try {
      const s = k.startSession();
      for (let i = 0; i < 4; i++) {
        expect(k.route(s, 'TRAP')).toEqual({ kind: 'server', server: 'db1' });
        // Give the background spare time to be made, then the plugin answers again.
        await until(() => {
          const d = k.route(s, 'SESSION?');
          return d.kind === 'error' && d.message === 'known:0';
        });
      }
      expect(k.metrics().plugin__traps).toBe(4);
    } finally {
      k.close();
    }
  });
});

describe('quarantine', () => {
  it('max_traps within trap_window quarantine the plugin: it is no longer called and the policy decides', async () => {
    const { log, lines } = capture();
    const k = await kit({ max_traps: 3, trap_window: 60_000, failure_policy: 'fail_closed' }, log);
    try {
      const s = k.startSession();
      for (let i = 0; i < 3; i++) {
        k.route(s, 'TRAP');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(k.router.quarantined).toBe(true);
      const calls = k.metrics().plugin__calls;
      expect(k.route(s, 'SELECT 1')).toEqual({ kind: 'error', message: 'router plugin plugin failed; statement refused (failure_policy: fail_closed)' });
      expect(k.startSession().refusal).toMatch(/fail_closed/);
      expect(k.metrics().plugin__calls).toBe(calls);
      expect(lines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('plugin quarantined') && /3 traps within 60000 ms/.test(String(l.reason)))).toBe(true);
    } finally {
      k.close();
    }
  });

  it('traps spread wider than trap_window do not quarantine', async () => {
    const k = await kit({ max_traps: 2, trap_window: 50 });
    try {
      const s = k.startSession();
      k.route(s, 'TRAP');
      await new Promise((r) => setTimeout(r, 120));
      k.route(s, 'TRAP');
      expect(k.router.quarantined).toBe(false);
    } finally {
      k.close();
    }
  });
});

describe('host functions', () => {
  it('log lines carry the plugin name; metrics are counted per plugin', async () => {
    const { log, lines } = capture();
    const k = await kit({}, log);
    try {
      const s = k.startSession();
      k.route(s, 'LOG hello');
      expect(lines().some((l) => l.msg === 'probe says LOG hello' && l.plugin === 'plugin')).toBe(true);
      expect(k.metrics().plugin_routes).toBe(1);
    } finally {
      k.close();
    }
  });

  it('a flood of log lines is rate-limited', async () => {
    const { log, lines } = capture();
    const k = await kit({}, log);
    try {
      const s = k.startSession();
      for (let i = 0; i < 500; i++) k.route(s, 'LOG flood');
      const flood = lines().filter((l) => l.msg === 'probe says LOG flood').length;
      expect(flood).toBeGreaterThanOrEqual(100);
      expect(flood).toBeLessThan(150);
    } finally {
      k.close();
    }
  });
});

// The `plugins` section of wasmscale.yaml and `services.<name>.router` naming a plugin.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isRuntimeParameter, loadConfigFile, parseConfig } from '../../host/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmscale-plugin-config-'));
writeFileSync(join(dir, 'rcr.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));

function yaml(plugins: string, router = 'rcr'): string {
  return `
servers:
  db1: { address: 127.0.0.1 }
${plugins}
services:
  main: { servers: [db1], user: svc, router: ${router} }
listeners:
  main: { service: main, port: 4406 }
`;
}

function problems(text: string): string[] {
  try {
    parseConfig(text, join(dir, 'test.yaml'));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.replaceAll(`${dir}/`, ''));
    throw err;
  }
  return [];
}

describe('plugins in the configuration', () => {
  it('a plugin router: file relative to the config file, config passed through, limits defaulted', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, yaml(`plugins:
  rcr:
    file: rcr.wasm
    config: { router_options: [master, slave], max_replication_lag: 10s }`));
    const c = loadConfigFile(file);
    expect(c.plugins.rcr).toEqual({
      name: 'rcr',
      file: join(dir, 'rcr.wasm'),
      config: { router_options: ['master', 'slave'], max_replication_lag: '10s' },
      limits: { memory: 16 * 1024 * 1024, cpu_budget: 5, failure_policy: 'fail_open', max_traps: 5, trap_window: 60_000 },
      options: 'ignorecase',
      watch: false,
    });
    expect(c.services.main!.router).toBe('rcr');
  });

  it('limits in the operator\'s units', () => {
    const c = parseConfig(yaml(`plugins:
  rcr:
    file: ${join(dir, 'rcr.wasm')}
    limits: { memory: 4MiB, cpu_budget: 20ms, fuel: 5000000, failure_policy: fail_closed, max_traps: 2, trap_window: 5m }`), 'x.yaml');
    expect(c.plugins.rcr!.limits).toEqual({ memory: 4 * 1024 * 1024, cpu_budget: 20, fuel: 5_000_000, failure_policy: 'fail_closed', max_traps: 2, trap_window: 300_000 });
  });

  it('no plugins: an empty section, and the built-in router still works', () => {
    const c = parseConfig(yaml('', 'first-available'), 'x.yaml');
    expect(c.plugins).toEqual({});
  });

  it('reports unknown routers with what is available, missing files, bad limits and names', () => {
    expect(problems(yaml(`plugins:
  rcr: { file: nope.wasm, limits: { failure_policy: fail-open, memory: lots } }
  first-available: { file: rcr.wasm }`, 'RCR'))).toEqual([
      'test.yaml:5:16 plugins.rcr.file: no such file: nope.wasm',
      'test.yaml:5:53 plugins.rcr.limits.failure_policy: expected one of fail_open, fail_closed, got "fail-open"',
      'test.yaml:5:72 plugins.rcr.limits.memory: expected a size (bytes, or e.g. "16k", "64M", "64MiB", "1G"), got "lots"',
      'test.yaml:6:3 plugins.first-available: "first-available" is the name of a built-in router; call the plugin something else',
      'test.yaml:8:46 services.main.router: unknown router "RCR" (did you mean "rcr"?) (available: first-available, rcr)',
    ]);
    expect(problems(yaml('', 'magic'))).toEqual(['test.yaml:6:46 services.main.router: unknown router "magic" (available: first-available)']);
  });

  it('plugin limits that may change at runtime', () => {
    expect(isRuntimeParameter('plugins.rcr.limits.failure_policy')).toBe(true);
    expect(isRuntimeParameter('plugins.rcr.limits.cpu_budget')).toBe(true);
    expect(isRuntimeParameter('plugins.rcr.limits.memory')).toBe(false);
    expect(isRuntimeParameter('plugins.rcr.file')).toBe(false);
    expect(isRuntimeParameter('services.main.router')).toBe(false);
  });
});

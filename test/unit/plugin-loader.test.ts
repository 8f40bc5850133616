// Loading and validating plugin modules (sdk/ABI.md §2–§4): what is refused, and that every
// refusal names the plugin and says why. Modules are hand-written (plugin-wat.ts) or built from
// the test fixtures with the SDK.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PluginConfig } from '../../host/config/index.js';
import { preparePlugin, withFile } from '../../host/plugins/plugin-loader.js';
import { PluginRejected } from '../../host/plugins/sandbox/errors.js';
import { TEST_LIMITS } from '../../host/plugins/testkit.js';
import { bundledPlugin, fixturePlugin } from './plugin-fixtures.js';
import { configureRefusing, DEFAULT_DESCRIPTOR, watPlugin, type WatPlugin } from './plugin-wat.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'wasmscale-plugin-loader-'));
let n = 0;

function file(bytes: Uint8Array): string {
  const f = join(dir, `m${n++}.wasm`);
  writeFileSync(f, bytes);
  return f;
}

function cfg(path: string, over: Partial<PluginConfig> = {}): PluginConfig {
  return { name: 'p', file: path, config: {}, limits: TEST_LIMITS, ...over };
}

const load = (p: WatPlugin, over: Partial<PluginConfig> = {}) => preparePlugin(cfg(file(watPlugin(p)), over), log, { expectKind: 'router' });

describe('plugin loading', () => {
  it('accepts a minimal hand-written 1.0 router and reads its descriptor', async () => {
    const p = await load({});
    expect(p.descriptor).toMatchObject({ name: 'wat-router', kind: 'router', version: '0.0.1', abi: { major: 1, minor: 0 }, hooks: ['route', 'session_start'] });
    expect(p.instrumented).toBe(true);
    expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a module built for a newer minor, or another major', async () => {
    await expect(load({ marker: 0x10003, describe: { ...DEFAULT_DESCRIPTOR, abi: '1.3' } })).rejects.toThrow(
      'plugin p: built for plugin ABI 1.3, newer than this host\'s 1.2 (upgrade wasmscale, or build against an older SDK)');
    await expect(load({ marker: 0x20000, describe: { ...DEFAULT_DESCRIPTOR, abi: '2.0' } })).rejects.toThrow(/plugin p: built for plugin ABI 2\.0; this host speaks ABI 1\.2/);
  });

  it('refuses a module without the required exports', async () => {
    await expect(load({ omit: ['wsx_buffer', 'describe'] })).rejects.toThrow('plugin p: does not export wsx_buffer, describe');
    await expect(load({ omit: ['wsx_abi_version'] })).rejects.toThrow(/does not export wsx_abi_version/);
  });

  it('refuses a descriptor that disagrees with the module', async () => {
    await expect(load({ describe: { ...DEFAULT_DESCRIPTOR, abi: '1.3' } })).rejects.toThrow('abi is "1.3" but wsx_abi_version() says 1.0');
    await expect(load({ describe: { ...DEFAULT_DESCRIPTOR, hooks: ['route', 'servers'] } })).rejects.toThrow('lists hook "servers" but does not export wsx_servers');
    await expect(load({ describe: { ...DEFAULT_DESCRIPTOR, hooks: ['session_start'] } })).rejects.toThrow('a router must subscribe to "route"');
    await expect(load({ describe: { ...DEFAULT_DESCRIPTOR, hooks: ['route', 'teleport'] } })).rejects.toThrow('unknown hook "teleport"');
    await expect(load({ describe: { ...DEFAULT_DESCRIPTOR, hooks: ['route', 'on_statement'] } })).rejects.toThrow('hook "on_statement" is not for a router');
    await expect(load({ describe: { ...DEFAULT_DESCRIPTOR, kind: 'balancer', name: '9lives' } })).rejects.toThrow(/name must be a string starting with a letter.*kind must be "router" or "filter"/);
    await expect(load({ describe: 'not json' })).rejects.toThrow(/describe\(\) did not return JSON/);
  });

  it('refuses a configuration the plugin refuses', async () => {
    await expect(load({ configure: configureRefusing('missing setting "shards"') })).rejects.toThrow(
      'plugin p: configuration refused by the plugin: missing setting "shards"');
  });

  it("checks the configuration against the descriptor's config_schema first", async () => {
    const rcr = await bundledPlugin('routers/readconnroute');
    await expect(preparePlugin(cfg(rcr, { config: { router_options: 'slave', routr: 1 } }), log)).rejects.toThrow(
      "plugin p: configuration refused by the plugin's config_schema: routr: unknown setting (known: router_options, master_accept_reads, max_replication_lag)");
    await expect(preparePlugin(cfg(rcr, { config: { master_accept_reads: 'maybe' } }), log)).rejects.toThrow('master_accept_reads: expected boolean, got "maybe"');
    await expect(preparePlugin(cfg(rcr, { config: { router_options: 'primary' } }), log)).rejects.toThrow(
      'plugin p: configuration refused by the plugin: router_options: unknown value "primary" (expected master, slave or running)');
  });

  it('refuses a filter where a router is needed', async () => {
    const filter = await fixturePlugin('probe-filter');
    await expect(preparePlugin(cfg(filter), log, { expectKind: 'router' })).rejects.toThrow(
      'plugin p: is a filter ("probe-filter"), but it is used as a router; a router subscribes to "route"');
  });

  it("passes the sandbox's refusals through (imports beyond the ABI's, memory above the quota)", async () => {
    const wasi = watPlugin({}).slice(); // a valid module, then one importing WASI:
    expect(wasi.length).toBeGreaterThan(0);
    const withWasi = (await import('binaryen')).default.parseText(
      '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1 1))');
    const wasiFile = file(withWasi.emitBinary());
    await expect(preparePlugin(cfg(wasiFile), log)).rejects.toThrow(/plugin p: .*wasi_snapshot_preview1\.fd_write/);
    // withFile() (start-up, check, swap) names the file after the plugin, keeping the sandbox's error class and kind.
    const err = withFile(await preparePlugin(cfg(wasiFile), log).catch((e: unknown) => e), wasiFile) as PluginRejected;
    expect(err).toBeInstanceOf(PluginRejected);
    expect(err.kind).toBe('import');
    expect(err.message).toBe(`plugin p: ${wasiFile}: imports wasi_snapshot_preview1.fd_write, which the sandbox does not provide`);
    withWasi.dispose();
    await expect(load({ memory: { initial: 1, maximum: 1024 } }, { limits: { ...TEST_LIMITS, memory: 1024 * 1024 } })).rejects.toThrow(/plugin p: .*memory/i);
  });

  it('reports an unreadable file by name', async () => {
    await expect(preparePlugin(cfg(join(dir, 'nope.wasm')), log)).rejects.toThrow(`plugin p: cannot read ${join(dir, 'nope.wasm')}: no such file`);
  });
});

describe('SDK-built plugins', () => {
  let probe: string;
  beforeAll(async () => {
    probe = await fixturePlugin('probe-router');
  });

  it('describe() of an SDK router lists the router hooks and the SDK', async () => {
    const p = await preparePlugin(cfg(probe), log);
    expect(p.descriptor).toEqual({
      name: 'probe-router', kind: 'router', version: '0.1.0', abi: { major: 1, minor: 2 },
      hooks: ['session_start', 'session_end', 'servers', 'route'], sdk: 'wasmscale-sdk 1.2.0', classify: true,
    });
  });

  it('a plugin that reads no classification says so (readconnroute: classify false)', async () => {
    const p = await preparePlugin(cfg(await bundledPlugin('routers/readconnroute')), log);
    expect(p.descriptor.classify).toBe(false);
  });

  it('configure() refusals from an SDK plugin reach the operator', async () => {
    await expect(preparePlugin(cfg(probe, { config: { fail_configure: true } }), log)).rejects.toThrow(
      'plugin p: configuration refused by the plugin: probe: configuration refused on purpose');
    await expect(preparePlugin(cfg(probe, { config: { fail_configure: 'perhaps' } }), log)).rejects.toThrow(
      'configuration refused by the plugin: fail_configure: expected true or false');
  });
});

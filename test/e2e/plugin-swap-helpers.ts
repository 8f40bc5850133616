// Shared bits of the hot-swap tests: two builds of readconnroute that differ only in their
// version string, the admin endpoint's plugin resources, and the topology as proxy servers.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProxyOptions } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { buildCached, bundledPlugin, REPO } from '../unit/plugin-fixtures.js';

export const V1 = '1.0.0';
export const V2 = '1.0.1-swap';

/** readconnroute as bundled (V1) and a copy whose descriptor says V2. */
export async function readconnrouteBuilds(): Promise<{ v1: string; v2: string }> {
  const v1 = await bundledPlugin('routers/readconnroute');
  // A stable path, so the build cache (keyed by path and content) hits on the next run.
  const dir = join(tmpdir(), 'wasmscale-swap-src', 'readconnroute-v2');
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO, 'plugins-as/routers/readconnroute'), dir, { recursive: true, filter: (src) => !src.includes('/build') && !src.includes('node_modules') });
  const index = join(dir, 'assembly/index.ts');
  const source = readFileSync(index, 'utf8');
  const changed = source.replace(`new ReadConnRoute("readconnroute", "${V1}")`, `new ReadConnRoute("readconnroute", "${V2}")`);
  if (changed === source) throw new Error(`readconnroute's source no longer registers version ${V1}: update this helper`);
  writeFileSync(index, changed);
  const v2 = await buildCached(dir);
  return { v1, v2 };
}

export function topologyServers(): TestProxyOptions['servers'] {
  const t = sharedTopology();
  return [
    { name: 'db1', port: t.primary.port },
    { name: 'db2', port: t.replicas[0]!.port },
    { name: 'db3', port: t.replicas[1]!.port },
  ];
}

export interface SlotView {
  service: string;
  version: string;
  calls: number;
  traps: number;
  quarantined: boolean;
  quarantineReason: string;
  swaps: number;
  available: boolean;
}

export interface PluginView {
  name: string;
  kind: string | null;
  version: string | null;
  abi: string | null;
  file: string;
  sha256: string | null;
  loadedAt: string | null;
  services: string[];
  swaps: number;
  quarantined: boolean;
  quarantineReasons: string[];
  total: { calls: number; traps: number; errors: number; policyDecisions: number; quarantined: number };
  workers: { worker: number; alive: boolean; slots: SlotView[] }[];
}

export interface SwapAnswer {
  status: number;
  body: {
    error?: string;
    plugin?: string;
    version?: string;
    sha256?: string;
    workers?: { worker: number; ok: boolean; swapped: number; errors: string[] }[];
  };
}

export async function swap(adminPort: number, plugin: string, body: Record<string, unknown>): Promise<SwapAnswer> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/v1/plugins/${plugin}/swap`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as SwapAnswer['body'] };
}

export async function plugin(adminPort: number, name: string): Promise<PluginView> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/v1/plugins/${name}`);
  if (res.status !== 200) throw new Error(`GET /v1/plugins/${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as PluginView;
}

export async function plugins(adminPort: number): Promise<PluginView[]> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/v1/plugins`);
  if (res.status !== 200) throw new Error(`GET /v1/plugins: ${res.status} ${await res.text()}`);
  return (await res.json()) as PluginView[];
}

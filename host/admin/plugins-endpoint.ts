// The admin endpoint's plugin resources:
//   GET  /v1/plugins               every configured plugin: what is loaded, where it is used, metrics
//   GET  /v1/plugins/<name>        one of them
//   POST /v1/plugins/<name>/swap   {"file": "/abs/new.wasm", "config"?: {...}} → hot swap
// Metrics are per worker (each worker's slots, one per service using the plugin) and summed.
import type http from 'node:http';
import type { Config } from '../config/index.js';
import type { PluginKind } from '../plugins/abi/constants.js';
import { formatAbi } from '../plugins/abi/constants.js';
import { servicesUsing, SwapError, type PluginSwapper, type SwapRequest } from '../plugins/plugin-swap.js';
import { pluginStore } from '../plugins/plugin-store.js';
import type { SlotReport } from '../plugins/slot-registry.js';

export interface WorkerPlugins {
  worker: number;
  /** null: the worker is not running or did not answer. */
  plugins: Record<string, SlotReport[]> | null;
}

export interface PluginTotals {
  calls: number;
  traps: number;
  errors: number;
  policyDecisions: number;
  /** Slots (service × worker) quarantined now. */
  quarantined: number;
}

export interface PluginReport {
  name: string;
  kind: PluginKind | null;
  /** The plugin's own version string (describe()); null if it is not loaded. */
  version: string | null;
  abi: string | null;
  file: string;
  sha256: string | null;
  loadedAt: string | null;
  services: string[];
  /** Hot swaps of this plugin since start-up. */
  swaps: number;
  /** True when any slot is quarantined; the reasons are in the workers' slots. */
  quarantined: boolean;
  quarantineReasons: string[];
  total: PluginTotals;
  workers: { worker: number; alive: boolean; slots: SlotReport[] }[];
}

export interface PluginsSource {
  config(): Config;
  swapper: PluginSwapper;
  workers(): Promise<WorkerPlugins[]>;
}

export async function pluginReports(source: PluginsSource): Promise<PluginReport[]> {
  const config = source.config();
  const workers = await source.workers();
  return Object.values(config.plugins).map((cfg): PluginReport => {
    const p = pluginStore.get(cfg.name);
    const perWorker = workers.map((w) => ({ worker: w.worker, alive: w.plugins !== null, slots: w.plugins?.[cfg.name] ?? [] }));
    const slots = perWorker.flatMap((w) => w.slots);
    const total: PluginTotals = { calls: 0, traps: 0, errors: 0, policyDecisions: 0, quarantined: 0 };
    for (const s of slots) {
      total.calls += s.calls;
      total.traps += s.traps;
      total.errors += s.errors;
      total.policyDecisions += s.policyDecisions;
      if (s.quarantined) total.quarantined++;
    }
    return {
      name: cfg.name,
      kind: p?.descriptor.kind ?? null,
      version: p?.descriptor.version ?? null,
      abi: p ? formatAbi(p.descriptor.abi.major, p.descriptor.abi.minor) : null,
      file: p?.file ?? cfg.file,
      sha256: p?.sha256 ?? null,
      loadedAt: p ? new Date(p.loadedAt).toISOString() : null,
      services: servicesUsing(config, cfg.name),
      swaps: source.swapper.swapsOf(cfg.name),
      quarantined: total.quarantined > 0,
      quarantineReasons: [...new Set(slots.filter((s) => s.quarantined).map((s) => s.quarantineReason))],
      total,
      workers: perWorker,
    };
  });
}

const MAX_BODY = 64 * 1024;

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new SwapError(413, `request body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch (err) {
        reject(new SwapError(400, `request body is not JSON: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

type Reply = (status: number, body: unknown) => void;

/** Handles /v1/plugins…; returns false for other paths. */
export function handlePlugins(req: http.IncomingMessage, path: string, reply: Reply, source: PluginsSource): boolean {
  if (path !== '/v1/plugins' && !path.startsWith('/v1/plugins/')) return false;
  const rest = path.slice('/v1/plugins'.length).split('/').filter((x) => x !== '');
  let name: string | undefined;
  try {
    name = rest[0] === undefined ? undefined : decodeURIComponent(rest[0]);
  } catch {
    reply(400, { error: 'malformed plugin name' });
    return true;
  }
  const fail = (err: unknown): void => {
    if (err instanceof SwapError) reply(err.status, { error: err.message, ...(err.workers.length ? { workers: err.workers } : {}) });
    else reply(500, { error: (err as Error).message });
  };

  if (rest.length === 2 && rest[1] === 'swap' && name !== undefined) {
    if (req.method !== 'POST') {
      reply(405, { error: 'use POST to swap a plugin' });
      return true;
    }
    const plugin = name;
    readJson(req)
      .then((body) => {
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SwapError(400, 'request body must be a JSON object: {"file": "/abs/path.wasm"}');
        const b = body as { file?: unknown; config?: unknown };
        if (typeof b.file !== 'string' || b.file === '') throw new SwapError(400, 'request body needs "file": the absolute path of the new .wasm');
        const swap: SwapRequest = { file: b.file, ...(b.config !== undefined ? { config: b.config as Record<string, unknown> } : {}) };
        return source.swapper.swap(plugin, swap);
      })
      .then((r) => reply(200, r), fail);
    return true;
  }
  if (req.method !== 'GET' || rest.length > 1) {
    reply(req.method !== 'GET' ? 405 : 404, { error: req.method !== 'GET' ? 'method not allowed' : `no such resource: ${path}` });
    return true;
  }
  pluginReports(source).then((all) => {
    if (name === undefined) return reply(200, all);
    const one = all.find((p) => p.name === name);
    if (one) reply(200, one);
    else reply(404, { error: `no such plugin: ${name}` });
  }, fail);
  return true;
}

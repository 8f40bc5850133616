// Starts the real `wasmscale start` (built JavaScript in dist/, or WASMSCALE_DIST) as a child
// process in front of one MariaDB server (or several, with a monitor), the way an operator would
// run it.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { rssBytes, sleep, startChild, type Child } from './proc.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const CLI = join(resolve(REPO, process.env.WASMSCALE_DIST ?? 'dist'), 'host/cli.js');

export function checkBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` first (or set WASMSCALE_DIST to the build dir)`);
  }
}

export interface WorkerInfo {
  pid: number;
  sessions: number;
  rssBytes: number;
}

export interface ProxyStats {
  sessions: number;
  workers: WorkerInfo[];
}

export interface WasmscaleServer {
  name: string;
  port: number;
}

export interface WasmscaleOptions {
  /** The one server (db1) when `servers` is not given. */
  backendPort?: number;
  /** Several servers (all in the service, in this order); replaces backendPort. */
  servers?: WasmscaleServer[];
  /** Adds monitor `mon` (mariadbmon over every server) used by the service; the monitor's parameters (user, password, ...). */
  monitor?: Record<string, unknown>;
  /** Extra parameters of services.main (YAML names). */
  service?: Record<string, unknown>;
  serviceUser: string;
  servicePassword: string;
  workers: number | 'auto';
  logLevel?: string;
  /** extra node flags for the primary (forwarded to the workers by the proxy), e.g. --cpu-prof */
  nodeArgs?: string[];
  cwd?: string;
  /** services.main.router (default first-available): a plugin name from `plugins`, or a host router. */
  router?: string;
  /** Another build to run (its dist directory) instead of CLI's, e.g. the previous commit's for an A/B run. */
  dist?: string;
  /** The `plugins` section (absolute `file` paths), e.g. { rcr: { file, config } }. */
  plugins?: Record<string, unknown>;
}

export interface Wasmscale {
  port: number;
  adminPort: number;
  child: Child;
  stats(): Promise<ProxyStats>;
  /** pid of the primary and of every worker */
  pids(): Promise<number[]>;
  /** VmRSS (or VmHWM: peak) of the primary + every worker, from /proc */
  rss(field?: 'VmRSS' | 'VmHWM'): Promise<{ total: number; byPid: Record<number, number> }>;
  stop(): Promise<void>;
}

export async function startWasmscale(opts: WasmscaleOptions): Promise<Wasmscale> {
  checkBuilt();
  const port = await freePort();
  const adminPort = await freePort();
  const servers: WasmscaleServer[] = opts.servers ?? (opts.backendPort !== undefined ? [{ name: 'db1', port: opts.backendPort }] : []);
  if (servers.length === 0) throw new Error('startWasmscale: give backendPort or servers');
  const names = servers.map((s) => s.name);
  const config = {
    workers: opts.workers,
    log: { level: opts.logLevel ?? 'warn', format: 'json' },
    admin: { enabled: true, host: '127.0.0.1', port: adminPort },
    servers: Object.fromEntries(servers.map((s) => [s.name, { address: '127.0.0.1', port: s.port }])),
    ...(opts.monitor ? { monitors: { mon: { module: 'mariadbmon', servers: names, ...opts.monitor } } } : {}),
    ...(opts.plugins ? { plugins: opts.plugins } : {}),
    services: {
      main: {
        router: opts.router ?? 'first-available',
        servers: names,
        user: opts.serviceUser,
        password: opts.servicePassword,
        idle_timeout: 0,
        ...(opts.monitor ? { monitor: 'mon' } : {}),
        ...opts.service,
      },
    },
    listeners: { main: { service: 'main', host: '127.0.0.1', port } },
  };
  const dir = await mkdtemp(join(tmpdir(), 'wasmscale-bench-'));
  const file = join(dir, 'wasmscale.yaml');
  await writeFile(file, stringify(config));
  const child = await startChild(process.execPath, [...(opts.nodeArgs ?? []), opts.dist ? join(resolve(opts.dist), 'host/cli.js') : CLI, 'start', '-c', file], null, { cwd: opts.cwd ?? REPO });

  const stats = async (): Promise<ProxyStats> => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/stats`);
    if (!res.ok) throw new Error(`/v1/stats: HTTP ${res.status}`);
    return (await res.json()) as ProxyStats;
  };
  // With log level warn there is no "listening" line: the admin endpoint starts after the
  // listeners, so its first answer means the proxy is ready.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`wasmscale exited with ${child.proc.exitCode}:\n${child.output()}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`wasmscale did not start in 30 s:\n${child.output()}`);
    }
    try {
      await stats();
      break;
    } catch {
      await sleep(50);
    }
  }

  const pids = async (): Promise<number[]> => {
    const s = await stats();
    return [child.pid, ...s.workers.map((w) => w.pid).filter((p) => p && p !== child.pid)];
  };
  return {
    port,
    adminPort,
    child,
    stats,
    pids,
    rss: async (field = 'VmRSS') => {
      const byPid: Record<number, number> = {};
      for (const pid of await pids()) byPid[pid] = rssBytes(pid, field);
      return { total: Object.values(byPid).reduce((a, b) => a + b, 0), byPid };
    },
    stop: async () => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The naive pipe (bench/naive-pipe.ts) in its own process. */
export async function startNaivePipe(backendPort: number, nodeArgs: string[] = []): Promise<{ port: number; child: Child; stop(): Promise<void> }> {
  const child = await startChild(process.execPath, [...nodeArgs, '--import', 'tsx', join(REPO, 'bench/naive-pipe.ts'), '0', String(backendPort)], /listening \d+/, { cwd: REPO });
  const port = Number(/listening (\d+)/.exec(child.output())![1]);
  return { port, child, stop: () => child.stop() };
}

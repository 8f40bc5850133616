// Starts wasmscale for a test: in this process (startProxy, any worker count; workers are forked
// from the TypeScript sources under tsx) or as the real CLI in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../../host/config/index.js';
import { startProxy, type Proxy, type ProxyStats } from '../../host/core/proxy.js';
import { CREDENTIALS } from './credentials.js';
import { freePort } from './ports.js';

export interface ProxyServerSpec {
  name: string;
  port: number;
  /** servers.<name>.weight (default 1). */
  weight?: number;
}

export interface TestProxyOptions {
  servers: ProxyServerSpec[];
  workers?: number;
  /** Extra service parameters (YAML names), e.g. { idle_timeout: '1s' }. */
  service?: Record<string, unknown>;
  listener?: Record<string, unknown>;
  /** The `plugins` section (YAML names; use absolute `file` paths), e.g. { rcr: { file, config } }; route with service: { router: 'rcr' }. */
  plugins?: Record<string, unknown>;
  /** Adds monitor "mon" (mariadbmon over every server, 200ms interval) used by the service; extra parameters here. */
  monitor?: Record<string, unknown>;
  logLevel?: string;
}

/** The YAML-shaped config object for a test proxy (free ports picked here). */
export async function testConfigObject(opts: TestProxyOptions): Promise<Record<string, unknown>> {
  return {
    // WASMSCALE_TEST_WORKERS: run tests that do not choose through forked workers (socket hand-off).
    workers: opts.workers ?? Number(process.env.WASMSCALE_TEST_WORKERS ?? 0),
    log: { level: opts.logLevel ?? process.env.WASMSCALE_TEST_LOG ?? 'silent', format: 'json' },
    admin: { enabled: true, host: '127.0.0.1', port: await freePort() },
    servers: Object.fromEntries(opts.servers.map((s) => [s.name, { address: '127.0.0.1', port: s.port, ...(s.weight !== undefined ? { weight: s.weight } : {}) }])),
    ...(opts.monitor ? { monitors: { mon: { module: 'mariadbmon', servers: opts.servers.map((s) => s.name), user: CREDENTIALS.wsproxy.user, password: CREDENTIALS.wsproxy.password, monitor_interval: '200ms', ...opts.monitor } } } : {}),
    ...(opts.plugins ? { plugins: opts.plugins } : {}),
    services: {
      main: {
        router: 'first-available',
        servers: opts.servers.map((s) => s.name),
        user: CREDENTIALS.wsproxy.user,
        password: CREDENTIALS.wsproxy.password,
        users_refresh_min_interval: '200ms',
        max_allowed_packet: '256MiB',
        ...(opts.monitor ? { monitor: 'mon' } : {}),
        ...opts.service,
      },
    },
    listeners: { main: { service: 'main', host: '127.0.0.1', port: await freePort(), ...opts.listener } },
  };
}

export interface TestProxy {
  port: number;
  adminPort: number;
  config: Config;
  stats(): Promise<ProxyStats>;
  stop(): Promise<void>;
}

/** In-process proxy (workers > 0 still forks real worker processes). */
export async function startTestProxy(opts: TestProxyOptions): Promise<TestProxy> {
  const obj = await testConfigObject(opts);
  const config = parseConfig(stringify(obj), 'test.yaml');
  const log = pino({ level: config.log.level });
  const proxy: Proxy = await startProxy(config, { log });
  return { port: proxy.listeners[0]!.port, adminPort: proxy.adminPort!, config, stats: () => proxy.stats(), stop: () => proxy.stop() };
}

export interface CliProxy {
  port: number;
  adminPort: number;
  child: ChildProcess;
  output(): string;
  stats(): Promise<ProxyStats>;
  stop(): Promise<number | null>;
}

/** The real `wasmscale start` from dist/ (run `npm run build` first) in a child process. */
export async function startCliProxy(opts: TestProxyOptions): Promise<CliProxy> {
  const obj = await testConfigObject({ logLevel: 'info', ...opts });
  const dir = await mkdtemp(join(tmpdir(), 'wasmscale-cli-'));
  const file = join(dir, 'wasmscale.yaml');
  await writeFile(file, stringify(obj));
  const child = spawn(process.execPath, ['dist/host/cli.js', 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = (obj.listeners as { main: { port: number } }).main.port;
  const adminPort = (obj.admin as { port: number }).port;
  const deadline = Date.now() + 30_000;
  while (!/"msg":"listening"/.test(out)) {
    if (child.exitCode !== null) throw new Error(`wasmscale exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`wasmscale did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    adminPort,
    child,
    output: () => out,
    stats: async () => (await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json()) as ProxyStats,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

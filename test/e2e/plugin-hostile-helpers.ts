// Shared bits of the hostile-plugin tests (test/e2e/plugin-hostile-*.test.ts): AssemblyScript
// router plugins written against sdk/ and built in the test with the built CLI
// (`dist/host/cli.js plugin build`; under tsx binaryen loads several times slower), a proxy with
// several services and listeners run as the real CLI, and per-worker facts read from outside
// (admin /v1/stats, /proc/<pid>/status).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { CREDENTIALS } from '../harness/credentials.js';
import { freePort } from '../harness/ports.js';
import { testConfigObject, type TestProxyOptions } from '../harness/proxy.js';
import { sharedTopology } from '../harness/shared.js';
import { REPO } from '../unit/plugin-fixtures.js';
import { logLines, spawnCli, waitListening, type CliRun, type LogLine } from './helpers.js';

/**
 * A router that behaves like the host's default (keeps every session where it is) unless the
 * statement carries a marker comment; then it misbehaves the way a hostile or buggy plugin does.
 * Per-instance counters make instance replacement and isolation visible from a client: the
 * `/*count*\/` marker answers with an error whose text reports them.
 */
export const HOSTILE_ROUTER = `
import { RouteDecision, Router, ServerTable, Session, SessionTargets, Statement, findSession, register, sessionCount } from "wasmscale-sdk";

export * from "wasmscale-sdk/assembly/exports";

// Extism kernel imports the sandbox allows (the SDK uses them for describe/configure).
@external("extism:host/env", "alloc")
declare function kernel_alloc(length: u64): u64;
@external("extism:host/env", "store_u64")
declare function kernel_store_u64(offset: u64, value: u64): void;

// Host functions, called directly (no per-call encoding in the plugin: the most host time per unit of fuel).
@external("wasmscale_v1", "metric_add")
declare function host_metric_add(namePtr: usize, nameLen: i32, value: f64): i32;
@external("wasmscale_v1", "clock_ms")
declare function host_clock_ms(): f64;
@external("wasmscale_v1", "log")
declare function host_log(level: i32, ptr: usize, len: i32): i32;

/** Statements this instance routed: starts at 0 in every new instance. */
let routed: i32 = 0;
/** Session starts this instance was told of (a replacement instance is told them again). */
let starts: i32 = 0;
/** The distinct services of those sessions, as "<name>" each. */
let services = "";
const hog: ArrayBuffer[] = [];

/** Recursion without end (not a tail call: the result is used), for V8's stack limit. */
function deeper(n: i32): i32 {
  return n == 0 ? 0 : deeper(n + 1) + 1;
}

class HostileRouter extends Router {
  onSessionStart(session: Session, servers: ServerTable, targets: SessionTargets): void {
    starts++;
    const tag = "<" + session.service + ">";
    if (!services.includes(tag)) services += tag;
  }

  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    routed++;
    const sql = stmt.sql;
    if (sql.includes("/*spin*/")) {
      let x: u32 = 1;
      while (x != 0) x = x * 1664525 + 1013904223 | 1;
    } else if (sql.includes("/*grow*/")) {
      while (true) hog.push(new ArrayBuffer(1 << 20));
    } else if (sql.includes("/*pages*/")) {
      // memory.grow below the allocator: the module's declared maximum is where it must stop.
      let grown = 0;
      while (memory.grow(1) >= 0) grown++;
      decision.error("hostile: memory.grow refused at " + memory.size().toString() + " pages after " + grown.toString() + " more");
    } else if (sql.includes("/*kalloc*/")) {
      // 64 MiB through the Extism kernel's alloc, every page touched.
      for (let i = 0; i < 8; i++) {
        const block = kernel_alloc(8 << 20);
        for (let off: u64 = 0; off < (8 << 20); off += 4096) kernel_store_u64(block + off, off + 1);
      }
      decision.error("hostile: 64 MiB allocated through the kernel");
    } else if (sql.includes("/*hostspin*/")) {
      // An endless loop whose body is a host call: the fuel meter charges only the call.
      const name = String.UTF8.encode("a_counter_name_as_long_as_the_host_allows_it_64_characters_long");
      const at = changetype<usize>(name);
      const len = name.byteLength;
      while (true) host_metric_add(at, len, 1);
    } else if (sql.includes("/*clockspin*/")) {
      let t: f64 = 0;
      while (t >= 0) t = host_clock_ms();
    } else if (sql.includes("/*names*/")) {
      // Distinct counter names, kept by the host, until the fuel runs out (the prefix keeps
      // them distinct across statements and instances).
      const prefix = "n" + (<i64>(host_clock_ms() * 1000)).toString() + "_";
      for (let i = 0; ; i++) {
        const name = String.UTF8.encode(prefix + i.toString());
        host_metric_add(changetype<usize>(name), name.byteLength, 1);
      }
    } else if (sql.includes("/*biglog*/")) {
      // Three 4 MiB log lines (the host rate-limits lines, not their size).
      const line = new Uint8Array(4 << 20);
      line.fill(0x78);
      for (let i = 0; i < 3; i++) host_log(2, line.dataStart, line.length);
      decision.error("hostile: logged 3 lines of 4 MiB");
    } else if (sql.includes("/*recurse*/")) {
      decision.error("hostile: depth " + deeper(1).toString());
    } else if (sql.includes("/*trap*/")) {
      unreachable();
    } else if (sql.includes("/*abort*/")) {
      abort("hostile abort on request");
    } else if (sql.includes("/*count*/")) {
      const known = findSession(stmt.sessionId) !== null ? "yes" : "no";
      decision.error("hostile: live=" + sessionCount().toString() + " starts=" + starts.toString() +
        " routed=" + routed.toString() + " known=" + known + " services=" + services);
    }
  }
}

register(new HostileRouter("hostile-router", "1.0.0"));
`;

/** Parsed answer to a `/*count*\/` statement. */
export interface CountReport {
  live: number;
  starts: number;
  routed: number;
  known: boolean;
  services: string[];
}

export function parseCount(message: string): CountReport {
  const m = /^hostile: live=(\d+) starts=(\d+) routed=(\d+) known=(yes|no) services=(.*)$/.exec(message);
  if (!m) throw new Error(`not a count report: ${message}`);
  return {
    live: Number(m[1]),
    starts: Number(m[2]),
    routed: Number(m[3]),
    known: m[4] === 'yes',
    services: [...m[5]!.matchAll(/<([^>]*)>/g)].map((x) => x[1]!),
  };
}

function run(args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (status) => resolve({ status, out }));
  });
}

/**
 * Writes a plugin project (package.json + assembly/index.ts) to a fresh temp dir outside the
 * repository and builds it with `wasmscale plugin build` (bundled SDK: the project installs
 * nothing). The build also loads the result as the proxy would and exits non-zero (after
 * writing the .wasm) if the sandbox refuses it: `status` and `out` say so.
 */
export async function buildProject(name: string, source: string, memoryPages?: number): Promise<{ wasm: string; status: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), `hostile-${name}-`));
  const pkg = { name, version: '1.0.0', private: true, ...(memoryPages ? { wasmscale: { memory_pages: memoryPages } } : {}) };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  mkdirSync(join(dir, 'assembly'));
  writeFileSync(join(dir, 'assembly', 'index.ts'), source);
  const r = await run([join(REPO, 'dist/host/cli.js'), 'plugin', 'build', dir], REPO);
  const wasm = join(dir, 'build', `${name}.wasm`);
  if (!existsSync(wasm)) throw new Error(`plugin build of ${name} wrote no ${wasm} (${r.status}):\n${r.out}`);
  return { wasm, status: r.status, out: r.out };
}

/** buildProject() for a plugin that must build and load cleanly: the .wasm path. */
export async function buildPlugin(name: string, source: string, memoryPages?: number): Promise<string> {
  const r = await buildProject(name, source, memoryPages);
  if (r.status !== 0) throw new Error(`plugin build of ${name} failed (${r.status}):\n${r.out}`);
  return r.wasm;
}

/** The shared topology as proxy servers. */
export function topologyServers(): TestProxyOptions['servers'] {
  const t = sharedTopology();
  return [
    { name: 'db1', port: t.primary.port },
    { name: 'db2', port: t.replicas[0]!.port },
    { name: 'db3', port: t.replicas[1]!.port },
  ];
}

export interface ServiceSpec {
  /** router: a plugin name from `plugins`, or 'first-available'. */
  router: string;
  /** Extra service parameters. */
  extra?: Record<string, unknown>;
}

export interface HostileProxy {
  run: CliRun;
  /** Listener port per service name. */
  ports: Record<string, number>;
  adminPort: number;
  log(): LogLine[];
  workerPids(): Promise<Map<number, number>>;
  stop(): Promise<number | null>;
}

/**
 * The real CLI with one service + listener per entry of `services` (all over the shared
 * topology's servers), the given plugins, and `workers` routing workers.
 */
export async function startHostileProxy(opts: {
  plugins: Record<string, unknown>;
  services: Record<string, ServiceSpec>;
  workers?: number;
  servers?: TestProxyOptions['servers'];
}): Promise<HostileProxy> {
  const servers = opts.servers ?? topologyServers();
  const obj = await testConfigObject({ servers, workers: opts.workers ?? 2, logLevel: 'info', plugins: opts.plugins });
  const base = (obj.services as Record<string, Record<string, unknown>>).main!;
  const services: Record<string, unknown> = {};
  const listeners: Record<string, unknown> = {};
  const ports: Record<string, number> = {};
  for (const [name, spec] of Object.entries(opts.services)) {
    services[name] = { ...base, router: spec.router, ...spec.extra };
    ports[name] = await freePort();
    listeners[name] = { service: name, host: '127.0.0.1', port: ports[name] };
  }
  obj.services = services;
  obj.listeners = listeners;
  const run = await spawnCli(obj);
  try {
    await waitListening(run, Object.keys(services).length);
  } catch (err) {
    await run.stop();
    throw err;
  }
  const adminPort = (obj.admin as { port: number }).port;
  return {
    run,
    ports,
    adminPort,
    log: () => logLines(run.output()),
    workerPids: async () => {
      const s = (await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json()) as { workers: { index: number; pid: number }[] };
      return new Map(s.workers.map((w) => [w.index, w.pid]));
    },
    stop: () => run.stop(),
  };
}

export const connect = (port: number): Promise<mysql.Connection> =>
  mysql.createConnection({ host: '127.0.0.1', port, ...CREDENTIALS.app, database: 'test', connectTimeout: 10_000 });

/** The worker owning a session: the low 6 bits of the proxy's connection id. */
export const workerOf = (c: mysql.Connection): number => c.threadId! & 63;

/** Opens sessions until there are at least `perWorker` on each of workers 1..`workers`. */
export async function sessionsOnEveryWorker(port: number, perWorker: number, workers = 2): Promise<mysql.Connection[]> {
  const out: mysql.Connection[] = [];
  const count = (w: number) => out.filter((c) => workerOf(c) === w).length;
  for (let i = 0; i < 40 && [...Array(workers).keys()].some((w) => count(w + 1) < perWorker); i++) {
    const c = await connect(port);
    c.on('error', () => {});
    out.push(c);
  }
  return out;
}

/** The error a statement ends with (throws if it succeeded). */
export async function errorOf(c: mysql.Connection, sql: string): Promise<{ errno: number; sqlState: string; message: string }> {
  try {
    await c.query(sql);
  } catch (err) {
    const e = err as { errno: number; sqlState: string; message: string };
    return { errno: e.errno, sqlState: e.sqlState, message: e.message };
  }
  throw new Error(`expected an error from ${sql}`);
}

/** A `/*count*\/` report for this session (from the instance serving its worker and service). */
export async function countOf(c: mysql.Connection): Promise<CountReport> {
  const e = await errorOf(c, 'SELECT 1 /*count*/');
  return parseCount(e.message);
}

/** VmRSS of a process in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** The parts of GET /v1/plugins/<name> (host/admin/plugins-endpoint.ts) these tests read. */
export interface PluginAdminReport {
  name: string;
  quarantined: boolean;
  quarantineReasons: string[];
  total: { calls: number; traps: number; errors: number; policyDecisions: number; quarantined: number };
  workers: { worker: number; alive: boolean; slots: { service: string; calls: number; traps: number; quarantined: boolean; policyDecisions: number }[] }[];
}

/** GET /v1/plugins/<name> if the admin endpoint has it (null: 404, an older build without it). */
export async function adminPlugin(adminPort: number, name: string): Promise<PluginAdminReport | null> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/v1/plugins/${encodeURIComponent(name)}`);
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`GET /v1/plugins/${name}: HTTP ${r.status}: ${await r.text()}`);
  return (await r.json()) as PluginAdminReport;
}

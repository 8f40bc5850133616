// No capabilities but the host functions: plugins written against sdk/ that import WASI, a
// socket-ish function, or a function the host does not provide are refused when the proxy starts
// (exit code 1, a message naming the plugin and the import); a plugin built with only the imports
// the sandbox allows cannot read a file or open a connection with them, in a running proxy.
import { createServer, type Server } from 'node:net';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_ENV_IMPORTS, ALLOWED_IMPORT_MODULES } from '../../host/plugins/sandbox/validate.js';
import { testConfigObject } from '../harness/proxy.js';
import { readFileSync } from 'node:fs';
import { sleep, spawnCli, type CliRun } from './helpers.js';
import {
  buildPlugin, buildProject, connect, errorOf, sessionsOnEveryWorker, startHostileProxy, topologyServers, workerOf, type HostileProxy,
} from './plugin-hostile-helpers.js';

const HEADER = `
import { RouteDecision, Router, ServerTable, Statement, register } from "wasmscale-sdk";
export * from "wasmscale-sdk/assembly/exports";
`;

/** Tries to open and read /etc/passwd through WASI on /*read*\/. */
const WASI_ROUTER = `${HEADER}
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(fd: i32, dirflags: i32, path: usize, pathLen: i32, oflags: i32, rightsBase: i64, rightsInheriting: i64, fdflags: i32, fdOut: usize): i32;
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: i32, iovs: usize, iovsLen: i32, nread: usize): i32;

class WasiRouter extends Router {
  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    if (!stmt.sql.includes("/*read*/")) return;
    const path = String.UTF8.encode("/etc/passwd");
    const scratch = new ArrayBuffer(64);
    const at = changetype<usize>(scratch);
    const e = path_open(3, 0, changetype<usize>(path), path.byteLength, 0, 2, 0, 0, at);
    const n = fd_read(load<i32>(at), at + 8, 1, at + 16);
    decision.error("read " + e.toString() + " " + n.toString());
  }
}
register(new WasiRouter("wasi-router", "1.0.0"));
`;

/** A made-up socket import, or the same name in the host's own namespace. */
const socketRouter = (module: string, name: string): string => `${HEADER}
@external("${module}", "${name}")
declare function connect_to(host: usize, hostLength: i32, port: i32): i32;

class SocketRouter extends Router {
  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    if (!stmt.sql.includes("/*connect*/")) return;
    const host = String.UTF8.encode("127.0.0.1");
    decision.error("fd " + connect_to(changetype<usize>(host), host.byteLength, 3306).toString());
  }
}
register(new SocketRouter("socket-router", "1.0.0"));
`;

/**
 * Only imports the sandbox allows: the Extism kernel functions that take a name or a URL. On
 * /*escape*\/ it asks them for /etc/passwd and for a TCP connection to PORT, and reports what
 * came back.
 */
const escapeRouter = (port: number): string => `${HEADER}
@external("extism:host/env", "alloc")
declare function k_alloc(length: u64): u64;
@external("extism:host/env", "store_u8")
declare function k_store_u8(offset: u64, value: u8): void;
@external("extism:host/env", "length")
declare function k_length(offset: u64): u64;
@external("extism:host/env", "config_get")
declare function k_config_get(key: u64): u64;
@external("extism:host/env", "var_get")
declare function k_var_get(key: u64): u64;
@external("extism:host/env", "http_request")
declare function k_http_request(request: u64, body: u64): u64;
@external("extism:host/env", "http_status_code")
declare function k_http_status_code(): i32;

function block(s: string): u64 {
  const bytes = Uint8Array.wrap(String.UTF8.encode(s));
  const b = k_alloc(<u64>bytes.length);
  for (let i = 0; i < bytes.length; i++) k_store_u8(b + <u64>i, bytes[i]);
  return b;
}

function got(addr: u64): string {
  return addr == 0 ? "nothing" : k_length(addr).toString() + "B";
}

class EscapeRouter extends Router {
  route(stmt: Statement, servers: ServerTable, decision: RouteDecision): void {
    if (!stmt.sql.includes("/*escape*/")) return;
    let out = "config_get=" + got(k_config_get(block("/etc/passwd")));
    out += " var_get=" + got(k_var_get(block("/etc/passwd")));
    out += " http_file=" + got(k_http_request(block('{"url":"file:///etc/passwd","method":"GET"}'), 0));
    out += " http_tcp=" + got(k_http_request(block('{"url":"http://127.0.0.1:${port}/steal","method":"GET"}'), 0));
    out += " status=" + k_http_status_code().toString();
    decision.error("escape: " + out);
  }
}
register(new EscapeRouter("escape-router", "1.0.0"));
`;

const runs: CliRun[] = [];
let proxy: HostileProxy | null = null;
let listener: Server;
let accepted = 0;
let builds: Record<'wasi' | 'socket' | 'unprovided', { wasm: string; status: number | null; out: string }>;
let escapeWasm: string;

beforeAll(async () => {
  // A TCP server the escape plugin aims at: it must never see a connection.
  listener = createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as { port: number }).port;
  const [wasi, socket, unprovided, escape] = await Promise.all([
    buildProject('wasi-router', WASI_ROUTER),
    buildProject('socket-router', socketRouter('env', 'socket_connect')),
    buildProject('unprovided-router', socketRouter('wasmscale_v1', 'tcp_connect')),
    buildPlugin('escape-router', escapeRouter(port)),
  ]);
  builds = { wasi: wasi!, socket: socket!, unprovided: unprovided! };
  escapeWasm = escape!;
}, 120_000);

afterAll(async () => {
  await Promise.all(runs.map((r) => r.stop()));
  if (proxy) expect(await proxy.stop()).toBe(0);
  await new Promise((r) => listener.close(r));
});

/** Starts the real CLI with `file` as plugin `name` routing the only service; resolves when it exits (or 'running'). */
async function startWith(name: string, file: string): Promise<{ code: number | null | 'running'; out: string; config: string }> {
  const obj = await testConfigObject({ servers: topologyServers(), workers: 2, logLevel: 'info', plugins: { [name]: { file } }, service: { router: name } });
  const r = await spawnCli(stringify(obj));
  runs.push(r);
  const code = await Promise.race([r.exited, sleep(30_000).then(() => 'running' as const)]);
  return { code, out: r.output(), config: r.file };
}

describe('modules importing capabilities the sandbox does not provide are refused at start-up', () => {
  it('WASI (wasi_snapshot_preview1.path_open, fd_read): exit 1, the message names the plugin and both imports', async () => {
    // `plugin build` already says so (and still writes the file).
    expect(builds.wasi.status).toBe(1);
    expect(builds.wasi.out).toContain('imports wasi_snapshot_preview1.path_open, wasi_snapshot_preview1.fd_read, which the sandbox does not provide');
    const r = await startWith('reader', builds.wasi.wasm);
    expect(r.code).toBe(1);
    // The file is named after the plugin, as a hot swap names it (see the next test).
    expect(r.out).toContain(`plugin reader: ${builds.wasi.wasm}: imports wasi_snapshot_preview1.path_open, wasi_snapshot_preview1.fd_read, which the sandbox does not provide`);
    expect(r.out).not.toMatch(/"msg":"listening"/);
  });

  // Was a host gap: the refusal named the plugin's config name but not its file. Start-up and
  // `wasmscale check` now say "plugin <name>: <file>: <reason>", as a hot swap always did
  // (host/plugins/plugin-loader.ts withFile()).
  it('... and names the refused file', async () => {
    const r = await startWith('reader', builds.wasi.wasm);
    expect(r.code).toBe(1);
    const line = r.out.split('\n').find((l) => l.includes('which the sandbox does not provide'));
    expect(line).toContain(builds.wasi.wasm);
  });

  it('a socket-ish import (env.socket_connect): exit 1, named', async () => {
    expect(builds.socket.status).toBe(1);
    const r = await startWith('sock', builds.socket.wasm);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`plugin sock: ${builds.socket.wasm}: imports env.socket_connect, which the sandbox does not provide`);
  });

  it("a function the host does not provide in the host's own namespace (wasmscale_v1.tcp_connect): exit 1, named", async () => {
    // The sandbox checks names within the modules it provides, before anything is linked (not
    // V8's "Import #8 ... function import requires a callable"), and says what the module has.
    expect(builds.unprovided.status).toBe(1);
    expect(builds.unprovided.out).toContain('imports wasmscale_v1.tcp_connect, which the sandbox does not provide; wasmscale_v1 provides log, metric_add, clock_ms');
    const r = await startWith('unprovided', builds.unprovided.wasm);
    expect(r.code).toBe(1);
    const line = r.out.split('\n').find((l) => l.includes('tcp_connect'));
    expect(line).toMatch(/plugin unprovided: .*wasmscale_v1.*tcp_connect/);
    expect(line).toContain(`plugin unprovided: ${builds.unprovided.wasm}: imports wasmscale_v1.tcp_connect, which the sandbox does not provide; wasmscale_v1 provides log, metric_add, clock_ms`);
    expect(line).not.toContain('requires a callable');
  });
});

describe('a plugin with only the allowed imports', () => {
  it('imports nothing outside the sandbox allow-list', () => {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(escapeWasm)));
    expect(imports.length).toBeGreaterThan(0);
    for (const i of imports) {
      expect(i.kind).toBe('function');
      expect(ALLOWED_IMPORT_MODULES.includes(i.module) || (i.module === 'env' && ALLOWED_ENV_IMPORTS.includes(i.name)), `${i.module}.${i.name}`).toBe(true);
    }
    expect(imports.map((i) => `${i.module}.${i.name}`)).toEqual(expect.arrayContaining(['extism:host/env.http_request', 'extism:host/env.config_get']));
  });

  it('cannot read a file or open a connection through them, in a running proxy on both workers', async () => {
    proxy = await startHostileProxy({ workers: 2, plugins: { escape: { file: escapeWasm } }, services: { main: { router: 'escape' } } });
    const sessions = await sessionsOnEveryWorker(proxy.ports.main!, 1);
    expect(new Set(sessions.map(workerOf))).toEqual(new Set([1, 2]));
    try {
      for (const c of sessions) {
        const e = await errorOf(c, 'SELECT 1 /*escape*/');
        expect(e.message).toBe('escape: config_get=nothing var_get=nothing http_file=nothing http_tcp=nothing status=0');
        const [rows] = await c.query('SELECT 1 + 1 AS v');
        expect(rows).toEqual([{ v: 2 }]);
      }
      await sleep(200); // a connection attempt, had there been one, would have arrived by now
      expect(accepted).toBe(0);
      // The kernel's refusal is logged with the plugin's name.
      expect(proxy.log().filter((l) => l.plugin === 'escape' && l.msg === 'http_request is not enabled').length).toBeGreaterThanOrEqual(4);
    } finally {
      await Promise.all(sessions.map((c) => c.end()));
    }
  });
});

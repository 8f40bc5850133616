// `wasmscale ctl plugin swap|list|show`: talk to a running proxy's admin endpoint (global fetch).
// Registered by host/cli.ts. Exit codes: 0 fine, 1 the proxy refused or failed (its message on
// stderr), 2 the admin endpoint could not be reached or the arguments are wrong.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandOutput } from './plugin-cli.js';

export const DEFAULT_ADMIN = 'http://127.0.0.1:8989';

interface AdminAnswer {
  status: number;
  body: unknown;
}

async function call(admin: string, path: string, init?: { method: string; body: unknown }): Promise<AdminAnswer> {
  const url = `${admin.replace(/\/+$/, '')}${path}`;
  const res = await fetch(url, init ? { method: init.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : undefined);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: shown as it came.
  }
  return { status: res.status, body };
}

function errorOf(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string') return (body as { error: string }).error;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

const unreachable = (admin: string, err: unknown): string =>
  `cannot reach the admin endpoint at ${admin}: ${(err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message}`;

export interface SwapCommandOptions {
  admin?: string;
  /** The new configuration: JSON text, or @file with JSON. */
  config?: string;
  json?: boolean;
}

interface SwapAnswer {
  plugin: string;
  version: string;
  abi: string;
  sha256: string;
  file: string;
  workers: { worker: number; ok: boolean; swapped: number; errors: string[] }[];
}

/** `ctl plugin swap <name> <file>`; resolves the exit code. */
export async function swapCommand(name: string, file: string, opts: SwapCommandOptions, io: CommandOutput): Promise<number> {
  const admin = opts.admin ?? DEFAULT_ADMIN;
  let config: unknown;
  if (opts.config !== undefined) {
    try {
      config = JSON.parse(opts.config.startsWith('@') ? readFileSync(opts.config.slice(1), 'utf8') : opts.config);
    } catch (err) {
      io.err(`wasmscale ctl plugin swap: --config is not JSON: ${(err as Error).message}\n`);
      return 2;
    }
  }
  let r: AdminAnswer;
  try {
    r = await call(admin, `/v1/plugins/${encodeURIComponent(name)}/swap`, { method: 'POST', body: { file: resolve(file), ...(config !== undefined ? { config } : {}) } });
  } catch (err) {
    io.err(`wasmscale ctl plugin swap: ${unreachable(admin, err)}\n`);
    return 2;
  }
  if (r.status !== 200) {
    io.err(`wasmscale ctl plugin swap: ${errorOf(r.body)}\n`);
    return 1;
  }
  const a = r.body as SwapAnswer;
  if (opts.json) {
    io.out(`${JSON.stringify(a, null, 2)}\n`);
    return 0;
  }
  io.out(`swapped ${a.plugin} to ${a.version} (ABI ${a.abi}, sha256 ${a.sha256.slice(0, 16)}…) from ${a.file}\n`);
  for (const w of a.workers) io.out(`  worker ${w.worker}: ${w.ok ? 'ok' : 'FAILED'}, ${w.swapped} service(s)${w.errors.length ? `: ${w.errors.join('; ')}` : ''}\n`);
  return 0;
}

interface ListedPlugin {
  name: string;
  kind: string | null;
  version: string | null;
  abi: string | null;
  file: string;
  services: string[];
  swaps: number;
  quarantined: boolean;
  quarantineReasons: string[];
  total: { calls: number; traps: number; errors: number; policyDecisions: number };
}

/** `ctl plugin list` / `ctl plugin show <name>`; resolves the exit code. */
export async function listCommand(name: string | undefined, opts: { admin?: string; json?: boolean }, io: CommandOutput): Promise<number> {
  const admin = opts.admin ?? DEFAULT_ADMIN;
  const what = name === undefined ? 'list' : 'show';
  let r: AdminAnswer;
  try {
    r = await call(admin, name === undefined ? '/v1/plugins' : `/v1/plugins/${encodeURIComponent(name)}`);
  } catch (err) {
    io.err(`wasmscale ctl plugin ${what}: ${unreachable(admin, err)}\n`);
    return 2;
  }
  if (r.status !== 200) {
    io.err(`wasmscale ctl plugin ${what}: ${errorOf(r.body)}\n`);
    return 1;
  }
  if (opts.json || name !== undefined) {
    io.out(`${JSON.stringify(r.body, null, 2)}\n`);
    return 0;
  }
  const rows = r.body as ListedPlugin[];
  if (rows.length === 0) io.out('no plugins configured\n');
  for (const p of rows) {
    const t = p.total;
    io.out(`${p.name}  ${p.kind ?? 'not loaded'} ${p.version ?? ''} ABI ${p.abi ?? '-'}  ${p.file}\n`);
    io.out(`  services: ${p.services.join(', ') || '-'}  swaps: ${p.swaps}  calls: ${t.calls}  traps: ${t.traps}  errors: ${t.errors}  policy decisions: ${t.policyDecisions}\n`);
    if (p.quarantined) io.out(`  QUARANTINED: ${p.quarantineReasons.join('; ')}\n`);
  }
  return 0;
}

const STDIO: CommandOutput = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

async function exitWith(code: Promise<number>): Promise<void> {
  const c = await code;
  if (c !== 0) process.exit(c);
}

export function addCtlCommands(program: Command): void {
  const ctl = program.command('ctl').description("control a running proxy through its admin endpoint");
  const plugin = ctl.command('plugin').description('plugins of a running proxy: list, show, hot-swap');
  const adminOption = ['--admin <url>', `admin endpoint (default ${DEFAULT_ADMIN})`] as const;
  plugin
    .command('swap')
    .description("replace a plugin's .wasm in the running proxy without a restart (the old version serves on if the new one is refused)")
    .argument('<name>', 'the plugin (plugins.<name> in the configuration)')
    .argument('<file>', 'the new .wasm module')
    .option(...adminOption)
    .option('--config <json>', 'a new plugin configuration (JSON, or @file)')
    .option('--json', 'machine-readable output')
    .action((name: string, file: string, opts: SwapCommandOptions) => exitWith(swapCommand(name, file, opts, STDIO)));
  plugin
    .command('list')
    .description('every configured plugin: version, file, services, swaps, metrics, quarantine')
    .option(...adminOption)
    .option('--json', 'machine-readable output')
    .action((opts: { admin?: string; json?: boolean }) => exitWith(listCommand(undefined, opts, STDIO)));
  plugin
    .command('show')
    .description('one plugin, with per-worker metrics (JSON)')
    .argument('<name>', 'the plugin')
    .option(...adminOption)
    .action((name: string, opts: { admin?: string }) => exitWith(listCommand(name, opts, STDIO)));
}

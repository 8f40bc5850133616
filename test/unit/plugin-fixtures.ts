// Builds the plugin projects the tests use (test/fixtures/plugins/*, plugins-as/*) with the real
// `wasmscale plugin build` code, once: outputs are cached under the OS temp dir, keyed by a hash
// of the project's and the SDK's sources, so a test run only compiles what changed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlugin } from '../../host/plugins/build/build-plugin.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = join(tmpdir(), 'wasmscale-plugin-cache');

function sources(path: string, out: string[] = []): string[] {
  if (statSync(path).isFile()) return [...out, path];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'build' || entry.name === 'node_modules') continue;
    const p = join(path, entry.name);
    if (entry.isDirectory()) sources(p, out);
    else if (/\.(ts|json)$/.test(entry.name)) out.push(p);
  }
  return out;
}

function hashOf(paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths.flatMap((x) => sources(x)).sort()) h.update(p).update(readFileSync(p));
  h.update(readFileSync(join(REPO, 'host/plugins/build/build-plugin.ts')));
  return h.digest('hex').slice(0, 16);
}

/** The .wasm of the plugin project at `dir` (built on first use). */
export async function buildCached(dir: string): Promise<string> {
  const key = `${basename(dir)}-${hashOf([dir, join(REPO, 'sdk/assembly'), join(REPO, 'sdk/index.ts')])}`;
  const done = join(CACHE, key);
  const name = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }).name;
  const wasm = join(done, `${name}.wasm`);
  if (existsSync(wasm)) return wasm;
  const work = `${done}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const r = await buildPlugin(dir, { outDir: work });
  mkdirSync(CACHE, { recursive: true });
  try {
    renameSync(work, done);
  } catch {
    // Another process finished the same build first: use theirs.
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(wasm)) throw new Error(`build of ${dir} produced ${r.wasmPath}, expected ${wasm}`);
  return wasm;
}

/** A test plugin from test/fixtures/plugins/. */
export const fixturePlugin = (name: string): Promise<string> => buildCached(join(REPO, 'test/fixtures/plugins', name));

/** A bundled plugin from plugins-as/, e.g. 'routers/readconnroute'. */
export const bundledPlugin = (relative: string): Promise<string> => buildCached(join(REPO, 'plugins-as', relative));

/** Runs `wasmscale <args>` from the source tree (tsx) and gives its exit status and output. */
export function runCli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'host/cli.ts', ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

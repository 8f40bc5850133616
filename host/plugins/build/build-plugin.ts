// `wasmscale plugin build <dir>`: compiles an AssemblyScript plugin project with the
// assemblyscript compiler API. A project is a directory with assembly/index.ts (the entry, which
// re-exports "wasmscale-sdk/assembly/exports") and a package.json naming the plugin; the output is
// build/<name>.wasm. The options are the ones ABI.md requires of a module: a declared memory
// maximum, no WASI, the SDK's abort handler instead of an `env.abort` import.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { bundledSdkDir } from './sdk-location.js';

export interface BuildOptions {
  /** Where to write <name>.wasm; default <dir>/build. */
  outDir?: string;
  /** Debug build: no optimization, debug info, assertions kept. Default false (-O3). */
  debug?: boolean;
  /** Declared memory maximum in 64 KiB pages (default: package.json wasmscale.memory_pages or 256 = 16 MiB). */
  maximumMemoryPages?: number;
  /** Also write build/<name>.wat. */
  textFile?: boolean;
}

export interface BuildResult {
  name: string;
  wasmPath: string;
  size: number;
  /** The SDK the build resolved "wasmscale-sdk" to. */
  sdkDir: string;
  /** True when the project has no wasmscale-sdk dependency installed and the bundled SDK was used. */
  usedBundledSdk: boolean;
  /** Compiler warnings, if any. */
  warnings: string;
  ms: number;
}

export class BuildError extends Error {
  constructor(message: string, readonly diagnostics = '') {
    super(diagnostics ? `${message}\n${diagnostics}` : message);
    this.name = 'BuildError';
  }
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const DEFAULT_MEMORY_PAGES = 256;

interface ProjectPackage {
  name?: string;
  wasmscale?: { name?: string; memory_pages?: number };
}

function readPackage(dir: string): ProjectPackage {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProjectPackage;
  } catch (err) {
    throw new BuildError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** The plugin's name: package.json wasmscale.name, else its name without an npm scope, else the directory's. */
function pluginName(dir: string, pkg: ProjectPackage): string {
  const name = pkg.wasmscale?.name ?? pkg.name?.replace(/^@[^/]+\//, '') ?? basename(dir);
  if (!NAME_RE.test(name)) {
    throw new BuildError(`plugin name ${JSON.stringify(name)} (from ${pkg.name ? 'package.json' : 'the directory name'}) must start with a letter and have only letters, digits, "_", "." and "-"`);
  }
  return name;
}

/** node_modules/wasmscale-sdk as asc resolves it: from the project directory upwards. */
function installedSdk(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', 'wasmscale-sdk');
    if (existsSync(join(candidate, 'index.ts'))) return candidate;
    if (dirname(d) === d) return null;
  }
}

export async function buildPlugin(projectDir: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const dir = resolve(projectDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BuildError(`${dir}: no such directory`);
  const entry = join(dir, 'assembly', 'index.ts');
  if (!existsSync(entry)) throw new BuildError(`${dir}: no assembly/index.ts (the plugin's entry file)`);
  const pkg = readPackage(dir);
  const name = pluginName(dir, pkg);
  const pages = opts.maximumMemoryPages ?? pkg.wasmscale?.memory_pages ?? DEFAULT_MEMORY_PAGES;
  if (!Number.isInteger(pages) || pages < 1 || pages > 65536) throw new BuildError(`memory pages must be an integer from 1 to 65536, got ${pages}`);
  const outDir = resolve(dir, opts.outDir ?? 'build');
  const wasmPath = join(outDir, `${name}.wasm`);

  // asc resolves packages from node_modules above its base directory. A project that has not
  // installed wasmscale-sdk (e.g. the bundled plugins in this repository) gets the SDK that ships
  // with this wasmscale, through a temporary package directory passed with --path.
  let sdkDir = installedSdk(dir);
  let tempPath: string | null = null;
  const usedBundledSdk = sdkDir === null;
  if (sdkDir === null) {
    sdkDir = bundledSdkDir();
    tempPath = mkdtempSync(join(tmpdir(), 'wasmscale-sdk-path-'));
    symlinkSync(sdkDir, join(tempPath, 'wasmscale-sdk'), 'dir');
  }

  const args = [
    entry,
    '--baseDir', dir,
    '--outFile', wasmPath,
    // TLSF + incremental GC: plugins run for days; AS frees what they drop.
    '--runtime', 'incremental',
    // ABI.md §2: the memory must declare a maximum within the plugin's quota.
    '--maximumMemory', String(pages),
    // ABI.md §2: the SDK's abort (logs through wasmscale_v1.log, then traps): no env.abort import.
    '--use', 'abort=~lib/wasmscale-sdk/assembly/abort/wsxAbort',
    '--noColors',
    ...(opts.debug ? ['--debug'] : ['-O3']),
    ...(opts.textFile ? ['--textFile', join(outDir, `${name}.wat`)] : []),
    ...(tempPath ? ['--path', tempPath] : []),
  ];

  try {
    const asc = (await import('assemblyscript/asc')).default;
    const { error, stdout, stderr } = await asc.main(args, {});
    const diagnostics = `${stdout.toString()}${stderr.toString()}`.trim();
    if (error) throw new BuildError(`${name}: compilation failed (${error.message})`, diagnostics);
    const size = statSync(wasmPath).size;
    return { name, wasmPath, size, sdkDir, usedBundledSdk, warnings: diagnostics, ms: performance.now() - started };
  } finally {
    if (tempPath) rmSync(tempPath, { recursive: true, force: true });
  }
}

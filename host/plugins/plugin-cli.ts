// `wasmscale plugin build|inspect|test`. Registered by host/cli.ts; each action loads its module
// only when run (the AssemblyScript compiler and binaryen are heavy), so other commands stay fast.
// Exit codes: 0 fine, 1 the build failed / the module is not loadable / a test case failed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';

/** Where a command writes; the CLI passes process.stdout/stderr, tests collect strings. */
export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export interface BuildCommandOptions {
  outDir?: string;
  debug?: boolean;
  wat?: boolean;
  memoryPages?: string;
}

/** `plugin build`; resolves the exit code. */
export async function buildCommand(dir: string, opts: BuildCommandOptions, io: CommandOutput): Promise<number> {
  const { buildPlugin } = await import('./build/build-plugin.js');
  let result;
  try {
    result = await buildPlugin(dir, {
      ...(opts.outDir ? { outDir: opts.outDir } : {}),
      ...(opts.debug ? { debug: true } : {}),
      ...(opts.wat ? { textFile: true } : {}),
      ...(opts.memoryPages ? { maximumMemoryPages: Number(opts.memoryPages) } : {}),
    });
  } catch (err) {
    io.err(`wasmscale plugin build: ${errorText(err)}\n`);
    return 1;
  }
  if (result.warnings) io.err(`${result.warnings}\n`);
  if (result.usedBundledSdk) io.out(`note: wasmscale-sdk is not installed in ${dir}; used the SDK bundled with wasmscale (${result.sdkDir})\n`);
  // A module that builds but would not load is reported now, not at deployment.
  const { inspectPlugin } = await import('./inspect.js');
  try {
    const d = (await inspectPlugin(result.wasmPath)).descriptor;
    io.out(`built ${result.wasmPath} (${result.size} bytes, ${Math.round(result.ms)} ms): ${d.name} ${d.version}, ${d.kind}, ABI ${d.abi.major}.${d.abi.minor}\n`);
    return 0;
  } catch (err) {
    io.err(`wasmscale plugin build: built ${result.wasmPath}, but it is not loadable: ${errorText(err)}\n`);
    return 1;
  }
}

/** `plugin inspect`; resolves the exit code. */
export async function inspectCommand(file: string, opts: { json?: boolean }, io: CommandOutput): Promise<number> {
  const { inspectPlugin, formatInspect } = await import('./inspect.js');
  try {
    const r = await inspectPlugin(file);
    io.out(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatInspect(r)}\n`);
    return 0;
  } catch (err) {
    io.err(`wasmscale plugin inspect: ${errorText(err)}\n`);
    return 1;
  }
}

/** A plugin project directory is built first (into <dir>/build, as `plugin build` does); a file is used as it is. */
async function moduleOf(fileOrDir: string, io: CommandOutput): Promise<string> {
  if (!existsSync(fileOrDir) || !statSync(fileOrDir).isDirectory()) return fileOrDir;
  const { buildPlugin } = await import('./build/build-plugin.js');
  const r = await buildPlugin(fileOrDir);
  if (r.warnings) io.err(`${r.warnings}\n`);
  io.out(`built ${r.wasmPath} (${r.size} bytes)\n`);
  return r.wasmPath;
}

/** `plugin test`; resolves the exit code. */
export async function testCommand(fileOrDir: string, casesFile: string, io: CommandOutput): Promise<number> {
  let cases;
  try {
    cases = JSON.parse(readFileSync(casesFile, 'utf8'));
  } catch (err) {
    io.err(`wasmscale plugin test: cannot read ${casesFile}: ${errorText(err)}\n`);
    return 1;
  }
  const { runPluginCases } = await import('./testkit-cases.js');
  let report;
  try {
    report = await runPluginCases(await moduleOf(fileOrDir, io), cases);
  } catch (err) {
    io.err(`wasmscale plugin test: ${errorText(err)}\n`);
    return 1;
  }
  for (const r of report.results) {
    const detail = r.ok ? '' : `\n${r.detail.split('\n').map((l) => `         ${l}`).join('\n')}`;
    io.out(`${r.ok ? 'ok  ' : 'FAIL'} ${String(r.step).padStart(3)} ${r.what}${detail}\n`);
  }
  io.out(`${report.passed} passed, ${report.failed} failed\n`);
  return report.failed > 0 ? 1 : 0;
}

const STDIO: CommandOutput = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

async function exitWith(code: Promise<number>): Promise<void> {
  const c = await code;
  if (c !== 0) process.exit(c);
}

export function addPluginCommands(program: Command): void {
  const plugin = program.command('plugin').description('build, inspect and test WebAssembly plugins');
  plugin
    .command('build')
    .description('compile an AssemblyScript plugin project (assembly/index.ts) to build/<name>.wasm')
    .argument('<dir>', 'the plugin project directory')
    .option('-o, --out-dir <dir>', 'output directory (default <dir>/build)')
    .option('--debug', 'unoptimized build with debug information')
    .option('--wat', 'also write the text format (build/<name>.wat)')
    .option('--memory-pages <n>', 'declared memory maximum in 64 KiB pages (default 256 = 16 MiB)')
    .action((dir: string, opts: BuildCommandOptions) => exitWith(buildCommand(dir, opts, STDIO)));
  plugin
    .command('inspect')
    .description("print a plugin's descriptor and ABI version, and whether this host can load it")
    .argument('<file>', 'the .wasm module')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => exitWith(inspectCommand(file, opts, STDIO)));
  plugin
    .command('test')
    .description('run a router or filter plugin offline (no database) against the sessions, statements, replies and server table of a cases file')
    .argument('<file>', 'the .wasm module, or a plugin project directory (built first)')
    .argument('<cases>', 'the cases file (JSON; see host/plugins/testkit-cases.ts and sdk/README.md)')
    .action((file: string, cases: string) => exitWith(testCommand(file, cases, STDIO)));
}

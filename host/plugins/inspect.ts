// `wasmscale plugin inspect <file.wasm>`: what a module is (descriptor, ABI version, imports,
// memory) and whether this host would load it. Runs the same checks as a real load, without a
// configuration: the sandbox's (imports, memory, instructions), the marker, the descriptor.
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { formatAbi, HOST_ABI_MAJOR, HOST_ABI_MINOR } from './abi/constants.js';
import type { PluginDescriptor } from './abi/descriptor.js';
import { PluginLoadError, sha256, validateModule } from './plugin-loader.js';
import { prepareModule } from './sandbox/prepare.js';

export interface InspectReport {
  file: string;
  size: number;
  sha256: string;
  hostAbi: string;
  descriptor: PluginDescriptor;
  imports: string[];
  exports: string[];
  memory: { maxPages: number; maxBytes: number; rewritten: boolean };
  sandbox: { functions: number; loops: number; instrumentMs: number };
}

/** Largest quota inspect allows, so it reports the module's own maximum (4 GiB). */
const INSPECT_MAX_PAGES = 65536;

/** Throws (PluginLoadError, the sandbox's PluginRejected, or a read error) with a clear message. */
export async function inspectPlugin(file: string): Promise<InspectReport> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PluginLoadError(file, `cannot read it: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  const prepared = await prepareModule(bytes, { maxMemoryPages: INSPECT_MAX_PAGES }, { name: file });
  const { descriptor } = await validateModule(file, prepared.bytes, pino({ level: 'silent' }));
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  return {
    file,
    size: bytes.length,
    sha256: sha256(bytes),
    hostAbi: formatAbi(HOST_ABI_MAJOR, HOST_ABI_MINOR),
    descriptor,
    imports: WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`),
    exports: WebAssembly.Module.exports(module).map((e) => e.name),
    memory: { maxPages: prepared.report.memoryMaxPages, maxBytes: prepared.report.memoryMaxPages * 65536, rewritten: prepared.report.memoryMaxRewritten },
    sandbox: { functions: prepared.report.functions, loops: prepared.report.loops, instrumentMs: prepared.report.instrumentMs },
  };
}

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** "a.x, a.y, b.z" → "a: x, y; b: z". */
function groupImports(imports: string[]): string {
  const by = new Map<string, string[]>();
  for (const i of imports) {
    const dot = i.lastIndexOf('.');
    const mod = i.slice(0, dot);
    by.set(mod, [...(by.get(mod) ?? []), i.slice(dot + 1)]);
  }
  return [...by].map(([m, names]) => `${m}: ${names.join(', ')}`).join('; ');
}

/** The report as the CLI prints it. */
export function formatInspect(r: InspectReport): string {
  const d = r.descriptor;
  const abi = formatAbi(d.abi.major, d.abi.minor);
  const lines = [
    `file:      ${r.file} (${r.size} bytes, sha256 ${r.sha256})`,
    `plugin:    ${d.name} ${d.version} (${d.kind})${d.sdk ? `, built with ${d.sdk}` : ''}`,
    `ABI:       ${abi} (this host speaks ${r.hostAbi}: loadable)`,
    `hooks:     ${d.hooks.join(', ')}`,
    `memory:    at most ${r.memory.maxPages} pages (${mib(r.memory.maxBytes)})${r.memory.rewritten ? ' - the module declares no maximum; the quota is written in at load' : ''}`,
    `imports:   ${groupImports(r.imports) || '(none)'}`,
    `sandbox:   accepted; ${r.sandbox.functions} functions and ${r.sandbox.loops} loops metered (${r.sandbox.instrumentMs.toFixed(0)} ms)`,
  ];
  if (d.configSchema !== undefined) lines.push(`config:    ${JSON.stringify(d.configSchema)}`);
  return lines.join('\n');
}

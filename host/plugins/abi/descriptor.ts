// The describe() output (ABI.md §4) checked against the module: name, kind, version, ABI version
// (must equal the marker), hooks (known, allowed for the kind, the required one present, each
// exported). Every problem is reported in one message naming the plugin.
import { HOOKS, KIND_HOOKS, formatAbi, type HookName, type PluginKind } from './constants.js';

export interface PluginDescriptor {
  name: string;
  kind: PluginKind;
  version: string;
  abi: { major: number; minor: number };
  hooks: HookName[];
  configSchema?: unknown;
  /** Free text the SDK adds ("wasmscale-sdk 1.0.0"); absent for other toolchains. */
  sdk?: string;
  /** 1.2: false when the plugin reads no classification (kind, flags, digest): the host may skip it. */
  classify: boolean;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export class DescriptorError extends Error {
  override name = 'DescriptorError';
}

/**
 * Parses describe()'s output. `marker` is the module's wsx_abi_version; `exported` its export
 * names. Throws DescriptorError listing every problem.
 */
export function parseDescriptor(text: string, marker: { major: number; minor: number }, exported: ReadonlySet<string>): PluginDescriptor {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DescriptorError(`describe() did not return JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DescriptorError('describe() must return a JSON object');
  const d = raw as Record<string, unknown>;
  if (typeof d.error === 'string') throw new DescriptorError(`describe() reported an error: ${d.error}`);
  const problems: string[] = [];

  const name = typeof d.name === 'string' ? d.name : '';
  if (!NAME_RE.test(name)) problems.push(`name must be a string starting with a letter (letters, digits, "_", ".", "-"), got ${JSON.stringify(d.name)}`);
  const kind = d.kind === 'router' || d.kind === 'filter' ? d.kind : null;
  if (!kind) problems.push(`kind must be "router" or "filter", got ${JSON.stringify(d.kind)}`);
  const version = typeof d.version === 'string' && d.version !== '' ? d.version : '';
  if (!version) problems.push(`version must be a non-empty string, got ${JSON.stringify(d.version)}`);

  const want = formatAbi(marker.major, marker.minor);
  if (d.abi !== want) problems.push(`abi is ${JSON.stringify(d.abi)} but wsx_abi_version() says ${want}`);

  const hooks: HookName[] = [];
  if (!Array.isArray(d.hooks)) {
    problems.push(`hooks must be a list of hook names, got ${JSON.stringify(d.hooks)}`);
  } else {
    for (const h of d.hooks) {
      if (typeof h !== 'string' || !(HOOKS as readonly string[]).includes(h)) {
        problems.push(`unknown hook ${JSON.stringify(h)} (ABI ${want} hooks: ${HOOKS.join(', ')})`);
        continue;
      }
      const hook = h as HookName;
      if (kind && !KIND_HOOKS[kind].allowed.includes(hook)) problems.push(`hook "${hook}" is not for a ${kind}`);
      else if (!exported.has(`wsx_${hook}`)) problems.push(`lists hook "${hook}" but does not export wsx_${hook}`);
      else if (!hooks.includes(hook)) hooks.push(hook);
    }
    if (kind && !hooks.includes(KIND_HOOKS[kind].required) && !problems.some((p) => p.includes(`"${KIND_HOOKS[kind].required}"`))) {
      problems.push(`a ${kind} must subscribe to "${KIND_HOOKS[kind].required}" (export wsx_${KIND_HOOKS[kind].required} and list it in hooks)`);
    }
  }
  const schema = d.config_schema;
  if (schema !== undefined && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    problems.push('config_schema must be a JSON Schema object');
  }
  if (d.classify !== undefined && typeof d.classify !== 'boolean') problems.push(`classify must be true or false, got ${JSON.stringify(d.classify)}`);
  if (problems.length > 0) throw new DescriptorError(`bad descriptor: ${problems.join('; ')}`);
  return {
    name,
    kind: kind!,
    version,
    abi: { ...marker },
    hooks,
    classify: d.classify !== false,
    ...(schema !== undefined ? { configSchema: schema } : {}),
    ...(typeof d.sdk === 'string' ? { sdk: d.sdk } : {}),
  };
}

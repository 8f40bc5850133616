// Reading wasmscale.yaml: YAML → schema + cross-checks → normalized Config. Every problem is
// collected and reported at once, each as "file:line:col path: reason", because fixing a config
// one error per start-up is miserable.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type * as z from 'zod';
import { checkPluginReferences, resolvePluginFile } from './plugin-refs.js';
import { checkReferences, type PathSegment, type Problem } from './refs.js';
import { configSchema, show, type ParsedConfig } from './schema.js';
import type { Config } from './types.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** `services.main.servers[1]`; names that would read ambiguously are quoted: `servers["db 1"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// Optimal string alignment distance: a swap of two neighbours ("prot" for "port") counts as one.
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest known word, if it is close enough to be a likely typo. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

// zod's unrecognized_keys issue knows the offending keys but not the allowed ones; the error map
// sees the object schema, so it passes the allowed keys on in the message, decoded below.
const KNOWN_KEYS = 'known-keys:';

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping', record: 'a mapping', array: 'a list', string: 'a string', number: 'a number',
  boolean: 'true or false',
};

const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'unrecognized_keys') {
    const def = (iss.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def;
    return KNOWN_KEYS + JSON.stringify(Object.keys(def?.shape ?? {}));
  }
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'required';
    return `expected ${TYPE_NAMES[iss.expected] ?? iss.expected}, got ${show(iss.input)}`;
  }
  return undefined;
};

function issueProblems(issue: z.core.$ZodIssue): Problem[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
  const known: string[] = issue.message.startsWith(KNOWN_KEYS)
    ? JSON.parse(issue.message.slice(KNOWN_KEYS.length))
    : [];
  return issue.keys.map((key) => {
    const hint = didYouMean(key, known);
    const list = known.length ? ` (known keys: ${known.join(', ')})` : '';
    return {
      path: [...path, key],
      atKey: true,
      message: `unknown key ${JSON.stringify(key)}` + (hint ? ` (did you mean "${hint}"?)` : list),
    };
  });
}

/** Offset of the node at `path` (of its key if atKey), or of the deepest ancestor that exists. */
function locate(doc: Document, path: readonly PathSegment[], atKey = false): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      if (atKey && i === path.length - 1) return (pair.key as Node).range?.[0] ?? offset;
      // `key:` with nothing after it has a null value node; point at the key then.
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
    }
    const range = (next as Node | undefined)?.range;
    if (!range) break;
    node = next;
    offset = range[0];
  }
  return offset;
}

function normalize(p: ParsedConfig, baseDir: string): Config {
  const named = <T>(o: Record<string, T>) =>
    Object.fromEntries(Object.entries(o).map(([name, v]) => [name, { name, ...v }]));
  const plugins = Object.fromEntries(Object.entries(p.plugins).map(([name, v]) =>
    [name, { name, ...v, file: resolvePluginFile(baseDir, v.file) }]));
  return {
    workers: p.workers === 'auto' ? availableParallelism() : p.workers,
    log: p.log,
    admin: p.admin,
    servers: named(p.servers),
    monitors: named(p.monitors),
    plugins,
    services: named(p.services),
    listeners: named(p.listeners),
  };
}

/**
 * Parses and validates config text; `fileName` is used in messages and, unless `baseDir` is
 * given, its directory is what relative paths in the config (plugin files) are relative to.
 * Throws ConfigError.
 */
export function parseConfig(text: string, fileName: string, baseDir: string = dirname(resolve(fileName))): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return `${fileName}:`;
    const { line, col } = lineCounter.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };

  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${where(e.pos[0])} YAML syntax error: ${e.message}`));
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) throw new ConfigError([`${fileName}: the file is empty`]);
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([`${where(locate(doc, []))} expected a mapping at the top level, got ${show(data)}`]);
  }

  const result = configSchema.safeParse(data, { error: errorMap });
  const problems = [
    ...(result.success ? [] : result.error.issues.flatMap(issueProblems)),
    ...checkReferences(data as Record<string, unknown>),
    ...checkPluginReferences(data as Record<string, unknown>, baseDir),
  ];
  if (problems.length > 0 || !result.success) {
    const located = problems.map((p, i) => ({ p, i, at: locate(doc, p.path, p.atKey) }));
    // In file order, so the list reads top to bottom like the file.
    located.sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity) || a.i - b.i);
    throw new ConfigError(
      located.map(({ p, at }) => `${where(at)} ${p.path.length ? `${formatPath(p.path)}: ` : ''}${p.message}`),
    );
  }
  return normalize(result.data, baseDir);
}

/** Reads and validates a config file. Throws ConfigError, also when the file cannot be read. */
export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([`${path}: cannot read the file: ${e.code === 'ENOENT' ? 'no such file' : e.message}`]);
  }
  return parseConfig(text, path);
}

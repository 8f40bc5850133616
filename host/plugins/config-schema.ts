// Checks a plugin's configuration against the JSON Schema its descriptor declares (ABI.md §4),
// before configure() sees it. A deliberately small subset, enough for configuration objects:
// type (one or a list), properties, required, additionalProperties (boolean), enum, minimum,
// maximum, minLength, maxLength, items. Other keywords are ignored (the plugin's configure()
// has the last word anyway).

type Schema = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function check(value: unknown, schema: unknown, path: string, out: string[]): void {
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Schema;
  const at = path || '(config)';
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(value, t))) {
      out.push(`${at}: expected ${types.join(' or ')}, got ${show(value)}`);
      return;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push(`${at}: must be one of ${s.enum.map(show).join(', ')}, got ${show(value)}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${at}: must be at least ${s.minimum}, got ${value}`);
    if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${at}: must be at most ${s.maximum}, got ${value}`);
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) out.push(`${at}: must have at least ${s.minLength} characters`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) out.push(`${at}: must have at most ${s.maxLength} characters`);
  }
  if (Array.isArray(value) && s.items !== undefined) {
    value.forEach((item, i) => check(item, s.items, `${path}[${i}]`, out));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Record<string, unknown>;
    for (const key of Array.isArray(s.required) ? (s.required as string[]) : []) {
      if (!(key in obj)) out.push(`${path ? `${path}.` : ''}${key}: required`);
    }
    for (const [key, v] of Object.entries(obj)) {
      const sub = path ? `${path}.${key}` : key;
      if (key in props) check(v, props[key], sub, out);
      else if (s.additionalProperties === false) out.push(`${sub}: unknown setting (known: ${Object.keys(props).join(', ') || 'none'})`);
      else if (typeof s.additionalProperties === 'object') check(v, s.additionalProperties, sub, out);
    }
  }
}

/** Problems of `config` against `schema`, each "path: reason"; empty when it conforms. */
export function checkConfigSchema(config: unknown, schema: unknown): string[] {
  const out: string[] = [];
  check(config, schema, '', out);
  return out;
}

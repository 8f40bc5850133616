// Checks that span sections: object names, references between objects, clashing addresses.
// They run on the raw YAML data (not on zod's output) so that they still run when the schema
// found other problems: the operator gets every problem in one go. Anything of the wrong type
// is skipped here, because the schema already reports it.
import { checkMonitorReferences } from './monitor-refs.js';
import { NAME_RE } from './schema.js';

export type PathSegment = string | number;

export interface Problem {
  path: PathSegment[];
  message: string;
  /** Point at the key itself (an unknown or badly named key) rather than at its value. */
  atKey?: boolean;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function entries(data: Obj, section: string): [string, Obj][] {
  const s = data[section];
  return isObj(s) ? Object.entries(s).filter((e): e is [string, Obj] => isObj(e[1])) : [];
}

function definedList(names: string[], what: string): string {
  return names.length ? `defined ${what}: ${names.join(', ')}` : `no ${what} are defined`;
}

// A wildcard address takes the port on every interface, so it clashes with any other host.
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

function clashes(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return a.port === b.port && (a.host === b.host || WILDCARDS.has(a.host) || WILDCARDS.has(b.host));
}

export function checkReferences(data: Obj): Problem[] {
  const problems: Problem[] = [];

  for (const section of ['servers', 'monitors', 'services', 'listeners']) {
    const s = data[section];
    if (!isObj(s)) continue;
    for (const name of Object.keys(s)) {
      if (!NAME_RE.test(name)) {
        problems.push({
          path: [section, name],
          atKey: true,
          message: `invalid name ${JSON.stringify(name)}: a name starts with a letter and has only letters, digits, "_", "." and "-"`,
        });
      }
    }
  }

  const servers = isObj(data.servers) ? Object.keys(data.servers) : undefined;
  for (const [name, svc] of entries(data, 'services')) {
    if (!Array.isArray(svc.servers)) continue;
    const seen = new Set<string>();
    svc.servers.forEach((ref, i) => {
      if (typeof ref !== 'string') return;
      const path = ['services', name, 'servers', i];
      if (seen.has(ref)) problems.push({ path, message: `server "${ref}" is listed twice` });
      seen.add(ref);
      if (servers && !servers.includes(ref)) {
        problems.push({ path, message: `unknown server "${ref}" (${definedList(servers, 'servers')})` });
      }
    });
  }

  problems.push(...checkMonitorReferences(data));

  const services = isObj(data.services) ? Object.keys(data.services) : undefined;
  const bound: { what: string; host: string; port: number }[] = [];
  const admin = isObj(data.admin) ? data.admin : {};
  if (admin.enabled !== false) {
    const host = admin.host ?? '127.0.0.1';
    const port = admin.port ?? 8989;
    if (typeof host === 'string' && typeof port === 'number') bound.push({ what: 'the admin endpoint', host, port });
  }
  for (const [name, l] of entries(data, 'listeners')) {
    if (typeof l.service === 'string' && services && !services.includes(l.service)) {
      problems.push({
        path: ['listeners', name, 'service'],
        message: `unknown service "${l.service}" (${definedList(services, 'services')})`,
      });
    }
    const host = l.host ?? '127.0.0.1';
    if (typeof host !== 'string' || typeof l.port !== 'number') continue;
    const me = { what: `listener "${name}"`, host, port: l.port };
    const other = bound.find((b) => clashes(b, me));
    if (other) {
      problems.push({
        path: ['listeners', name, 'port'],
        message: `address ${host}:${l.port} is already used by ${other.what} (${other.host}:${other.port})`,
      });
    }
    bound.push(me);
  }
  return problems;
}

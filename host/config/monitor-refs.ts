// Cross-references of the `monitors` section: a monitor's servers exist and belong to no other
// monitor (a server has one source of truth for its role), a service's monitor exists and
// monitors every server the service lists. Runs on the raw YAML data, like refs.ts.
import type { PathSegment, Problem } from './refs.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function entries(data: Obj, section: string): [string, Obj][] {
  const s = data[section];
  return isObj(s) ? Object.entries(s).filter((e): e is [string, Obj] => isObj(e[1])) : [];
}

function strings(v: unknown): [string, number][] {
  return Array.isArray(v) ? v.flatMap((x, i): [string, number][] => (typeof x === 'string' ? [[x, i]] : [])) : [];
}

export function checkMonitorReferences(data: Obj): Problem[] {
  const problems: Problem[] = [];
  const servers = isObj(data.servers) ? Object.keys(data.servers) : undefined;
  const monitors = isObj(data.monitors) ? Object.keys(data.monitors) : [];
  const monitoredBy = new Map<string, string>();
  const monitorServers = new Map<string, string[]>();

  for (const [name, mon] of entries(data, 'monitors')) {
    const seen = new Set<string>();
    monitorServers.set(name, strings(mon.servers).map(([s]) => s));
    for (const [ref, i] of strings(mon.servers)) {
      const path: PathSegment[] = ['monitors', name, 'servers', i];
      if (seen.has(ref)) {
        problems.push({ path, message: `server "${ref}" is listed twice` });
        continue;
      }
      seen.add(ref);
      if (servers && !servers.includes(ref)) {
        const defined = servers.length ? `defined servers: ${servers.join(', ')}` : 'no servers are defined';
        problems.push({ path, message: `unknown server "${ref}" (${defined})` });
        continue;
      }
      const other = monitoredBy.get(ref);
      if (other) {
        problems.push({ path, message: `server "${ref}" is already monitored by monitor "${other}" (a server has one monitor)` });
      } else {
        monitoredBy.set(ref, name);
      }
    }
  }

  for (const [name, svc] of entries(data, 'services')) {
    if (svc.monitor === undefined || typeof svc.monitor !== 'string') continue;
    const mon = svc.monitor;
    const own = monitorServers.get(mon);
    if (!monitors.includes(mon)) {
      const defined = monitors.length ? `defined monitors: ${monitors.join(', ')}` : 'no monitors are defined';
      problems.push({ path: ['services', name, 'monitor'], message: `unknown monitor "${mon}" (${defined})` });
      continue;
    }
    if (!own) continue;
    for (const [ref, i] of strings(svc.servers)) {
      if (own.includes(ref) || (servers && !servers.includes(ref))) continue;
      problems.push({
        path: ['services', name, 'servers', i],
        message: `server "${ref}" is not monitored by monitor "${mon}" (its servers: ${own.join(', ')})`,
      });
    }
  }
  return problems;
}

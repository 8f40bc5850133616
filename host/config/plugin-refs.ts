// Cross-checks of the `plugins` section: plugin names, that each plugin's .wasm exists (relative
// to the config file's directory), and that a service's router is built in or a defined plugin.
// Runs on the raw YAML data, like refs.ts. Whether the module is a valid router is only known
// once it is loaded (host/plugins validates it at start-up, with the plugin's name in the message).
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Problem } from './refs.js';
import { NAME_RE, ROUTERS } from './schema.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a plugin's `file` points: relative paths are relative to the config file's directory. */
export function resolvePluginFile(baseDir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(baseDir, file);
}

export function checkPluginReferences(data: Obj, baseDir: string): Problem[] {
  const problems: Problem[] = [];
  const plugins = isObj(data.plugins) ? data.plugins : {};
  for (const [name, p] of Object.entries(plugins)) {
    if (!NAME_RE.test(name)) {
      problems.push({
        path: ['plugins', name],
        atKey: true,
        message: `invalid name ${JSON.stringify(name)}: a name starts with a letter and has only letters, digits, "_", "." and "-"`,
      });
    } else if ((ROUTERS as readonly string[]).includes(name)) {
      problems.push({ path: ['plugins', name], atKey: true, message: `"${name}" is the name of a built-in router; call the plugin something else` });
    }
    if (!isObj(p) || typeof p.file !== 'string' || p.file === '') continue;
    const file = resolvePluginFile(baseDir, p.file);
    if (!existsSync(file)) problems.push({ path: ['plugins', name, 'file'], message: `no such file: ${file}` });
    else if (!statSync(file).isFile()) problems.push({ path: ['plugins', name, 'file'], message: `not a file: ${file}` });
  }

  const services0 = isObj(data.services) ? data.services : {};
  for (const [name, svc] of Object.entries(services0)) {
    const filters = isObj(svc) && Array.isArray(svc.filters) ? svc.filters : [];
    const seen = new Set<unknown>();
    filters.forEach((f, i) => {
      if (typeof f !== 'string' || f === '') return;
      if (!(f in plugins)) {
        problems.push({ path: ['services', name, 'filters', i], message: `unknown filter ${JSON.stringify(f)}: not defined in plugins${Object.keys(plugins).length ? ` (defined: ${Object.keys(plugins).join(', ')})` : ''}` });
      } else if (isObj(svc) && svc.router === f) {
        problems.push({ path: ['services', name, 'filters', i], message: `plugin ${JSON.stringify(f)} is the service's router; a plugin is either a router or a filter` });
      } else if (seen.has(f)) {
        problems.push({ path: ['services', name, 'filters', i], message: `filter ${JSON.stringify(f)} is listed twice` });
      }
      seen.add(f);
    });
  }

  const available = [...new Set([...ROUTERS, ...Object.keys(plugins)])];
  const services = isObj(data.services) ? data.services : {};
  for (const [name, svc] of Object.entries(services)) {
    const router = isObj(svc) ? svc.router : undefined;
    if (typeof router !== 'string' || router === '' || available.includes(router)) continue;
    const folded = router.toLowerCase().replace(/_/g, '-');
    const near = available.find((a) => a.toLowerCase().replace(/_/g, '-') === folded);
    problems.push({
      path: ['services', name, 'router'],
      message: `unknown router ${JSON.stringify(router)}${near ? ` (did you mean "${near}"?)` : ''} (available: ${available.join(', ')})`,
    });
  }
  return problems;
}

// Where this installation's own files are: the SDK (sdk/) and the bundled plugins (plugins-as/).
// This file runs from host/plugins/build/ (tsx) or dist/host/plugins/build/ (compiled).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The wasmscale package root: the nearest directory above this file with package.json "name": "wasmscale". */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'wasmscale') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the wasmscale package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function bundledSdkDir(): string {
  return join(packageRoot(), 'sdk');
}

/** A bundled plugin project, e.g. bundledPluginDir('routers/readconnroute'). */
export function bundledPluginDir(relative: string): string {
  return join(packageRoot(), 'plugins-as', relative);
}

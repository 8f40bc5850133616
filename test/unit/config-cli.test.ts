// Runs the real CLI as a child process: exit codes and stderr are what scripts and service
// managers see.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wasmscale-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'host/cli.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('wasmscale check', () => {
  it('exits 2 and names the file, path and line of every problem', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `servers:
  db1: { address: 127.0.0.1 }
services:
  main: { servers: [db1, db9], user: root }
listeners:
  main: { service: main, port: abc }
`,
    );
    const r = cli('check', '-c', file);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}:4:26 services.main.servers[1]: unknown server "db9" (defined servers: db1)`);
    expect(r.stderr).toContain(`${file}:6:32 listeners.main.port: expected an integer between 1 and 65535, got "abc"`);
  });

  it('exits 2 for a missing file and 0 for a good one', () => {
    const missing = cli('check', '-c', join(dir, 'missing.yaml'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('missing.yaml: cannot read the file');

    const ok = cli('check', '-c', 'wasmscale.yaml');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('OK: wasmscale.yaml\n');
    expect(ok.status).toBe(0);
  });

  it('exits 2 for a plugin start would refuse, naming the plugin, its file and the reason', () => {
    // (module (import "wasi_snapshot_preview1" "fd_read" (func)) (memory (export "memory") 1))
    const wasm = join(dir, 'reader.wasm');
    writeFileSync(wasm, Buffer.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
      0x02, 0x22, 0x01, 0x16, ...Buffer.from('wasi_snapshot_preview1'), 0x07, ...Buffer.from('fd_read'), 0x00, 0x00,
      0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x0a, 0x01, 0x06, ...Buffer.from('memory'), 0x02, 0x00,
    ]));
    const file = join(dir, 'plugin.yaml');
    writeFileSync(file, `servers:
  db1: { address: 127.0.0.1 }
plugins:
  reader: { file: ${wasm} }
services:
  main: { router: reader, servers: [db1], user: root }
listeners:
  main: { service: main, port: 4006 }
`);
    const r = cli('check', '-c', file);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`plugin reader: ${wasm}: imports wasi_snapshot_preview1.fd_read, which the sandbox does not provide`);
    expect(r.status).toBe(2);
    // --no-plugins checks the configuration only.
    const quick = cli('check', '--no-plugins', '-c', file);
    expect(quick.stdout).toBe(`OK: ${file}\n`);
    expect(quick.status).toBe(0);
  });
});

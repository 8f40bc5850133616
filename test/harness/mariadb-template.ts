// A data dir made by mariadb-install-db once per machine (per mariadbd version and install args),
// cached in os.tmpdir() and copied per server. Built in a private temp dir, then renamed into
// place atomically, so concurrent processes never see (or use) a half-built template.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** InnoDB sizing: used by install-db and by every server (data file path must match). */
export const INNODB_ARGS: readonly string[] = [
  '--innodb-buffer-pool-size=32M',
  '--innodb-log-file-size=8M',
  '--innodb-data-file-path=ibdata1:10M:autoextend',
];
const INSTALL_ARGS = ['--auth-root-authentication-method=normal', '--skip-test-db', ...INNODB_ARGS];
const COMPLETE_MARKER = 'complete';

let versionPromise: Promise<string> | undefined;
let templatePromise: Promise<string> | undefined;

/** e.g. "10.11.19-MariaDB-0+deb12u1" */
export function mariadbdVersion(): Promise<string> {
  versionPromise ??= run(MARIADBD, ['--version']).then(({ stdout }) => {
    const match = /Ver\s+(\S+)/.exec(stdout);
    if (!match?.[1]) throw new Error(`cannot parse '${MARIADBD} --version': ${stdout}`);
    return match[1];
  });
  return versionPromise;
}

/** Path of the cached template data dir (a fresh mariadb-install-db result; never start it). */
export function templateDataDir(): Promise<string> {
  templatePromise ??= ensureTemplate().catch((err: unknown) => {
    templatePromise = undefined;
    throw err;
  });
  return templatePromise;
}

/** Copy the template data dir to `dest` (which must not exist yet). */
export async function copyTemplate(dest: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', await templateDataDir(), dest]);
}

async function ensureTemplate(): Promise<string> {
  const version = (await mariadbdVersion()).replace(/[^A-Za-z0-9._-]/g, '_');
  const argsHash = createHash('sha256').update(INSTALL_ARGS.join('\n')).digest('hex').slice(0, 8);
  const finalDir = join(tmpdir(), `wasmscale-mariadb-template-${version}-${argsHash}`);
  const dataDir = join(finalDir, 'data');
  if (existsSync(join(finalDir, COMPLETE_MARKER))) return dataDir;
  await removeLeftovers(finalDir);

  const workDir = await mkdtemp(`${finalDir}.tmp-`);
  try {
    await installDb(join(workDir, 'data'), join(workDir, 'install.log'));
    await writeFile(join(workDir, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    await rename(workDir, finalDir);
  } catch (err) {
    await rm(workDir, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    // Another process renamed its template into place first: use that one.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(join(finalDir, COMPLETE_MARKER))) return dataDir;
    throw err;
  }
  return dataDir;
}

async function installDb(dataDir: string, logFile: string): Promise<void> {
  const args = ['--no-defaults', '--user=root', `--datadir=${dataDir}`, ...INSTALL_ARGS];
  try {
    const { stdout, stderr } = await run(INSTALL_DB, args, { maxBuffer: 16 * 1024 * 1024 });
    await writeFile(logFile, stdout + stderr);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').slice(-30).join('\n');
    throw new Error(`${INSTALL_DB} failed: ${e.message}\n${tail}`);
  }
}

/** Drop an incomplete final dir and temp dirs of builds that died more than 10 minutes ago. */
async function removeLeftovers(finalDir: string): Promise<void> {
  if (existsSync(finalDir)) {
    const stale = `${finalDir}.stale-${process.pid}-${Date.now()}`;
    await rename(finalDir, stale).catch(() => {});
    await rm(stale, { recursive: true, force: true });
  }
  const parent = tmpdir();
  const prefix = finalDir.slice(parent.length + 1);
  for (const name of await readdir(parent)) {
    if (!name.startsWith(`${prefix}.tmp-`) && !name.startsWith(`${prefix}.stale-`)) continue;
    const path = join(parent, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 10 * 60_000) await rm(path, { recursive: true, force: true });
  }
}

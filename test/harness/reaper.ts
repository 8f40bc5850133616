// Makes sure no mariadbd outlives the process that started it, however that process ends:
//  - 'exit' / SIGINT / SIGTERM / SIGHUP handlers SIGKILL every tracked server and remove its dirs;
//  - each server gets a tiny /bin/sh watchdog holding a pipe from us: when we die (even by
//    SIGKILL) the pipe closes and the watchdog SIGKILLs the server;
//  - sweepStaleRuns() removes run dirs whose owner process is gone (and kills their servers).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const liveServers = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let handlersInstalled = false;

const WATCHDOG_SCRIPT =
  'trap "" INT HUP TERM; while read -r line; do [ "$line" = disarm ] && exit 0; done; kill -9 "$1" 2>/dev/null';

/** Track a spawned mariadbd until it exits. Returns a function to call once it has exited. */
export function trackServer(child: ChildProcess): () => void {
  installHandlers();
  liveServers.add(child);
  const disarm = child.pid === undefined ? () => {} : spawnWatchdog(child.pid);
  return () => {
    liveServers.delete(child);
    disarm();
  };
}

/** Remove this directory (recursively) if the process exits without doing so. */
export function trackDir(dir: string): () => void {
  installHandlers();
  liveDirs.add(dir);
  return () => liveDirs.delete(dir);
}

function spawnWatchdog(pid: number): () => void {
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'wasmscale-mariadb-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return () => {
    if (watchdog.stdin?.writable) watchdog.stdin.end('disarm\n');
  };
}

function killAllSync(): void {
  const pids = [...liveServers].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  liveServers.clear();
  // A SIGKILLed server may still be writing for a moment: wait (bounded) until it is dead.
  const deadline = Date.now() + 3000;
  while (pids.some((pid) => !isDeadOrZombie(pid)) && Date.now() < deadline) sleepSync(10);
  for (const dir of liveDirs) removeRunDirSync(dir);
  liveDirs.clear();
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isDeadOrZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** Remove a run dir, owner.pid last, so a half-removed dir is still recognised as stale. */
function removeRunDirSync(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      if (name !== 'owner.pid') rmSync(join(dir, name), { recursive: true, force: true, maxRetries: 3 });
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort; sweepStaleRuns() retries next time
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllSync();
      process.removeListener(signal, onSignal);
      // Nobody else handles it: re-raise so the default action (terminate) still happens.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remove `<parent>/<prefix>*` run dirs left behind by processes that no longer exist. A run dir
 * holds `owner.pid` and one sub dir per server with `mysqld.pid`; a server still running from
 * such a dir (its command line names the dir) is SIGKILLed first.
 */
export function sweepStaleRuns(parent: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(parent, name);
    try {
      const owner = readPid(join(dir, 'owner.pid'));
      if (owner !== undefined ? isAlive(owner) : Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
      for (const sub of readdirSync(dir)) {
        const pid = readPid(join(dir, sub, 'mysqld.pid'));
        if (pid === undefined || isDeadOrZombie(pid)) continue;
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.includes('mariadbd') && cmdline.includes(dir)) {
          process.kill(pid, 'SIGKILL');
          const deadline = Date.now() + 3000;
          while (!isDeadOrZombie(pid) && Date.now() < deadline) sleepSync(10);
        }
      }
      removeRunDirSync(dir);
    } catch {
      // raced with another sweeper or the owner; leave it
    }
  }
}

// Child processes for the benchmarks: start one, wait for a line on its stdout, stop it; read
// a process's resident memory from /proc.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
let hooked = false;

/** Kill every child we started if this process goes away first. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    });
  }
}

/**
 * Spawn `cmd args`; resolves once `ready` matches its output (stdout + stderr). Rejects if it
 * exits first or nothing matches within `timeoutMs`.
 */
export async function startChild(cmd: string, args: string[], ready: RegExp | null, opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<Child> {
  hookExit();
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => {
    children.delete(proc);
    resolve();
  }));
  const child: Child = {
    proc,
    pid: proc.pid!,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
  if (ready) {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    while (!ready.test(out)) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited (${proc.exitCode ?? proc.signalCode}):\n${out}`);
      if (Date.now() > deadline) {
        await child.stop();
        throw new Error(`${cmd} ${args.join(' ')} not ready in time:\n${out}`);
      }
      await sleep(20);
    }
  }
  return child;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** VmRSS (or VmHWM, the peak resident size so far) of a process in bytes (0 if it is gone). */
export function rssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Cumulative user and system CPU time of a process (all threads) in seconds, from /proc. */
export function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime = field 14, stime = field 15, in clock ticks (100/s)
    return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
  } catch {
    return { user: 0, sys: 0 };
  }
}

/** The same, summed over several processes. */
export function sumCpuTimes(pids: number[]): { user: number; sys: number } {
  return pids.map(cpuTimes).reduce((a, b) => ({ user: a.user + b.user, sys: a.sys + b.sys }), { user: 0, sys: 0 });
}

/** The 1-minute load average (other work on the machine disturbs the figures). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * BENCH_PROXY_CPUS=1 (a taskset CPU list): the proxies under test run on those CPUs and
 * everything else this benchmark starts (mariadbd, sysbench, this process) on the others, so a
 * proxy's throughput is not decided by how the scheduler interleaves it with the database. Unset:
 * no pinning. Call pinRest() before starting anything, pinProxy() on each proxy's pids.
 */
export const PROXY_CPUS = process.env.BENCH_PROXY_CPUS ?? '';

function taskset(cpus: string, pid: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export function pinRest(): string {
  if (!PROXY_CPUS) return 'no CPU pinning';
  const proxy = new Set(PROXY_CPUS.split(',').map(Number));
  const rest = Array.from({ length: availableParallelism() }, (_, i) => i).filter((i) => !proxy.has(i));
  if (rest.length === 0) throw new Error(`BENCH_PROXY_CPUS=${PROXY_CPUS} leaves no CPU for the database and sysbench`);
  taskset(rest.join(','), process.pid);
  return `proxies pinned to CPU ${PROXY_CPUS}; mariadbd, sysbench and the benchmark to CPU ${rest.join(',')}`;
}

export function pinProxy(pids: number[]): void {
  if (PROXY_CPUS) for (const pid of pids) taskset(PROXY_CPUS, pid);
}

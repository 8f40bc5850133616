// Runs sysbench and reads its results.
import { execFile, execFileSync } from 'node:child_process';

export function sysbenchVersion(): string | null {
  try {
    return execFileSync('sysbench', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export interface SysbenchTarget {
  host?: string;
  port: number;
  user: string;
  password: string;
  db: string;
}

export interface SysbenchResult {
  qps: number;
  tps: number;
  latencyAvgMs: number;
  latencyP95Ms: number;
  errors: number;
  reconnects: number;
  raw: string;
}

function args(t: SysbenchTarget, extra: string[]): string[] {
  return [
    'oltp_point_select',
    '--db-driver=mysql',
    `--mysql-host=${t.host ?? '127.0.0.1'}`,
    `--mysql-port=${t.port}`,
    `--mysql-user=${t.user}`,
    `--mysql-password=${t.password}`,
    `--mysql-db=${t.db}`,
    '--mysql-ssl=off',
    '--tables=1',
    '--table-size=10000',
    ...extra,
  ];
}

function run(argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sysbench', argv, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sysbench ${argv.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

export async function prepare(t: SysbenchTarget): Promise<void> {
  await run([...args(t, []), 'prepare'], 120_000);
}

export async function pointSelect(t: SysbenchTarget, threads: number, seconds: number, psMode: 'auto' | 'disable'): Promise<SysbenchResult> {
  const raw = await run([...args(t, [`--threads=${threads}`, `--time=${seconds}`, `--db-ps-mode=${psMode}`, '--report-interval=0', '--percentile=95']), 'run'], (seconds + 60) * 1000);
  const num = (re: RegExp): number => {
    const m = re.exec(raw);
    if (!m) throw new Error(`cannot find ${re} in sysbench output:\n${raw}`);
    return Number(m[1]);
  };
  return {
    qps: num(/queries:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    latencyAvgMs: num(/avg:\s+([\d.]+)/),
    latencyP95Ms: num(/95th percentile:\s+([\d.]+)/),
    errors: num(/ignored errors:\s+(\d+)/),
    reconnects: num(/reconnects:\s+(\d+)/),
    raw,
  };
}

// ---- the other OLTP tests (oltp_read_only, oltp_read_write, ...), any table count and size ----

export interface OltpOptions {
  /** sysbench test name, e.g. oltp_read_only */
  test: string;
  tables: number;
  tableSize: number;
  /** extra sysbench options, e.g. --skip_trx=on */
  extra?: string[];
}

function oltpArgs(t: SysbenchTarget, o: OltpOptions, extra: string[]): string[] {
  return [
    o.test,
    '--db-driver=mysql',
    `--mysql-host=${t.host ?? '127.0.0.1'}`,
    `--mysql-port=${t.port}`,
    `--mysql-user=${t.user}`,
    `--mysql-password=${t.password}`,
    `--mysql-db=${t.db}`,
    '--mysql-ssl=off',
    `--tables=${o.tables}`,
    `--table-size=${o.tableSize}`,
    ...(o.extra ?? []),
    ...extra,
  ];
}

/** `sysbench <test> prepare` (creates and fills the tables). */
export async function oltpPrepare(t: SysbenchTarget, o: OltpOptions, threads = 1): Promise<void> {
  await run([...oltpArgs(t, o, [`--threads=${threads}`]), 'prepare'], 600_000);
}

export interface OltpResult extends SysbenchResult {
  /** sysbench exited with an error (e.g. a FATAL query error): its message; the figures are then 0 */
  failure?: string;
  /** the first error line sysbench printed (FATAL / error / Ignoring error), if any */
  firstError?: string;
}

/** The first line of sysbench output that reports an error. */
export function firstErrorLine(out: string): string | undefined {
  return out.split('\n').find((l) => /FATAL|error [0-9]|Ignoring error|ALERT|Lost connection|gone away/i.test(l) && !/ignored errors:/.test(l))?.trim();
}

/**
 * `sysbench <test> run`. Never throws for a failed run: a sysbench error exit comes back as
 * `failure` (with the first error line) so the caller can report it and go on.
 */
export async function oltpRun(t: SysbenchTarget, o: OltpOptions, threads: number, seconds: number, psMode: 'auto' | 'disable'): Promise<OltpResult> {
  // --verbosity=5 (debug) makes sysbench print the errors it ignores ("DEBUG: Ignoring error 1213
  // ..."; by default 1213, 1020, 1205), so the first one can be reported; it adds a few lines per run.
  const argv = [...oltpArgs(t, o, [`--threads=${threads}`, `--time=${seconds}`, `--db-ps-mode=${psMode}`, '--report-interval=0', '--percentile=95', '--verbosity=5']), 'run'];
  let raw: string;
  try {
    raw = await run(argv, (seconds + 60) * 1000);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { qps: 0, tps: 0, latencyAvgMs: 0, latencyP95Ms: 0, errors: 0, reconnects: 0, raw: msg, failure: firstErrorLine(msg) ?? msg.split('\n')[0] ?? msg, firstError: firstErrorLine(msg) };
  }
  const num = (re: RegExp): number => {
    const m = re.exec(raw);
    if (!m) throw new Error(`cannot find ${re} in sysbench output:\n${raw}`);
    return Number(m[1]);
  };
  const firstError = firstErrorLine(raw);
  return {
    qps: num(/queries:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    latencyAvgMs: num(/avg:\s+([\d.]+)/),
    latencyP95Ms: num(/95th percentile:\s+([\d.]+)/),
    errors: num(/ignored errors:\s+(\d+)/),
    reconnects: num(/reconnects:\s+(\d+)/),
    raw,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

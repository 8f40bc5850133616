// Which databases each server of a service holds (schemarouter's shard map), read with the
// service user by SHOW DATABASES: at start, every `refresh_interval`, and when a session saw
// "unknown database" (1049) — no more often than `refresh_min_interval`. A router that asks for
// it (RouterSession's databasesChanged, ABI wsx_databases) gets the map whenever it changes.
import type { Logger } from 'pino';
import { createConnection } from 'mysql2/promise';
import type { BackendServer } from '../session/service-context.js';

export interface DiscoveryOptions {
  servers: () => readonly BackendServer[];
  user: string;
  password: string;
  connectTimeoutMs: number;
  intervalMs: number;
  minIntervalMs: number;
  log: Logger;
  onChange: (map: ReadonlyMap<string, readonly string[]>) => void;
  /** Reads one server's databases; injectable for tests. */
  read?: (server: BackendServer) => Promise<string[]>;
}

/** SHOW DATABASES on one server with the service user. */
export async function showDatabases(server: BackendServer, user: string, password: string, connectTimeoutMs: number): Promise<string[]> {
  const conn = await createConnection({ host: server.address, port: server.port, user, password, connectTimeout: connectTimeoutMs });
  try {
    const [rows] = await conn.query({ sql: 'SHOW DATABASES', rowsAsArray: true });
    return (rows as unknown[][]).map((r) => String(r[0]));
  } finally {
    await conn.end().catch(() => {});
  }
}

export class DatabaseDiscovery {
  private map = new Map<string, readonly string[]>();
  private running: Promise<void> | null = null;
  private last = 0;
  private pendingTimer: NodeJS.Timeout | null = null;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: DiscoveryOptions) {
    this.timer = setInterval(() => void this.refresh(), opts.intervalMs);
    this.timer.unref();
  }

  get databases(): ReadonlyMap<string, readonly string[]> {
    return this.map;
  }

  /** Databases of `server` as last read; undefined when never read (unreachable so far). */
  of(server: string): readonly string[] | undefined {
    return this.map.get(server);
  }

  /** Reads every server now (one run at a time; callers share a run in progress). */
  refresh(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A session saw an unknown database: refresh soon, at most once per minIntervalMs. */
  requestRefresh(): void {
    if (this.closed || this.pendingTimer) return;
    const wait = Math.max(0, this.last + this.opts.minIntervalMs - Date.now());
    this.pendingTimer = setTimeout(() => {
      this.pendingTimer = null;
      void this.refresh();
    }, wait);
    this.pendingTimer.unref();
  }

  private async run(): Promise<void> {
    this.last = Date.now();
    const read = this.opts.read ?? ((s: BackendServer) => showDatabases(s, this.opts.user, this.opts.password, this.opts.connectTimeoutMs));
    const servers = this.opts.servers();
    const results = await Promise.all(servers.map(async (s) => {
      try {
        return [s.name, (await read(s)).sort()] as const;
      } catch (err) {
        this.opts.log.warn({ server: s.name, err: (err as Error).message }, 'database discovery: cannot read the databases; keeping the previous list');
        return [s.name, this.map.get(s.name)] as const;
      }
    }));
    if (this.closed) return;
    const next = new Map<string, readonly string[]>();
    for (const [name, dbs] of results) if (dbs) next.set(name, dbs);
    if (sameMap(next, this.map)) return;
    this.map = next;
    this.opts.onChange(next);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
  }
}

function sameMap(a: ReadonlyMap<string, readonly string[]>, b: ReadonlyMap<string, readonly string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length || v.some((x, i) => x !== w[i])) return false;
  }
  return true;
}

// module: mariadbmon. Runs in the primary process: every monitor_interval it probes each of its
// servers over a persistent connection (all at once), derives roles (role-rules.ts) and lag
// (gtid-lag.ts), logs state and role changes once, and tells its owner when anything a router
// sees (state, role, lag, GTID) changed.
import type { Logger } from 'pino';
import type { MonitorConfig, ServerConfig } from '../config/index.js';
import { GtidLagTracker } from './gtid-lag.js';
import { MonitorConnection } from './monitor-connection.js';
import { deriveRoles, type RoleInput, type RoleVerdict } from './role-rules.js';
import type { ServerObservation, ServerReport, ServerStatus } from './server-state.js';

interface Tracked {
  up: boolean;
  /** Latest observation; kept (as last known) while the server is down. */
  obs?: ServerObservation;
  downTicks: number;
  error?: string;
  lastSeen?: number;
}

export interface MonitorReport {
  name: string;
  module: 'mariadbmon';
  servers: string[];
  /** The selected primary (possibly down: it keeps the role until invalidated). */
  primary: string | null;
  monitor_interval: number;
  ticks: number;
  lastTick?: string;
}

export class MariaDbMonitor {
  private readonly conns: MonitorConnection[];
  private readonly tracked: Tracked[];
  private readonly lag = new GtidLagTracker();
  private reports: ServerReport[] = [];
  private published = '';
  private primary: string | null = null;
  private ticks = 0;
  private lastTick = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly cfg: MonitorConfig,
    private readonly servers: readonly ServerConfig[],
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {
    const opts = {
      user: cfg.user,
      password: cfg.password,
      connectTimeoutMs: cfg.backend_connect_timeout,
      readTimeoutMs: cfg.backend_read_timeout,
      connectAttempts: cfg.backend_connect_attempts,
    };
    this.conns = servers.map((s) => new MonitorConnection(s, opts));
    this.tracked = servers.map(() => ({ up: false, downTicks: 0 }));
  }

  get name(): string {
    return this.cfg.name;
  }

  /** Runs the first tick (so roles are known before anything routes), then ticks on a timer. */
  async start(): Promise<void> {
    this.running = this.tick();
    await this.running;
    this.schedule(this.cfg.monitor_interval);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.conns) c.close();
    await this.running?.catch(() => {});
  }

  /** What routers see of each server. */
  statuses(): ServerStatus[] {
    return this.reports.map(({ name, state, role, lagMs, gtid }) => ({ name, state, role, lagMs, gtid }));
  }

  serverReports(): readonly ServerReport[] {
    return this.reports;
  }

  report(): MonitorReport {
    return {
      name: this.cfg.name,
      module: this.cfg.module,
      servers: this.servers.map((s) => s.name),
      primary: this.primary,
      monitor_interval: this.cfg.monitor_interval,
      ticks: this.ticks,
      ...(this.lastTick ? { lastTick: new Date(this.lastTick).toISOString() } : {}),
    };
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.running = this.tick()
        .catch((err: Error) => this.log.error({ err: err.message }, 'monitor tick failed'))
        .finally(() => this.schedule(Math.max(0, this.cfg.monitor_interval - (Date.now() - started))));
    }, delay);
  }

  private async tick(): Promise<void> {
    const outcomes = await Promise.all(this.conns.map((c) => c.probe()));
    if (this.stopped) return;
    const now = Date.now();
    outcomes.forEach((o, i) => {
      const t = this.tracked[i]!;
      t.up = o.reachable;
      t.downTicks = o.reachable ? 0 : t.downTicks + 1;
      t.error = o.error;
      if (o.obs) {
        t.obs = o.obs;
        t.lastSeen = now;
      } else if (o.reachable) {
        t.obs = undefined; // running but unreadable: its old replication state means nothing now
      }
    });

    const inputs: RoleInput[] = this.servers.map((s, i) => ({
      name: s.name, address: s.address, port: s.port, ...this.tracked[i]!,
    }));
    const result = deriveRoles(inputs, this.primary, this.cfg);
    const lags = this.lags(result.primary, result.servers, now);
    const reports = this.servers.map((s, i) => this.buildReport(s, this.tracked[i]!, result.servers[i]!, lags[i]!));

    this.logChanges(reports, result.primary);
    this.primary = result.primary;
    this.reports = reports;
    this.ticks++;
    this.lastTick = now;
    const published = JSON.stringify(this.statuses());
    if (published !== this.published) {
      this.published = published;
      this.onChange();
    }
  }

  /** Lag per server: GTID-based (against the primary's binlog position) or Seconds_Behind_Master, whichever is larger. */
  private lags(primary: string | null, verdicts: RoleVerdict[], now: number): number[] {
    const p = this.servers.findIndex((s) => s.name === primary);
    const pObs = p >= 0 && this.tracked[p]!.up ? this.tracked[p]!.obs : undefined;
    if (pObs) this.lag.observePrimary(primary!, pObs.gtidBinlogPos, now);
    const tracked: string[] = [];
    const lags = this.servers.map((_, i) => {
      const t = this.tracked[i]!;
      const v = verdicts[i]!;
      if (i === p) return t.up ? 0 : -1;
      if (!t.up || !t.obs || v.masters.every((m) => m === null)) return -1;
      const sbm = t.obs.slaves
        .filter((_, j) => v.masters[j] !== null)
        .reduce((max, c) => (c.secondsBehindMaster === null ? max : Math.max(max, c.secondsBehindMaster * 1000)), -1);
      const gtidLag = pObs ? this.lag.lagOf(t.obs.gtidCurrentPos, now) : -1;
      if (pObs) tracked.push(t.obs.gtidCurrentPos);
      return Math.max(sbm, gtidLag);
    });
    if (pObs && tracked.length) this.lag.prune(tracked);
    return lags;
  }

  private buildReport(s: ServerConfig, t: Tracked, v: RoleVerdict, lagMs: number): ServerReport {
    const obs = t.up ? t.obs : undefined;
    return {
      name: s.name,
      state: t.up ? 'up' : 'down',
      role: v.role,
      lagMs,
      gtid: obs?.gtidCurrentPos ?? '',
      monitor: this.name,
      status: v.status,
      ...(v.reason ? { reason: v.reason } : {}),
      ...(t.obs ? { serverId: t.obs.serverId } : {}),
      ...(obs ? { readOnly: obs.readOnly, gtidBinlogPos: obs.gtidBinlogPos } : {}),
      replicatesFrom: t.up ? v.replicatesFrom : null,
      replication: (obs?.slaves ?? []).map((c, j) => ({
        connectionName: c.connectionName,
        master: v.masters[j] ?? null,
        masterHost: c.masterHost,
        masterPort: c.masterPort,
        ioRunning: c.ioRunning,
        sqlRunning: c.sqlRunning,
        secondsBehindMaster: c.secondsBehindMaster,
        gtidIoPos: c.gtidIoPos,
        lastError: c.lastSqlError || c.lastIoError,
      })),
      ...(t.error ? { error: t.error } : {}),
      ...(t.lastSeen ? { lastSeen: new Date(t.lastSeen).toISOString() } : {}),
    };
  }

  private logChanges(reports: ServerReport[], primary: string | null): void {
    const first = this.ticks === 0;
    reports.forEach((r, i) => {
      const before = this.reports[i];
      if (before && before.state === r.state && before.role === r.role) return;
      const fields = {
        server: r.name,
        ...(before ? { from: before.status.join(', ') } : {}),
        to: r.status.join(', '),
        role: r.role,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.error ? { error: r.error } : {}),
      };
      const msg = first ? 'server state' : 'server state changed';
      if (r.state === 'down' || (before?.role === 'replica' && r.role !== 'replica')) this.log.warn(fields, msg);
      else this.log.info(fields, msg);
    });
    if (!first && primary !== this.primary) {
      this.log.warn({ from: this.primary, to: primary }, primary ? 'primary changed' : 'no primary');
    } else if (first && !primary) {
      this.log.warn('no primary');
    }
  }
}

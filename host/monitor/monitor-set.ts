// Every configured monitor of the primary process, and the merged view of their servers: the
// compact statuses broadcast to routing workers and the reports of the admin endpoint.
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { MariaDbMonitor, type MonitorReport } from './mariadb-monitor.js';
import type { ServerReport, ServerStatus } from './server-state.js';

/** A configured server as GET /v1/servers shows it (monitor fields when a monitor has it). */
export type ServerListing = Omit<Partial<ServerReport>, 'monitor' | 'state'> & {
  name: string;
  address: string;
  port: number;
  weight: number;
  monitor: string | null;
  state: ServerReport['state'] | 'unknown';
  role: ServerReport['role'];
  lagMs: number;
  gtid: string;
};

export class MonitorSet {
  private readonly monitors: MariaDbMonitor[];
  private started = false;

  /** `onChange` gets every monitored server's status whenever one of them changed. */
  constructor(
    private readonly config: Config,
    log: Logger,
    private readonly onChange: (statuses: ServerStatus[]) => void,
  ) {
    this.monitors = Object.values(config.monitors).map((m) =>
      new MariaDbMonitor(m, m.servers.map((n) => config.servers[n]!), log.child({ monitor: m.name }), () => this.changed()));
  }

  /** Starts every monitor; resolves after each one's first tick. */
  async start(): Promise<void> {
    await Promise.all(this.monitors.map((m) => m.start()));
    this.started = true;
    this.changed();
  }

  private changed(): void {
    // During start-up the owner reads statuses() once all first ticks are done.
    if (this.started) this.onChange(this.statuses());
  }

  statuses(): ServerStatus[] {
    return this.monitors.flatMap((m) => m.statuses());
  }

  servers(): ServerListing[] {
    const reports = new Map(this.monitors.flatMap((m) => m.serverReports().map((r) => [r.name, r] as const)));
    return Object.values(this.config.servers).map((s): ServerListing => {
      const r = reports.get(s.name);
      const base = { name: s.name, address: s.address, port: s.port, weight: s.weight };
      if (r) return { ...base, ...r };
      return { ...base, monitor: null, state: 'unknown', role: 'unknown', lagMs: -1, gtid: '' };
    });
  }

  reports(): MonitorReport[] {
    return this.monitors.map((m) => m.report());
  }

  async stop(): Promise<void> {
    await Promise.all(this.monitors.map((m) => m.stop()));
  }
}

// What a monitor learns about a server: the raw observation of one probe, and what it derives
// and publishes from it: the compact status sent to every routing worker (ServerStatus) and the
// fuller report served by the admin endpoint (ServerReport).
import type { ServerRole } from '../session/router.js';

export type IoThread = 'Yes' | 'No' | 'Connecting';

/** One row of SHOW ALL SLAVES STATUS. */
export interface SlaveConnection {
  connectionName: string;
  masterHost: string;
  masterPort: number;
  /** 0 until the IO thread has connected once. */
  masterServerId: number;
  ioRunning: IoThread;
  sqlRunning: boolean;
  /** null when the SQL thread is stopped or the IO thread is not connected. */
  secondsBehindMaster: number | null;
  gtidIoPos: string;
  lastIoError: string;
  lastSqlError: string;
}

/** One successful probe of a server. */
export interface ServerObservation {
  serverId: number;
  readOnly: boolean;
  gtidCurrentPos: string;
  gtidBinlogPos: string;
  version: string;
  slaves: SlaveConnection[];
}

/** Outcome of probing one server once. */
export interface ProbeOutcome {
  /** The server answered (even if it then refused the monitor user). */
  reachable: boolean;
  /** Present when every query succeeded. */
  obs?: ServerObservation;
  /** Why the probe failed (connect error, access denied, missing grant...). */
  error?: string;
}

/** Compact server status sent to the routing workers (IPC) and applied to their ServerViews. */
export interface ServerStatus {
  name: string;
  state: 'up' | 'down';
  role: ServerRole;
  /** Replication lag in ms; 0 for the primary, -1 when unknown. */
  lagMs: number;
  /** @@gtid_current_pos; '' when unknown. */
  gtid: string;
}

/** A replication connection as the admin endpoint shows it. */
export interface ReplicationReport {
  connectionName: string;
  /** The monitored server it points at, or null (an external server). */
  master: string | null;
  masterHost: string;
  masterPort: number;
  ioRunning: IoThread;
  sqlRunning: boolean;
  secondsBehindMaster: number | null;
  gtidIoPos: string;
  lastError: string;
}

/** Everything the monitor knows of a server (GET /v1/servers). */
export interface ServerReport extends ServerStatus {
  monitor: string;
  /** MaxScale-style status words: Master, Slave, Relay Master, Running, Down, Slave of External Server. */
  status: string[];
  /** Why the role is what it is, when it is not obvious (e.g. "slave SQL thread stopped"). */
  reason?: string;
  serverId?: number;
  readOnly?: boolean;
  gtidBinlogPos?: string;
  /** The monitored server it replicates from, or null. */
  replicatesFrom: string | null;
  replication: ReplicationReport[];
  /** Last probe error (while down, or up but not fully readable). */
  error?: string;
  /** ISO time of the last successful probe. */
  lastSeen?: string;
}

// The monitor's one round trip per server per tick, and the pure parsing of its result sets.
// Needs REPLICATION CLIENT (or REPLICA MONITOR / SLAVE MONITOR) for SHOW ALL SLAVES STATUS.
import type { IoThread, ServerObservation, SlaveConnection } from './server-state.js';

export const PROBE_SQL =
  'SELECT @@global.server_id AS server_id, @@global.read_only AS read_only, ' +
  '@@global.gtid_current_pos AS gtid_current_pos, @@global.gtid_binlog_pos AS gtid_binlog_pos, ' +
  '@@version AS version; SHOW ALL SLAVES STATUS';

type Row = Record<string, unknown>;

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function int(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(text(v));
  return Number.isFinite(n) ? n : 0;
}

function ioThread(v: unknown): IoThread {
  const s = text(v);
  return s === 'Yes' ? 'Yes' : s === 'Connecting' ? 'Connecting' : 'No';
}

function truthy(v: unknown): boolean {
  const s = text(v).toUpperCase();
  return s === '1' || s === 'ON' || s === 'TRUE' || s === 'YES';
}

/** One SHOW ALL SLAVES STATUS row. */
export function parseSlaveRow(row: Row): SlaveConnection {
  const sbm = row['Seconds_Behind_Master'];
  return {
    connectionName: text(row['Connection_name']),
    masterHost: text(row['Master_Host']),
    masterPort: int(row['Master_Port']),
    masterServerId: int(row['Master_Server_Id']),
    ioRunning: ioThread(row['Slave_IO_Running']),
    sqlRunning: text(row['Slave_SQL_Running']) === 'Yes',
    secondsBehindMaster: sbm === null || sbm === undefined || sbm === '' ? null : int(sbm),
    gtidIoPos: text(row['Gtid_IO_Pos']),
    lastIoError: text(row['Last_IO_Error']),
    lastSqlError: text(row['Last_SQL_Error']),
  };
}

/** The two result sets of PROBE_SQL (as mysql2 returns a multi-statement result). */
export function parseProbe(results: unknown): ServerObservation {
  if (!Array.isArray(results) || results.length < 2 || !Array.isArray(results[0]) || !Array.isArray(results[1])) {
    throw new Error('unexpected probe result shape');
  }
  const vars = results[0][0] as Row | undefined;
  if (!vars) throw new Error('probe returned no variables row');
  return {
    serverId: int(vars['server_id']),
    readOnly: truthy(vars['read_only']),
    gtidCurrentPos: text(vars['gtid_current_pos']),
    gtidBinlogPos: text(vars['gtid_binlog_pos']),
    version: text(vars['version']),
    slaves: (results[1] as Row[]).map(parseSlaveRow),
  };
}

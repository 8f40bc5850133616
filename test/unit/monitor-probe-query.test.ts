import { describe, expect, it } from 'vitest';
import { parseProbe, parseSlaveRow } from '../../host/monitor/server-probe-query.js';

const SLAVE_ROW = {
  Connection_name: '', Master_Host: '127.0.0.1', Master_Port: 40539, Slave_IO_Running: 'Yes',
  Slave_SQL_Running: 'Yes', Seconds_Behind_Master: 0, Master_Server_Id: 1, Gtid_IO_Pos: '0-1-8',
  Last_IO_Error: '', Last_SQL_Error: '', Using_Gtid: 'Slave_Pos',
};

describe('probe result parsing', () => {
  it('reads the variables row and every slave connection', () => {
    const obs = parseProbe([
      [{ server_id: 2, read_only: 1, gtid_current_pos: '0-1-8', gtid_binlog_pos: '0-1-8', version: '10.11.19-MariaDB' }],
      [SLAVE_ROW, { ...SLAVE_ROW, Connection_name: 'ext', Slave_IO_Running: 'Connecting', Slave_SQL_Running: 'No', Seconds_Behind_Master: null, Last_SQL_Error: 'boom' }],
    ]);
    expect(obs).toEqual({
      serverId: 2, readOnly: true, gtidCurrentPos: '0-1-8', gtidBinlogPos: '0-1-8', version: '10.11.19-MariaDB',
      slaves: [
        { connectionName: '', masterHost: '127.0.0.1', masterPort: 40539, masterServerId: 1, ioRunning: 'Yes', sqlRunning: true, secondsBehindMaster: 0, gtidIoPos: '0-1-8', lastIoError: '', lastSqlError: '' },
        { connectionName: 'ext', masterHost: '127.0.0.1', masterPort: 40539, masterServerId: 1, ioRunning: 'Connecting', sqlRunning: false, secondsBehindMaster: null, gtidIoPos: '0-1-8', lastIoError: '', lastSqlError: 'boom' },
      ],
    });
  });

  it('accepts read_only as ON/OFF and a primary without slave connections', () => {
    const obs = parseProbe([[{ server_id: '1', read_only: 'OFF', gtid_current_pos: '', gtid_binlog_pos: null, version: 'x' }], []]);
    expect(obs).toMatchObject({ serverId: 1, readOnly: false, gtidCurrentPos: '', gtidBinlogPos: '', slaves: [] });
    expect(parseSlaveRow({ Slave_IO_Running: 'No', Slave_SQL_Running: 'No' }).ioRunning).toBe('No');
  });

  it('refuses an unexpected shape', () => {
    expect(() => parseProbe([{ a: 1 }])).toThrow('unexpected probe result shape');
    expect(() => parseProbe([[], []])).toThrow('no variables row');
  });
});

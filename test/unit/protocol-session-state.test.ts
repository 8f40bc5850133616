// The session state change block of OK packets (host/protocol/session-state.ts) on bytes captured
// from MariaDB 10.11.19 (a binlogging primary, client with SESSION_TRACK and DEPRECATE_EOF) after
// `SET session_track_system_variables = CONCAT(..., ',last_gtid')`, session_track_schema,
// session_track_state_change and session_track_transaction_info = CHARACTERISTICS.
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../host/protocol/reader.js';
import { decodeSessionState, sessionStateOf, trackedVariable } from '../../host/protocol/session-state.js';

/** Payload of a captured packet (its 4-byte header dropped). */
const payload = (hex: string): Buffer => Buffer.from(hex, 'hex').subarray(4);

const REAL = {
  createDatabase: '1b0000010001000240000000120010096c6173745f6774696405302d312d39',
  insert: '1c0000010001000240000000130011096c6173745f6774696406302d312d3131',
  use: '110000010000000240000000080103026431020131',
  updateNoRows: '300000010000000200000028526f7773206d6174636865643a203020204368616e6765643a203020205761726e696e67733a2030',
  plainOk: '0700000100000002000000',
  startReadOnly: '3300000100000003600000002a050908545f5f5f5f5f5f5f041d1c5354415254205452414e53414354494f4e2052454144204f4e4c593b',
  commitAfterWrite: '2a0000010000000240000000210011096c6173745f6774696406302d312d31320509085f5f5f5f5f5f5f5f040100',
  setTrackSchema: '1a0000010000000240000000110201310509085f5f5f5f5f5f5f5f040100',
  // INSERT ... RETURNING: the OK (0xFE, DEPRECATE_EOF) ending the result set carries last_gtid.
  returningEnd: '1c000004fe00000240000000130011096c6173745f6774696406302d312d3134',
};

describe('session state change block (real MariaDB 10.11 bytes)', () => {
  it('an autocommit write reports last_gtid', () => {
    const block = sessionStateOf(payload(REAL.insert))!;
    expect(decodeSessionState(block)).toEqual([{ type: 0, name: 'last_gtid', value: '0-1-11' }]);
    expect(trackedVariable(block, 'last_gtid')).toBe('0-1-11');
    expect(trackedVariable(sessionStateOf(payload(REAL.createDatabase))!, 'last_gtid')).toBe('0-1-9');
  });

  it('COMMIT reports last_gtid and the transaction state together', () => {
    const block = sessionStateOf(payload(REAL.commitAfterWrite))!;
    expect(decodeSessionState(block)).toEqual([
      { type: 0, name: 'last_gtid', value: '0-1-12' },
      { type: 5, data: '________' },
      { type: 4, data: '' },
    ]);
    expect(trackedVariable(block, 'last_gtid')).toBe('0-1-12');
  });

  it('schema, state change, transaction characteristics', () => {
    expect(decodeSessionState(sessionStateOf(payload(REAL.use))!)).toEqual([{ type: 1, schema: 'd1' }, { type: 2, changed: true }]);
    expect(decodeSessionState(sessionStateOf(payload(REAL.startReadOnly))!)).toEqual([
      { type: 5, data: 'T_______' },
      { type: 4, data: 'START TRANSACTION READ ONLY;' },
    ]);
    expect(decodeSessionState(sessionStateOf(payload(REAL.setTrackSchema))!)).toEqual([
      { type: 2, changed: true },
      { type: 5, data: '________' },
      { type: 4, data: '' },
    ]);
    expect(trackedVariable(sessionStateOf(payload(REAL.use))!, 'last_gtid')).toBeNull();
  });

  it('the OK that ends a result set (DEPRECATE_EOF) has the same layout', () => {
    expect(trackedVariable(sessionStateOf(payload(REAL.returningEnd))!, 'last_gtid')).toBe('0-1-14');
  });

  it('no block without SERVER_SESSION_STATE_CHANGED, with or without info', () => {
    expect(sessionStateOf(payload(REAL.plainOk))).toBeNull();
    expect(sessionStateOf(payload(REAL.updateNoRows))).toBeNull();
  });

  it('unknown entry types are kept raw; a truncated block is a ProtocolError', () => {
    expect(decodeSessionState(Buffer.from([0x09, 0x02, 0xaa, 0xbb]))).toEqual([{ type: 9, raw: Buffer.from([0xaa, 0xbb]) }]);
    const block = sessionStateOf(payload(REAL.insert))!;
    expect(() => decodeSessionState(block.subarray(0, block.length - 2))).toThrow(ProtocolError);
    expect(() => sessionStateOf(payload(REAL.insert).subarray(0, 12))).toThrow(ProtocolError);
  });
});

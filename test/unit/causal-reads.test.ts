// caughtUpReplica (host/session/causal-reads.ts): where causal_reads=fast|fast_global sends a read,
// from the GTID positions the monitor last saw.
import { describe, expect, it } from 'vitest';
import { caughtUpReplica, gtidWaitPayload } from '../../host/session/causal-reads.js';
import type { BackendServer } from '../../host/session/service-context.js';

const server = (name: string, role: BackendServer['role'], gtid: string, state: BackendServer['state'] = 'up'): BackendServer =>
  ({ name, address: '127.0.0.1', port: 1, role, state, lagMs: 0, gtid });

describe('caughtUpReplica', () => {
  const servers = [server('p', 'primary', '0-1-20'), server('r1', 'replica', '0-1-10'), server('r2', 'replica', '0-1-20'), server('r3', 'replica', '0-1-25', 'maintenance')];

  it('the router\'s replica when it has the GTID, else another that is up, else null (primary)', () => {
    expect(caughtUpReplica(servers, 'r2', '0-1-15')).toBe('r2');
    expect(caughtUpReplica(servers, 'r1', '0-1-15')).toBe('r2');
    expect(caughtUpReplica(servers, 'r1', '0-1-21')).toBeNull(); // r3 has it but is in maintenance
    expect(caughtUpReplica(servers, 'r3', '0-1-21')).toBe('r3');
  });

  it('every domain must be reached; unknown positions do not count', () => {
    const multi = [server('r1', 'replica', '0-1-30,1-2-4'), server('r2', 'replica', '')];
    expect(caughtUpReplica(multi, 'r2', '0-1-30,1-2-4')).toBe('r1');
    expect(caughtUpReplica(multi, 'r1', '0-1-30,1-2-5')).toBeNull();
    expect(caughtUpReplica(multi, 'r1', '')).toBeNull();
    expect(caughtUpReplica([server('x', 'primary', '0-1-99')], 'x', '0-1-1')).toBeNull();
  });

  it('the wait statement refuses anything but a GTID list', () => {
    expect(gtidWaitPayload('0-1-5,1-2-3', 1000).toString()).toContain("MASTER_GTID_WAIT('0-1-5,1-2-3', 1.000)");
    expect(() => gtidWaitPayload("0-1-5'); DROP TABLE t; --", 1000)).toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_OPTIONS, deriveRoles, type RoleInput, type RoleRuleOptions } from '../../host/monitor/role-rules.js';
import type { ServerObservation, SlaveConnection } from '../../host/monitor/server-state.js';

const PORTS: Record<string, number> = { a: 3301, b: 3302, c: 3303, d: 3304, ext: 3399 };

function conn(master: string, io: SlaveConnection['ioRunning'] = 'Yes', sql = true, extra: Partial<SlaveConnection> = {}): SlaveConnection {
  return {
    connectionName: '', masterHost: '127.0.0.1', masterPort: PORTS[master]!, masterServerId: 0,
    ioRunning: io, sqlRunning: sql, secondsBehindMaster: io === 'Yes' && sql ? 0 : null,
    gtidIoPos: '0-1-10', lastIoError: '', lastSqlError: '', ...extra,
  };
}

function obs(serverId: number, readOnly: boolean, slaves: SlaveConnection[] = []): ServerObservation {
  return { serverId, readOnly, gtidCurrentPos: '0-1-10', gtidBinlogPos: '0-1-10', version: '10.11', slaves };
}

function server(name: string, o: ServerObservation | undefined, up = true, downTicks = 0): RoleInput {
  return { name, address: '127.0.0.1', port: PORTS[name]!, up, obs: o, downTicks };
}

function roles(servers: RoleInput[], prev: string | null = null, opts: Partial<RoleRuleOptions> = {}) {
  const r = deriveRoles(servers, prev, { ...DEFAULT_ROLE_OPTIONS, ...opts });
  return { primary: r.primary, roles: Object.fromEntries(r.servers.map((s) => [s.name, s.role])), verdicts: r.servers };
}

/** primary a (server_id 1) with replicas b and c, like the test harness. */
const standard = (bConn = conn('a'), cConn = conn('a')) => [
  server('a', obs(1, false)),
  server('b', obs(2, true, [bConn])),
  server('c', obs(3, true, [cConn])),
];

describe('deriveRoles', () => {
  it('finds the primary and its replicas', () => {
    const r = roles(standard());
    expect(r.primary).toBe('a');
    expect(r.roles).toEqual({ a: 'primary', b: 'replica', c: 'replica' });
    expect(r.verdicts[0]!.status).toEqual(['Master', 'Running']);
    expect(r.verdicts[1]!.status).toEqual(['Slave', 'Running']);
    expect(r.verdicts[1]!.replicatesFrom).toBe('a');
    expect(r.verdicts[1]!.masters).toEqual(['a']);
  });

  it('does not depend on the order of servers', () => {
    const [a, b, c] = standard();
    expect(roles([c!, b!, a!]).roles).toEqual({ a: 'primary', b: 'replica', c: 'replica' });
  });

  it('a stopped replica (STOP SLAVE) is not a replica', () => {
    const r = roles(standard(conn('a', 'No', false)));
    expect(r.roles).toEqual({ a: 'primary', b: 'unknown', c: 'replica' });
    expect(r.verdicts[1]!.reason).toBe('replication from a is not running (IO No, SQL No)');
    expect(r.verdicts[1]!.status).toEqual(['Running']);
  });

  it('a stopped SQL thread or IO thread breaks the replica', () => {
    expect(roles(standard(conn('a', 'Yes', false, { lastSqlError: 'Duplicate entry' }))).verdicts[1]).toMatchObject({
      role: 'unknown', reason: 'replication from a is not running (IO Yes, SQL No: Duplicate entry)',
    });
    expect(roles(standard(conn('a', 'No', true))).roles.b).toBe('unknown');
  });

  it('an IO thread still connecting is a (stale) replica unless detect_stale_slave is off', () => {
    expect(roles(standard(conn('a', 'Connecting'))).roles.b).toBe('replica');
    expect(roles(standard(conn('a', 'Connecting')), null, { detect_stale_slave: false }).roles.b).toBe('unknown');
  });

  it('a down server is down with role unknown', () => {
    const s = standard();
    s[2] = server('c', obs(3, true, [conn('a')]), false, 1);
    const r = roles(s, 'a');
    expect(r.roles.c).toBe('unknown');
    expect(r.verdicts[2]!.status).toEqual(['Down']);
  });

  it('keeps a down primary while its replicas run (stale), and they stay replicas', () => {
    const s = [
      server('a', obs(1, false), false, 100),
      server('b', obs(2, true, [conn('a', 'Connecting')])),
      server('c', obs(3, true, [conn('a', 'Connecting')])),
    ];
    const r = roles(s, 'a');
    expect(r.primary).toBe('a');
    expect(r.roles).toEqual({ a: 'unknown', b: 'replica', c: 'replica' });
  });

  it('keeps a down primary for failcount ticks, then lets a writable server take over', () => {
    const s = (ticks: number) => [
      server('a', obs(1, false), false, ticks),
      server('b', obs(2, false)), // writable standalone, nobody replicates from a any more
    ];
    expect(roles(s(5), 'a', { failcount: 5 }).primary).toBe('a');
    const after = roles(s(6), 'a', { failcount: 5 });
    expect(after.primary).toBe('b');
    expect(after.roles).toEqual({ a: 'unknown', b: 'primary' });
  });

  it('sticks with the previous primary even if another has more replicas', () => {
    const s = [
      server('a', obs(1, false)),
      server('b', obs(2, false)),
      server('c', obs(3, true, [conn('b')])),
    ];
    expect(roles(s, null).primary).toBe('b'); // most replicas
    expect(roles(s, 'a').primary).toBe('a'); // sticky
  });

  it('drops a primary that turned read-only or started replicating', () => {
    const ro = standard();
    ro[0] = server('a', obs(1, true));
    expect(roles(ro, 'a').primary).toBe(null);
    const s = [server('a', obs(1, false, [conn('b')])), server('b', obs(2, false))];
    expect(roles(s, 'a')).toMatchObject({ primary: 'b', roles: { a: 'replica', b: 'primary' } });
  });

  it('ties go to the earlier server; detect_standalone_master off needs a replica', () => {
    const s = [server('a', obs(1, false)), server('b', obs(2, false))];
    expect(roles(s)).toMatchObject({ primary: 'a', roles: { a: 'primary', b: 'standalone' } });
    expect(roles(s).verdicts[1]!.reason).toBe('writable, but a is the primary');
    expect(roles(s, null, { detect_standalone_master: false })).toMatchObject({ primary: null, roles: { a: 'standalone', b: 'standalone' } });
  });

  it('no writable server: no primary, replicas are unknown', () => {
    const s = standard();
    s[0] = server('a', obs(1, true));
    const r = roles(s);
    expect(r.primary).toBe(null);
    expect(r.roles).toEqual({ a: 'unknown', b: 'unknown', c: 'unknown' });
    expect(r.verdicts[1]!.reason).toBe('there is no primary');
    expect(r.verdicts[0]!.reason).toBe('read_only is on, so it cannot be the primary');
  });

  it('relays: replicas of replicas are replicas; a replica of a broken replica is not', () => {
    const s = [
      server('a', obs(1, false)),
      server('b', obs(2, true, [conn('a')])),
      server('c', obs(3, true, [conn('b')])),
    ];
    const r = roles(s);
    expect(r.roles).toEqual({ a: 'primary', b: 'replica', c: 'replica' });
    expect(r.verdicts[1]!.status).toEqual(['Slave', 'Relay Master', 'Running']);
    s[1] = server('b', obs(2, true, [conn('a', 'No', false)]));
    const broken = roles(s);
    expect(broken.roles).toEqual({ a: 'primary', b: 'unknown', c: 'unknown' });
    expect(broken.verdicts[2]!.reason).toBe('replicates from b, which does not replicate from the primary a');
  });

  it('replicas behind a downed relay still count', () => {
    const s = [
      server('a', obs(1, false)),
      server('b', obs(2, true, [conn('a')]), false, 3),
      server('c', obs(3, true, [conn('b', 'Connecting')])),
    ];
    expect(roles(s, 'a').roles).toEqual({ a: 'primary', b: 'unknown', c: 'replica' });
  });

  it('external masters: status word, and a primary may replicate from outside', () => {
    const s = [
      server('a', obs(1, false, [conn('ext')])),
      server('b', obs(2, true, [conn('a')])),
    ];
    const r = roles(s);
    expect(r.roles).toEqual({ a: 'primary', b: 'replica' });
    expect(r.verdicts[0]!.status).toEqual(['Master', 'Slave of External Server', 'Running']);
    expect(roles(s, null, { ignore_external_masters: true }).verdicts[0]!.status).toEqual(['Master', 'Running']);
  });

  it('matches masters by address and port, or by server id when hostnames are not unique', () => {
    const byId = conn('a', 'Yes', true, { masterHost: 'db-a.internal', masterPort: 3306, masterServerId: 1 });
    expect(roles(standard(byId)).roles.b).toBe('replica');
    expect(roles(standard(byId), null, { assume_unique_hostnames: false }).roles.b).toBe('replica');
    // Not connected yet: Master_Server_Id is not trusted with assume_unique_hostnames.
    const stale = { ...byId, ioRunning: 'Connecting' as const };
    expect(roles(standard(stale)).roles.b).toBe('unknown');
    // Addresses only count with assume_unique_hostnames.
    const addrOnly = conn('a', 'Yes', true, { masterServerId: 0 });
    expect(roles(standard(addrOnly), null, { assume_unique_hostnames: false }).roles.b).toBe('unknown');
  });

  it('a reachable server the monitor cannot read is up with role unknown', () => {
    const s = standard();
    s[1] = server('b', undefined, true);
    const r = roles(s);
    expect(r.roles.b).toBe('unknown');
    expect(r.verdicts[1]).toMatchObject({ status: ['Running'], reason: 'the monitor cannot read its state' });
  });

  it('a two-server cycle has no primary (multimaster groups are not supported)', () => {
    const s = [server('a', obs(1, false, [conn('b')])), server('b', obs(2, false, [conn('a')]))];
    expect(roles(s).primary).toBe(null);
  });
});

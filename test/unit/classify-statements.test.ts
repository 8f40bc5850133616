// host/classify: kind and flags of real statements, table-driven (test/unit/classify-fixtures/).
// Each case states the exact kind and the exact set of flags; flags are compared by name so a
// failure shows which bits differ.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { classify, ClassifyResult, Flag, flagNames, flagsOf, Kind, kindName } from '../../host/classify/index.js';
import type { Case } from './classify-fixtures/cases.js';
import { CONNECTORS } from './classify-fixtures/connectors.js';
import { ORMS } from './classify-fixtures/orms.js';
import { DDL, DUMP, SEQUENCES_CALL_PREPARE, SYNTAX, TEMP_AND_LOCKS, TRANSACTIONS, VARIABLES } from './classify-fixtures/statements.js';
import { SYSBENCH } from './classify-fixtures/sysbench.js';

const GROUPS: [string, Case[]][] = [
  ['sysbench oltp_*', SYSBENCH],
  ['connectors and clients', CONNECTORS],
  ['ORMs', ORMS],
  ['DDL and admin', DDL],
  ['temporary tables and locks', TEMP_AND_LOCKS],
  ['sequences, CALL, PREPARE/EXECUTE', SEQUENCES_CALL_PREPARE],
  ['transactions', TRANSACTIONS],
  ['variables, functions, files', VARIABLES],
  ['syntax: CTEs, SET STATEMENT, comments, quotes, multi-statements', SYNTAX],
  ['mysqldump output', DUMP],
];

const res = new ClassifyResult();

function run(sql: string, offset = 0): { kind: string; flags: string[] } {
  // Classify inside a COM_QUERY-like payload (command byte first), as the host does.
  const buf = Buffer.concat([Buffer.alloc(offset, 0x03), Buffer.from(sql), Buffer.from(' trailing junk')]);
  classify(buf, offset, offset + Buffer.byteLength(sql), res);
  return { kind: kindName(res.kind), flags: flagNames(res.flags).sort() };
}

describe('classifier: real statements', () => {
  it('has at least 300 cases', () => {
    expect(GROUPS.reduce((n, [, cases]) => n + cases.length, 0)).toBeGreaterThanOrEqual(300);
  });

  for (const [group, cases] of GROUPS) {
    describe(group, () => {
      it.each(cases.map((c) => [c[0].length > 90 ? `${c[0].slice(0, 87)}...` : c[0], c] as const))('%s', (_name, c) => {
        const [sql, kind, flags] = c;
        const expected = { kind, flags: flags.split(/\s+/).filter(Boolean).sort() };
        expect(run(sql, 1)).toEqual(expected);
        // The names are real flags, and the result does not depend on where the text sits.
        flagsOf(expected.flags);
        expect(run(sql, 0)).toEqual(expected);
      });
    });
  }
});

describe('classifier: result fields', () => {
  it('counts statements and names the verb', () => {
    const b = Buffer.from('SELECT 1; UPDATE t SET a = 1; ');
    classify(b, 0, b.length, res);
    expect(res.statements).toBe(2);
    expect(res.kind).toBe(Kind.WRITE);
    expect(res.flags & Flag.MULTI_STATEMENT).toBe(Flag.MULTI_STATEMENT);
    const e = Buffer.from('  -- nothing\n');
    classify(e, 0, e.length, res);
    expect(res.statements).toBe(0);
    expect(res.kind).toBe(Kind.UNKNOWN);
    expect(res.flags).toBe(0);
  });

  it('overwrites every field of a reused result', () => {
    const a = Buffer.from("SELECT 1 /* wasmscale route to server db9 */ FOR UPDATE; SELECT 2");
    classify(a, 0, a.length, res);
    expect(res.hint).not.toBe(0);
    const b = Buffer.from('COMMIT');
    classify(b, 0, b.length, res);
    expect({ ...res }).toEqual({
      kind: Kind.COMMIT, flags: Flag.COMMIT, digestLo: res.digestLo, digestHi: res.digestHi,
      statements: 1, verb: res.verb, hint: 0, hintStart: 0, hintEnd: 0,
    });
  });

  it('skips the digest when asked', () => {
    const b = Buffer.from('SELECT 1');
    classify(b, 0, b.length, res, false);
    expect([res.digestLo, res.digestHi]).toEqual([0, 0]);
    expect(res.kind).toBe(Kind.READ);
  });

  it('flags are unsigned 32-bit', () => {
    const b = Buffer.from('SELECT NOW()');
    classify(b, 0, b.length, res);
    expect(res.flags).toBe((Flag.READ | Flag.NON_DETERMINISTIC) >>> 0);
    expect(res.flags).toBeGreaterThan(0);
  });
});

describe('classifier: hot path', () => {
  it('allocates nothing per statement (no garbage collection while classifying 300,000 statements)', async () => {
    const sqls = [...SYSBENCH, ...ORMS].map((c) => Buffer.from(`\x03${c[0]} -- wasmscale route to server db2`));
    for (const b of sqls) classify(b, 1, b.length, res); // warm up (JIT, the canonical scratch)
    const gcs: number[] = [];
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e.startTime); });
    obs.observe({ entryTypes: ['gc'] });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    for (let i = 0, j = 0; i < 300_000; i++, j = j + 1 === sqls.length ? 0 : j + 1) {
      const b = sqls[j]!;
      classify(b, 1, b.length, res);
    }
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    // Had each call allocated even 50 bytes, 15 MB of garbage would have needed several scavenges.
    expect(gcs.filter((t) => t >= t0 && t <= t1).length).toBeLessThanOrEqual(1);
  });
});

// ReplyTracker.captureOk: OK packets that carry session state are handed over whole (for
// causal_reads' last_gtid), however the bytes are chunked; nothing is copied or reported when off.
// Replies are real MariaDB 10.11 bytes (SESSION_TRACK + DEPRECATE_EOF), pipelined in one stream.
import { describe, expect, it } from 'vitest';
import { ReplyKind, ReplyTracker } from '../../host/protocol/reply-tracker.js';
import { sessionStateOf, trackedVariable } from '../../host/protocol/session-state.js';

const REPLIES = [
  // INSERT: OK with last_gtid 0-1-11
  '1c0000010001000240000000130011096c6173745f6774696406302d312d3131',
  // SELECT @@session_track_system_variables: a result set (its closing OK is not reported)
  '0100000101360000020364656600000020404073657373696f6e5f747261636b5f73797374656d5f7661726961626c6573000c2d0088010000fd000027000063000003626175746f636f6d6d69742c6368617261637465725f7365745f636c69656e742c6368617261637465725f7365745f636f6e6e656374696f6e2c6368617261637465725f7365745f726573756c74732c6c6173745f677469642c74696d655f7a6f6e6507000004fe000002000000',
  // UPDATE matching nothing: OK with info, no session state
  '300000010000000200000028526f7773206d6174636865643a203020204368616e6765643a203020205761726e696e67733a2030',
  // COMMIT: OK with last_gtid 0-1-12 and transaction state
  '2a0000010000000240000000210011096c6173745f6774696406302d312d31320509085f5f5f5f5f5f5f5f040100',
].map((h) => Buffer.from(h, 'hex'));

function run(capture: boolean, chunkSizes: () => number): { gtids: (string | null)[]; ends: number } {
  const gtids: (string | null)[] = [];
  let ends = 0;
  const t = new ReplyTracker({
    onReplyEnd: () => void ends++,
    onLocalInfile: () => {},
    onUnexpected: () => {},
    onSessionState: (ok) => {
      const block = sessionStateOf(Buffer.from(ok));
      gtids.push(block ? trackedVariable(block, 'last_gtid') : null);
    },
  });
  t.deprecateEof = true;
  t.captureOk = capture;
  for (let i = 0; i < REPLIES.length; i++) t.expect(i === 2 ? ReplyKind.Single : ReplyKind.Result);
  const stream = Buffer.concat(REPLIES);
  for (let pos = 0; pos < stream.length;) {
    const n = Math.max(1, Math.min(chunkSizes(), stream.length - pos));
    t.feed(stream.subarray(pos, pos + n));
    pos += n;
  }
  return { gtids, ends };
}

describe('ReplyTracker captureOk', () => {
  it('reports exactly the OKs with session state, whole, in any chunking', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), 1 + (seed % 40));
    for (const sizes of [() => 1, () => 3, () => 1 << 20, random]) {
      expect(run(true, sizes)).toEqual({ gtids: ['0-1-11', '0-1-12'], ends: 4 });
    }
  });

  it('reports nothing when off', () => {
    expect(run(false, () => 5)).toEqual({ gtids: [], ends: 4 });
  });

  it('an OK with session state too large to keep is reported as null (state unknown)', () => {
    const info = Buffer.alloc(5000, 0x61);
    const block = Buffer.from('0011096c6173745f6774696406302d312d3131', 'hex');
    const payload = Buffer.concat([Buffer.from([0, 1, 0, 0x02, 0x40, 0, 0, 0xfc]), Buffer.from([info.length & 0xff, info.length >> 8]), info, Buffer.from([block.length]), block]);
    const header = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, 0, 1]);
    const got: (Buffer | null)[] = [];
    const t = new ReplyTracker({ onReplyEnd: () => {}, onLocalInfile: () => {}, onUnexpected: () => {}, onSessionState: (ok) => void got.push(ok) });
    t.captureOk = true;
    t.expect(ReplyKind.Result);
    t.expect(ReplyKind.Result);
    t.feed(Buffer.concat([header, payload, Buffer.from(REPLIES[0]!)]));
    expect(got.length).toBe(2);
    expect(got[0]).toBeNull();
    expect(trackedVariable(sessionStateOf(got[1]!)!, 'last_gtid')).toBe('0-1-11');
  });
});

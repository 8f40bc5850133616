// A command that involves several connections or the proxy itself, and the wait for its replies.
import type { FramedPacket } from '../protocol/framer.js';
import type { ReplyKind } from '../protocol/reply-tracker.js';
import type { BackendLink, ReplyMode } from './backend-link.js';
import type { SessionCore } from './session-core.js';

/** A command that involves several connections or the proxy itself (session command, prepare, replay). */
export interface MultiOp {
  /** Replies still expected, per connection. */
  readonly waiting: Map<BackendLink, number>;
  /** Outcomes of the replies, in arrival order per connection. */
  readonly outcomes: Map<BackendLink, Outcome[]>;
  readonly done: () => void;
}

/** How one connection answered one command of a MultiOp. */
export interface Outcome {
  ok: boolean;
  errorCode: number;
  /** The bytes of a collected reply. */
  reply: Buffer | null;
  affectedRows: number;
  resultSet: boolean;
}

/** Runs `send` for the given connections and waits for the replies it announced. */
export function multi(s: SessionCore, expected: Map<BackendLink, number>, send: () => void): Promise<MultiOp['outcomes']> {
  return new Promise((resolve) => {
    const op: MultiOp = {
      waiting: expected,
      outcomes: new Map(),
      done: () => {
        if (s.op === op) s.op = null;
        resolve(op.outcomes);
      },
    };
    s.op = op;
    send();
    if (expected.size === 0) op.done();
  });
}

/** Sends `p` to each of `links`, each to answer one reply of `kind` (kept per `mode`), and waits for them. */
export function sendToEach(s: SessionCore, links: readonly BackendLink[], kind: ReplyKind, mode: ReplyMode, p: FramedPacket): Promise<MultiOp['outcomes']> {
  return multi(s, new Map(links.map((l) => [l, 1])), () => {
    for (const l of links) {
      l.expect(kind, mode, p.payload);
      s.writeTo(l, p);
    }
  });
}

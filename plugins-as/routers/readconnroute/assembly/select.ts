// Server selection at session start: the servers that match router_options, least connections
// first, weighted (connections / weight), ties to the one listed first in the service.
import { Server, ServerTable, SessionTargets } from "wasmscale-sdk";
import { Options } from "./options";

function lagOk(s: Server, o: Options): bool {
  if (o.maxLagMs <= 0 || !s.isReplica) return true;
  return s.lagMs >= 0 && <f64>s.lagMs < o.maxLagMs;
}

/** Whether `s` may take a new session under these options (fallback to the primary aside). */
export function matches(s: Server, o: Options): bool {
  if (!s.isUsable || s.weight == 0) return false;
  if (o.master && s.isPrimary) return true;
  if (o.slave && s.isReplica && lagOk(s, o)) return true;
  if (o.running) {
    if (s.isPrimary && !o.master && !o.masterAcceptReads) return false;
    return lagOk(s, o);
  }
  return false;
}

/** a before b: fewer connections per unit of weight (compared without division). */
function better(a: Server, b: Server): bool {
  return <u64>a.connections * <u64>b.weight < <u64>b.connections * <u64>a.weight;
}

// Reused between calls: selection allocates nothing once it has grown.
const order: Server[] = [];

/** Fills `targets` with the matching servers, best first; refuses the session if none. */
export function selectServers(servers: ServerTable, o: Options, targets: SessionTargets): void {
  order.length = 0;
  for (let i = 0; i < servers.count; i++) {
    const s = servers.get(i);
    if (!matches(s, o)) continue;
    // Insertion sort: a handful of servers; stable, so ties keep the configured order.
    order.push(s);
    let at = order.length - 1;
    while (at > 0 && better(s, order[at - 1])) {
      order[at] = order[at - 1];
      at--;
    }
    order[at] = s;
  }
  // MaxScale: "slave" falls back to the primary when no replica is available.
  if (order.length == 0 && o.slave && o.masterAcceptReads) {
    const p = servers.primaryIndex();
    if (p >= 0 && servers.get(p).weight > 0) order.push(servers.get(p));
  }
  if (order.length == 0) {
    targets.refuse("readconnroute: no server matches router_options=" + o.text);
    return;
  }
  for (let i = 0; i < order.length; i++) targets.add(order[i].index);
}

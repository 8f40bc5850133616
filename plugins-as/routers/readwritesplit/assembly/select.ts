// Replica selection (slave_selection_criteria): among replicas that are up and within the lag
// limit, the best by the chosen criterion; ties go to the one listed first.
import { Server, ServerTable, Statement } from "wasmscale-sdk";
import { Criteria, Options } from "./options";

function eligible(s: Server, o: Options): bool {
  if (!s.isReplica || !s.isUsable || s.weight == 0) return false;
  if (o.maxLagMs > 0 && (s.lagMs < 0 || <f64>s.lagMs >= o.maxLagMs)) return false;
  return true;
}

function score(s: Server, stmt: Statement | null, o: Options): f64 {
  if (o.criteria == Criteria.LEAST_BEHIND_MASTER) return s.lagMs < 0 ? 1e12 : <f64>s.lagMs;
  if (o.criteria == Criteria.LEAST_ROUTER_CONNECTIONS || stmt == null) return <f64>s.connections / <f64>s.weight;
  if (o.criteria == Criteria.ADAPTIVE_ROUTING) {
    // An unmeasured server scores 0 and gets tried, so every server gets measured.
    return <f64>stmt.serverResponseUs(s.index) * <f64>(stmt.serverOps(s.index) + 1) / <f64>s.weight;
  }
  return <f64>stmt.serverOps(s.index) / <f64>s.weight;
}

/** Index of the replica to use, or -1 (then the primary serves reads, as in MaxScale). */
export function pickReplica(servers: ServerTable, stmt: Statement | null, o: Options): i32 {
  let best = -1;
  let bestScore: f64 = 0;
  for (let i = 0; i < servers.count; i++) {
    const s = servers.get(i);
    if (!eligible(s, o)) continue;
    const sc = score(s, stmt, o);
    if (best < 0 || sc < bestScore) {
      best = i;
      bestScore = sc;
    }
  }
  if (best < 0 || !o.masterAcceptReads) return best;
  // master_accept_reads: the primary competes with the replicas.
  const p = servers.primaryIndex();
  if (p >= 0 && servers.get(p).isUsable && score(servers.get(p), stmt, o) < bestScore) return p;
  return best;
}

// Routing hints (sdk/ABI.md "Routing hints"): where a hinted statement goes, or -1 to ignore the
// hint and route as usual. MaxScale's readwritesplit + hintfilter behaviour: master → the
// primary; slave → a replica as selection picks it, else the primary; server NAME → that server
// if it is usable, else the hint is ignored (logged once per name); last → the previous target.
import { Hint, ServerTable, Statement, log } from "wasmscale-sdk";
import { Options } from "./options";
import { pickReplica } from "./select";

/** Names already warned about (bounded: a client can send any name). */
const warned = new Set<string>();
const MAX_WARNED = 64;

/** Index of the server the hint names, or -1 if none in the table has that name. */
export function hintedServerIndex(stmt: Statement, servers: ServerTable): i32 {
  for (let i = 0; i < servers.count; i++) if (stmt.hintServerIs(servers.get(i).name)) return i;
  return -1;
}

function ignore(stmt: Statement, why: string): i32 {
  const name = stmt.hintServer;
  if (!warned.has(name) && warned.size < MAX_WARNED) {
    warned.add(name);
    log.warn("readwritesplit: routing hint \"route to server " + name + "\" ignored: " + why);
  }
  return -1;
}

/**
 * Target of the statement's hint, or -1 (no hint, or one to ignore). `pinned`: the session must
 * stay on the primary, so only a hint to the primary counts.
 */
export function hintedTarget(stmt: Statement, servers: ServerTable, last: i32, o: Options, pinned: bool): i32 {
  const h = stmt.hint;
  if (h == Hint.MASTER) return servers.primaryIndex();
  if (pinned) return -1;
  if (h == Hint.SLAVE) {
    const r = pickReplica(servers, stmt, o);
    return r >= 0 ? r : servers.primaryIndex();
  }
  if (h == Hint.SERVER) {
    const i = hintedServerIndex(stmt, servers);
    if (i < 0) return ignore(stmt, "no such server");
    if (!servers.get(i).isUsable) return ignore(stmt, "the server is not usable");
    return i;
  }
  if (h == Hint.LAST) return last >= 0 && last < servers.count && servers.get(last).isUsable ? last : -1;
  return -1; // a hint kind newer than this plugin
}

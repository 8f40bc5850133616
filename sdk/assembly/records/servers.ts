// The server table (ABI.md §6 ServerTable): decoded once per wsx_servers call (rare) into objects
// that stay valid until the next table. Connection counts are refreshed at every session start.
import { Role, ServerState } from "../abi";
import { i32At, strAt, u32At, u8At } from "./read";

export class Server {
  /** Position in the table: what SessionTargets and RouteDecision name servers by. */
  index: i32 = 0;
  name: string = "";
  role: u8 = Role.UNKNOWN;
  state: u8 = ServerState.UNKNOWN;
  /** Configured weight (default 1; 0 = take no new sessions). */
  weight: u32 = 1;
  /** Replication lag in milliseconds; -1 unknown. */
  lagMs: i32 = -1;
  /** This worker's sessions of this service on the server (connected or connecting). */
  connections: u32 = 0;

  get isPrimary(): bool { return this.role == Role.PRIMARY; }
  get isReplica(): bool { return this.role == Role.REPLICA; }
  get isUp(): bool { return this.state == ServerState.UP; }
  /** Up, or not monitored yet (the host will try it): worth routing to. */
  get isUsable(): bool { return this.state == ServerState.UP || this.state == ServerState.UNKNOWN; }
}

export class ServerTable {
  servers: Server[] = [];

  get count(): i32 { return this.servers.length; }

  get(index: i32): Server { return this.servers[index]; }

  /** The server called `name`, or null. */
  find(name: string): Server | null {
    for (let i = 0; i < this.servers.length; i++) {
      if (this.servers[i].name == name) return this.servers[i];
    }
    return null;
  }

  /** Index of the first primary that is up or unknown, or -1. */
  primaryIndex(): i32 {
    for (let i = 0; i < this.servers.length; i++) {
      const s = this.servers[i];
      if (s.isPrimary && s.isUsable) return i;
    }
    return -1;
  }
}

/** The one table of this instance. */
export const serverTable = new ServerTable();

// Entry offsets (each entry starts with its own size).
const E_ROLE: u32 = 4;
const E_STATE: u32 = 5;
const E_WEIGHT: u32 = 8;
const E_LAG: u32 = 12;
const E_CONNS: u32 = 16;
const E_NAME: u32 = 20;

/** Decodes a ServerTable record into `serverTable`. Returns false if the record is malformed. */
export function decodeServerTable(base: usize, size: u32): bool {
  const count = u32At(base, size, 4);
  let off: u32 = 8;
  const list = new Array<Server>();
  for (let i: u32 = 0; i < count; i++) {
    if (off + 4 > size) return false;
    const esize = load<u32>(base + off);
    if (esize < 4 || off + esize > size) return false;
    const e = base + off;
    const s = new Server();
    s.index = <i32>i;
    s.role = u8At(e, esize, E_ROLE);
    s.state = u8At(e, esize, E_STATE);
    s.weight = E_WEIGHT + 4 <= esize ? load<u32>(e + E_WEIGHT) : 1;
    s.lagMs = i32At(e, esize, E_LAG, -1);
    s.connections = u32At(e, esize, E_CONNS);
    s.name = strAt(e, esize, E_NAME);
    list.push(s);
    off += esize;
  }
  serverTable.servers = list;
  return true;
}

// Sessions (ABI.md §6 SessionStart / SessionEnd): what the plugin knows of each live session of
// its service on this worker. Decoded once at session start and kept until session end.
import { NO_SERVER } from "../abi";
import { afterStr, listAt, listCount, strAt, u32At } from "./read";
import { serverTable } from "./servers";

export class Session {
  id: u32 = 0;
  user: string = "";
  database: string = "";
  clientAddress: string = "";
  service: string = "";
  tenant: string = "";
  /** Index of the server the session is connected to; -1 while it has none. */
  currentServer: i32 = -1;
}

const sessions = new Map<u32, Session>();

/** The live session with this id, or null. */
export function findSession(id: u32): Session | null {
  return sessions.has(id) ? sessions.get(id) : null;
}

export function sessionCount(): i32 {
  return sessions.size;
}

const OFF_ID: u32 = 4;
const OFF_CURRENT: u32 = 8;
const OFF_USER: u32 = 12;

/**
 * Decodes SessionStart, registers the session and refreshes the server table's connection
 * counts from the record's server_conns list.
 */
export function decodeSessionStart(base: usize, size: u32): Session {
  const s = new Session();
  s.id = u32At(base, size, OFF_ID);
  const current = OFF_CURRENT + 4 <= size ? load<u32>(base + OFF_CURRENT) : NO_SERVER;
  s.currentServer = current == NO_SERVER ? -1 : <i32>current;
  let off = OFF_USER;
  s.user = strAt(base, size, off);
  off = afterStr(base, size, off);
  s.database = strAt(base, size, off);
  off = afterStr(base, size, off);
  s.clientAddress = strAt(base, size, off);
  off = afterStr(base, size, off);
  s.service = strAt(base, size, off);
  off = afterStr(base, size, off);
  s.tenant = strAt(base, size, off);
  off = afterStr(base, size, off);
  const n = listCount(base, size, off);
  const table = serverTable.servers;
  for (let i: u32 = 0; i < n && i < <u32>table.length; i++) {
    table[i].connections = listAt(base, size, off, i, 0);
  }
  sessions.set(s.id, s);
  return s;
}

/** Decodes SessionEnd; returns the session (already unregistered) or null if unknown. */
export function decodeSessionEnd(base: usize, size: u32): Session | null {
  const id = u32At(base, size, OFF_ID);
  if (!sessions.has(id)) return null;
  const s = sessions.get(id);
  sessions.delete(id);
  return s;
}

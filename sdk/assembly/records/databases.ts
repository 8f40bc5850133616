// The database table (ABI.md §6 DatabaseTable, 1.2): which databases each server holds, as the
// host's database discovery last read them (SHOW DATABASES with the service user). Decoded once
// per wsx_databases call (rare) into a map from database name to the first server holding it.
import { u32At } from "./read";

export class DatabaseTable {
  /** Database name -> index of the first server (in table order) that holds it. */
  owners: Map<string, i32> = new Map<string, i32>();
  /** Per server index: its databases (empty for a server the host could not read). */
  lists: Array<string[]> = new Array<string[]>();
  /** Databases found on more than one server ("db on s1 and s2"), for the plugin to log. */
  duplicates: string[] = [];

  /** Index of the server holding `db`, or -1. */
  serverFor(db: string): i32 {
    return this.owners.has(db) ? this.owners.get(db) : -1;
  }

  /** Whether any server has been read (discovery answered at least once). */
  get known(): bool { return this.owners.size > 0; }

  databasesOf(server: i32): string[] {
    return server >= 0 && server < this.lists.length ? this.lists[server] : [];
  }
}

/** The one table of this instance. */
export const databaseTable = new DatabaseTable();

/** Decodes a DatabaseTable record into `databaseTable`. Returns false if it is malformed. */
export function decodeDatabaseTable(base: usize, size: u32): bool {
  const count = u32At(base, size, 4);
  const owners = new Map<string, i32>();
  const lists = new Array<string[]>();
  const dups = new Array<string>();
  let off: u32 = 8;
  for (let i: u32 = 0; i < count; i++) {
    if (off + 4 > size) return false;
    const esize = load<u32>(base + off);
    if (esize < 4 || off + esize > size) return false;
    const e = base + off;
    const server = <i32>u32At(e, esize, 4);
    const n = u32At(e, esize, 8);
    let at: u32 = 12;
    const names = new Array<string>();
    for (let j: u32 = 0; j < n && at + 4 <= esize; j++) {
      const len = load<u32>(e + at);
      if (at + 4 + len > esize) return false;
      const name = String.UTF8.decodeUnsafe(e + at + 4, len);
      at += 4 + len;
      names.push(name);
      if (!owners.has(name)) owners.set(name, server);
      else if (owners.get(name) != server) dups.push(name);
    }
    while (lists.length <= server) lists.push(new Array<string>());
    if (server >= 0) lists[server] = names;
    off += esize;
  }
  databaseTable.owners = owners;
  databaseTable.lists = lists;
  databaseTable.duplicates = dups;
  return true;
}

// The AssemblyScript runtime's abort handler for plugins. `wasmscale plugin build` passes
// `--use abort=~lib/wasmscale-sdk/assembly/abort/wsxAbort`, so modules built with the SDK import
// no `env.abort`. It logs "abort: <message> at <file>:<line>:<column>" through the host and traps;
// the host then handles the trap (ABI.md §9). It allocates nothing: the runtime may be out of
// memory when it runs, so the message goes through a static scratch area.
import { host_log } from "./host";

const SCRATCH_SIZE: i32 = 512;
const scratch = memory.data(SCRATCH_SIZE);

function put(pos: i32, s: string | null): i32 {
  if (s === null) return pos;
  const str = changetype<string>(s);
  const n = str.length;
  for (let i = 0; i < n && pos < SCRATCH_SIZE; i++) {
    const c = str.charCodeAt(i);
    // ASCII as is; anything else as '?', which is enough for a diagnostic line.
    store<u8>(scratch + pos++, c < 0x80 ? <u8>c : 0x3f);
  }
  return pos;
}

function putNumber(pos: i32, n: u32): i32 {
  let digits: i32 = 1;
  for (let v = n; v >= 10; v /= 10) digits++;
  if (pos + digits > SCRATCH_SIZE) return pos;
  let v = n;
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(scratch + pos + i, <u8>(0x30 + v % 10));
    v /= 10;
  }
  return pos + digits;
}

export function wsxAbort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let pos = put(0, "abort: ");
  pos = put(pos, message);
  pos = put(pos, " at ");
  pos = put(pos, fileName);
  pos = put(pos, ":");
  pos = putNumber(pos, line);
  pos = put(pos, ":");
  pos = putNumber(pos, column);
  host_log(4, scratch, pos);
  unreachable();
}

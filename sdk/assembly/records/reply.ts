// The Reply record (ABI.md §6): the outcome of a statement, for filters that subscribe to it.
import { NO_SERVER } from "../abi";
import { u16At, u32At, u64At, u8At } from "./read";

export class Reply {
  base: usize = 0;
  size: u32 = 0;

  reset(base: usize, size: u32): void {
    this.base = base;
    this.size = size;
  }

  get sessionId(): u32 { return u32At(this.base, this.size, 4); }
  /** True for OK and result sets; false for ERR. */
  get ok(): bool { return u8At(this.base, this.size, 8) != 0; }
  get errorCode(): u16 { return u16At(this.base, this.size, 10); }
  /** Index of the server that answered; -1 if unknown. */
  get server(): i32 {
    // u32At gives 0 for a field past `size`; an absent server is NO_SERVER, so check here.
    const v: u32 = <u32>16 <= this.size ? load<u32>(this.base + 12) : NO_SERVER;
    return v == NO_SERVER ? -1 : <i32>v;
  }
  get affectedRows(): u64 { return u64At(this.base, this.size, 16); }
  get rows(): u64 { return u64At(this.base, this.size, 24); }
}

export const replyView = new Reply();

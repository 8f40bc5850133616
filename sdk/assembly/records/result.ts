// The ResultSet record (ABI.md §6, request of wsx_on_result): the columns and rows of a result
// set, for filters that subscribe to them (Filter.wantsResults). Read-only; values are the text
// protocol's bytes (prepared-statement rows converted by the host), NULL apart.
import { NO_SERVER } from "../abi";
import { afterStr, strAt, u16At, u32At, u8At } from "./read";

const OFF_COLUMNS: u32 = 28;

export class ResultColumn {
  name: string = "";
  table: string = "";
  schema: string = "";
  /** MariaDB column type (MYSQL_TYPE_*). */
  type: u8 = 0;
  decimals: u8 = 0;
  /** Column flags (NOT_NULL 1, PRI_KEY 2, UNSIGNED 32, BINARY 128, ...). */
  flags: u16 = 0;
}

export class ResultSet {
  base: usize = 0;
  size: u32 = 0;
  /** Offset of each row's first value (computed on reset, once per call). */
  private rowOffsets: u32[] = [];
  private columnsRead: ResultColumn[] = [];

  reset(base: usize, size: u32): void {
    this.base = base;
    this.size = size;
    this.columnsRead.length = 0;
    this.rowOffsets.length = 0;
    // Walk the columns, then the rows, once: values are then reached without scanning.
    let at = OFF_COLUMNS;
    const n = this.columnCount;
    for (let i: u32 = 0; i < n; i++) {
      const entry = u32At(base, size, at);
      if (entry < 8) return;
      const c = new ResultColumn();
      c.type = u8At(base, size, at + 4);
      c.decimals = u8At(base, size, at + 5);
      c.flags = u16At(base, size, at + 6);
      c.name = strAt(base, size, at + 8);
      const t = afterStr(base, size, at + 8);
      c.table = strAt(base, size, t);
      c.schema = strAt(base, size, afterStr(base, size, t));
      this.columnsRead.push(c);
      at += entry;
    }
    const rows = u32At(base, size, 16);
    for (let r: u32 = 0; r < rows; r++) {
      this.rowOffsets.push(at);
      for (let i: u32 = 0; i < n; i++) {
        if (at + 4 > size) return;
        const len = load<i32>(base + at);
        at += 4 + (len > 0 ? <u32>len : 0);
      }
    }
  }

  get sessionId(): u32 { return u32At(this.base, this.size, 4); }
  /** Index of the server that answered; -1 if unknown. */
  get server(): i32 {
    const v: u32 = <u32>12 <= this.size ? load<u32>(this.base + 8) : NO_SERVER;
    return v == NO_SERVER ? -1 : <i32>v;
  }
  get columnCount(): u32 { return u32At(this.base, this.size, 12); }
  /** Rows in this record (see truncated). */
  get rowCount(): i32 { return this.rowOffsets.length; }
  /** Rows in the result set, including those not sent. */
  get totalRows(): u32 { return u32At(this.base, this.size, 24); }
  /** The rows came in the binary protocol (a prepared statement) and were converted to text. */
  get binary(): bool { return (u32At(this.base, this.size, 20) & 1) != 0; }
  /** Some rows were left out (the record's size limit). */
  get truncated(): bool { return (u32At(this.base, this.size, 20) & 2) != 0; }

  column(i: i32): ResultColumn { return this.columnsRead[i]; }

  /** Offset of value (row, col); 0 if it is not in the record. */
  private valueAt(row: i32, col: i32): u32 {
    if (row < 0 || row >= this.rowOffsets.length || col < 0 || <u32>col >= this.columnCount) return 0;
    let at = this.rowOffsets[row];
    for (let i = 0; i < col; i++) {
      const len = load<i32>(this.base + at);
      at += 4 + (len > 0 ? <u32>len : 0);
    }
    return at + 4 <= this.size ? at : 0;
  }

  isNull(row: i32, col: i32): bool {
    const at = this.valueAt(row, col);
    return at == 0 || load<i32>(this.base + at) < 0;
  }

  /** The value as text (allocates); "" for NULL (check isNull). */
  value(row: i32, col: i32): string {
    const at = this.valueAt(row, col);
    if (at == 0) return "";
    const len = load<i32>(this.base + at);
    if (len <= 0 || at + 4 + <u32>len > this.size) return "";
    return String.UTF8.decodeUnsafe(this.base + at + 4, <usize>len);
  }
}

export const resultView = new ResultSet();

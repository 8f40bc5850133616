// The host-side pre-filter of a filter plugin (`plugins.<name>.match` / `exclude`, as MaxScale's
// filter parameters): statements it rejects never cost a hook call. Only SQL text is matched;
// a command without text (COM_STMT_EXECUTE, ...) reaches the plugin only without a `match`.

export class StatementMatcher {
  constructor(
    private readonly match: RegExp | null,
    private readonly exclude: RegExp | null,
  ) {}

  /** null when neither pattern is set (the filter sees every statement). */
  static from(match: string | undefined, exclude: string | undefined, ignoreCase: boolean): StatementMatcher | null {
    if (!match && !exclude) return null;
    const flags = ignoreCase ? 'i' : '';
    return new StatementMatcher(match ? new RegExp(match, flags) : null, exclude ? new RegExp(exclude, flags) : null);
  }

  /** `payload` holds the command byte then, when `hasText`, the SQL. */
  accepts(payload: Buffer, hasText: boolean): boolean {
    if (!hasText) return this.match === null;
    const sql = payload.toString('utf8', 1);
    if (this.match && !this.match.test(sql)) return false;
    return !(this.exclude && this.exclude.test(sql));
  }
}

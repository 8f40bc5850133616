// Counters a plugin keeps through wasmscale_v1.metric_add, plus the host's own per-plugin counts
// (calls, traps, failures). One set per plugin per service per worker; the admin endpoint and
// the test kit read them.

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class PluginMetrics {
  /** Counters the plugin added to, named "<plugin>_<name>". */
  readonly counters = new Map<string, number>();
  calls = 0;
  traps = 0;
  /** Calls that failed without trapping (negative status, malformed response). */
  errors = 0;
  /** Statements or sessions the failure policy decided because the plugin could not. */
  policyDecisions = 0;

  constructor(readonly plugin: string) {}

  /** Returns false for a name that is not [A-Za-z_][A-Za-z0-9_]* (at most 64 characters). */
  add(name: string, value: number): boolean {
    if (!NAME_RE.test(name) || !Number.isFinite(value)) return false;
    const key = `${this.plugin}_${name}`;
    this.counters.set(key, (this.counters.get(key) ?? 0) + value);
    return true;
  }

  snapshot(): Record<string, number> {
    return {
      ...Object.fromEntries(this.counters),
      [`${this.plugin}__calls`]: this.calls,
      [`${this.plugin}__traps`]: this.traps,
      [`${this.plugin}__errors`]: this.errors,
      [`${this.plugin}__policy_decisions`]: this.policyDecisions,
    };
  }
}

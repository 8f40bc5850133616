// Counters a plugin keeps through wasmscale_v1.metric_add, plus the host's own per-plugin counts
// (calls, traps, failures). One set per plugin per service per worker; the admin endpoint and
// the test kit read them.
import { Status } from './abi/constants.js';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Distinct counter names a plugin may create in one set (ABI.md §8). The set lives as long as
 * the slot (across instance replacements) and the admin endpoint lists every name, so without a
 * cap a plugin could grow the worker's heap without bound; adding to an existing name always works.
 */
export const MAX_COUNTERS = 256;

export class PluginMetrics {
  /** Counters the plugin added to, named "<plugin>_<name>". */
  readonly counters = new Map<string, number>();
  calls = 0;
  traps = 0;
  /** Calls that failed without trapping (negative status, malformed response). */
  errors = 0;
  /** Statements or sessions the failure policy decided because the plugin could not. */
  policyDecisions = 0;
  /** metric_add calls refused because the set was full. */
  countersRefused = 0;
  private fullNoted = false;

  constructor(readonly plugin: string) {}

  /**
   * Adds `value` to counter `name`. Status.BAD_ARGUMENT for a name that is not
   * [A-Za-z_][A-Za-z0-9_]* (at most 64 characters) or a value that is not finite;
   * Status.TOO_LARGE for a new name when the set already holds MAX_COUNTERS names.
   */
  add(name: string, value: number): number {
    if (!NAME_RE.test(name) || !Number.isFinite(value)) return Status.BAD_ARGUMENT;
    const key = `${this.plugin}_${name}`;
    const old = this.counters.get(key);
    if (old === undefined && this.counters.size >= MAX_COUNTERS) {
      this.countersRefused++;
      return Status.TOO_LARGE;
    }
    this.counters.set(key, (old ?? 0) + value);
    return Status.OK;
  }

  /** True the first time it is called after the set became full (to log that once). */
  noteFull(): boolean {
    if (this.fullNoted) return false;
    this.fullNoted = true;
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

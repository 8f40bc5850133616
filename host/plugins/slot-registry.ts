// Every live PluginSlot of this process (a routing worker, or the primary with `workers: 0`), by
// plugin name. A hot swap reaches a plugin's slots through here, whoever owns them (a service's
// router, a filter chain), and the admin endpoint reads their metrics and quarantine state here.
// A slot registers itself when made and unregisters when closed.
import type { PluginSlot } from './plugin-slot.js';

/** What the admin endpoint shows of one slot (one service's use of a plugin in one process). */
export interface SlotReport {
  service: string;
  /** The plugin's own version string (describe()). */
  version: string;
  /** The primary's load number of the version in use (bumped by every load or swap). */
  load: number;
  sha256: string;
  available: boolean;
  calls: number;
  traps: number;
  errors: number;
  policyDecisions: number;
  quarantined: boolean;
  quarantineReason: string;
  swaps: number;
  /** Counters the plugin keeps (metric_add), "<plugin>_<name>". */
  counters: Record<string, number>;
}

export class SlotRegistry {
  private readonly slots = new Map<string, Set<PluginSlot>>();

  register(slot: PluginSlot): void {
    let set = this.slots.get(slot.name);
    if (!set) this.slots.set(slot.name, (set = new Set()));
    set.add(slot);
  }

  unregister(slot: PluginSlot): void {
    const set = this.slots.get(slot.name);
    if (!set) return;
    set.delete(slot);
    if (set.size === 0) this.slots.delete(slot.name);
  }

  /** The live slots of a plugin. */
  slotsOf(plugin: string): PluginSlot[] {
    return [...(this.slots.get(plugin) ?? [])];
  }

  /** Every plugin with a slot in this process, with one report per slot. */
  report(): Record<string, SlotReport[]> {
    const out: Record<string, SlotReport[]> = {};
    for (const [name, set] of this.slots) out[name] = [...set].map(reportOf);
    return out;
  }
}

function reportOf(slot: PluginSlot): SlotReport {
  const m = slot.metrics;
  return {
    service: slot.service,
    version: slot.version.descriptor.version,
    load: slot.version.prepared.version,
    sha256: slot.version.prepared.sha256,
    available: slot.available,
    calls: m.calls,
    traps: m.traps,
    errors: m.errors,
    policyDecisions: m.policyDecisions,
    quarantined: slot.quarantined,
    quarantineReason: slot.quarantineReason,
    swaps: slot.swaps,
    counters: Object.fromEntries(m.counters),
  };
}

/** This process's registry. */
export const slotRegistry = new SlotRegistry();

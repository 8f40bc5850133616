// A routing worker's side of a hot swap (the primary's is plugin-swap.ts): take the version the
// primary prepared and validated, make it the store's current one (so slots made later use it),
// compile it once, and swap every live slot of the plugin to it. With `workers: 0` the primary
// runs this itself. Each slot keeps its old version if its own swap fails.
import { pluginStore } from './plugin-store.js';
import type { PreparedPlugin } from './prepared-plugin.js';
import { slotRegistry } from './slot-registry.js';

/** One process's answer to a swap. */
export interface SwapApplied {
  /** Slots (services) now running the new version. */
  swapped: number;
  /** One message per slot that kept the old version. */
  errors: string[];
}

export async function applySwap(p: PreparedPlugin): Promise<SwapApplied> {
  let version;
  try {
    version = await pluginStore.replace(p);
  } catch (err) {
    return { swapped: 0, errors: [`cannot compile the module: ${(err as Error).message}`] };
  }
  const slots = slotRegistry.slotsOf(p.name);
  const results = await Promise.allSettled(slots.map((s) => s.swap(version)));
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') errors.push(`service ${slots[i]!.service}: ${(r.reason as Error).message}`);
  });
  return { swapped: results.length - errors.length, errors };
}

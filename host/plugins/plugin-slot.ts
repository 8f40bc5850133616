// A plugin's place in one service on one worker: the instance serving it, a warm spare, and
// what happens after a trap (ABI.md §9). A trap fails only the call it happened in: the instance
// is dropped (its runtime state is undefined after a trap) and another takes over at once,
// inside the call that trapped, is told the server table and the live sessions again (the
// owner's replay), and a new spare is made right after (setImmediate). Repeated traps within
// the window quarantine the plugin: it is no longer called and the failure policy decides.
//
// The replacement is the warm spare (already instantiated and configured) when there is one;
// when a burst of traps has used it up, an instance is made and configured synchronously
// (kernel.ts: instances are made with new WebAssembly.Instance and configure() runs through
// Extism's kernel without awaiting), so a session that did nothing wrong never finds the slot
// without an instance while the plugin is not quarantined. Only when making one fails (the
// configuration is refused, instantiation throws) is the slot empty; it retries every RETRY_MS.
// At most two synchronous instances are made per trap: a replay that traps again leaves the
// next attempt to the background.
//
// Hot swap (swap()): the new version's instance and spare are made and configured aside, the
// owner replays into the instance, and only then does it become active — in one synchronous
// step, so no call is mid-way. Any failure before that leaves the old version serving.
import type { Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import type { HookName } from './abi/constants.js';
import { ExchangeError, type Exchange } from './abi/exchange.js';
import { loadKernel } from './kernel.js';
import type { PluginInstance } from './plugin-instance.js';
import type { PluginMetrics } from './plugin-metrics.js';
import { memoryPages } from './prepared-plugin.js';
import type { PluginVersion } from './plugin-version.js';
import { classifyTrap, fuelForMs, type TrapKind } from './sandbox/fuel.js';
import { slotRegistry } from './slot-registry.js';

/** Outcomes of invoke() other than the hook's own return value. */
export const TRAPPED = -1000;
export const UNAVAILABLE = -1001;

/**
 * A hook call that failed (its status, TRAPPED or UNAVAILABLE): the failure policy decides, and
 * the plugin's counters say so. Traps are logged by the slot itself; UNAVAILABLE (quarantined,
 * no instance) every call would flood the log.
 */
export function countFailure(metrics: PluginMetrics, log: Logger, plugin: string, hook: string, r: number): void {
  metrics.policyDecisions++;
  if (r !== TRAPPED && r !== UNAVAILABLE) metrics.errors++;
  if (r !== UNAVAILABLE) log.debug({ plugin, hook, status: r }, 'plugin call failed; failure policy applies');
}

/** Wait before retrying to make an instance after a failure (not a trap of a live one). */
const RETRY_MS = 1000;

export interface SlotOwner {
  /** Replays the server table and live sessions into a fresh instance (throws if it traps). */
  replay(inst: PluginInstance): void;
}

export class PluginSlot {
  private active: PluginInstance | null = null;
  private spare: PluginInstance | null = null;
  /** A spare is due to be made (setImmediate pending). */
  private making: NodeJS.Immediate | null = null;
  /** Synchronous replacements in progress (bounds a replay that keeps trapping). */
  private replacing = 0;
  /** Instances made synchronously because no spare was ready (diagnostics, tests). */
  syncReplacements = 0;
  private trapTimes: number[] = [];
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  quarantined = false;
  /** Why the plugin was quarantined (for the admin endpoint and logs). */
  quarantineReason = '';
  /** Successful hot swaps of this slot. */
  swaps = 0;
  private swapping: Promise<void> = Promise.resolve();

  constructor(
    public version: PluginVersion,
    readonly service: string,
    private readonly log: Logger,
    readonly metrics: PluginMetrics,
    private limits: PluginLimits,
    private readonly owner: SlotOwner,
  ) {
    // Registered from the start, so a swap that arrives while start() runs is not missed.
    slotRegistry.register(this);
  }

  get name(): string {
    return this.version.name;
  }

  get failOpen(): boolean {
    return this.limits.failure_policy === 'fail_open';
  }

  /** True when calls go to an instance now. */
  get available(): boolean {
    return this.active !== null;
  }

  private fuelBudget(): number {
    return this.limits.fuel ?? fuelForMs(this.limits.cpu_budget);
  }

  private memoryQuota(): number {
    return memoryPages(this.limits) * 65536;
  }

  /** Makes the first instance and the spare. Throws if the plugin cannot serve. */
  async start(): Promise<void> {
    const version = this.version;
    let made: PluginInstance[];
    try {
      made = await Promise.all([this.makeInstance(version), this.makeInstance(version)]);
    } catch (err) {
      this.close();
      throw err;
    }
    const [inst, spare] = made as [PluginInstance, PluginInstance];
    // A swap completed meanwhile: it installed the newer version's instances already.
    if (this.version !== version || this.active !== null) {
      inst.close();
      spare.close();
      return;
    }
    this.spare = spare;
    this.promote(inst);
  }

  /**
   * Replaces the plugin's version (hot swap): makes and configures an instance and a spare of
   * `next`, replays the owner's state into the instance, then makes it active and closes the
   * old instances. Clears quarantine (ABI.md §9: "until a new version is loaded"). Throws, with
   * the old version still serving, if any of that fails. Swaps of one slot run one at a time.
   */
  swap(next: PluginVersion): Promise<void> {
    const run = this.swapping.then(() => this.doSwap(next));
    this.swapping = run.catch(() => {});
    return run;
  }

  private async doSwap(next: PluginVersion): Promise<void> {
    if (this.closed) throw new Error(`plugin ${this.name}: service ${this.service} is closing`);
    const [inst, spare] = await Promise.all([this.makeInstance(next), this.makeInstance(next)]);
    if (this.closed) {
      inst.close();
      spare.close();
      throw new Error(`plugin ${this.name}: service ${this.service} is closing`);
    }
    // From here to the end nothing awaits: no call into the plugin can interleave.
    try {
      inst.fuel?.refill();
      inst.initExchange();
      this.owner.replay(inst);
    } catch (err) {
      inst.close();
      spare.close();
      throw new Error(`the new version trapped while the live sessions were replayed into it: ${(err as Error).message}`);
    }
    const old = [this.active, this.spare];
    this.version = next;
    this.active = inst;
    this.spare = spare;
    this.quarantined = false;
    this.quarantineReason = '';
    this.trapTimes = [];
    this.swaps++;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    for (const o of old) o?.close();
    this.log.info({ plugin: this.name, service: this.service, version: next.descriptor.version, load: next.prepared.version }, 'plugin swapped to a new version');
  }

  /** New limits (runtime change): the next call uses the new budget and policy. */
  updateLimits(limits: PluginLimits): void {
    this.limits = limits;
    const budget = this.fuelBudget();
    for (const inst of [this.active, this.spare]) inst?.setFuelBudget(budget);
  }

  /** The exchange of the active instance: where invoke()'s response is read. */
  get exchange(): Exchange {
    return this.active!.ex;
  }

  /**
   * Encodes a request and calls a hook on the active instance. Returns the hook's value
   * (>= 0 response length, < 0 the plugin's status), TRAPPED (the instance was replaced; the
   * call failed) or UNAVAILABLE (quarantined, or no instance yet).
   */
  invoke(hook: HookName, encode: (ex: Exchange) => number): number {
    const inst = this.active;
    if (inst === null) return UNAVAILABLE;
    const fn = inst.hooks[hook];
    if (fn === undefined) return 0;
    this.metrics.calls++;
    try {
      inst.fuel?.refill();
      const len = encode(inst.ex);
      return fn(len);
    } catch (err) {
      if (err instanceof ExchangeError) {
        this.metrics.errors++;
        this.log.warn({ plugin: this.name, service: this.service, hook, err: err.message }, 'plugin broke the exchange protocol');
        return UNAVAILABLE;
      }
      this.onTrap(inst, hook, err);
      return TRAPPED;
    }
  }

  /** Whether `hook` is subscribed (the active instance's view; false without an instance). */
  subscribed(hook: HookName): boolean {
    return this.active?.hooks[hook] !== undefined;
  }

  private kindOf(inst: PluginInstance, err: unknown): TrapKind {
    return inst.fuel ? inst.fuel.classify(err) : classifyTrap(err, 0);
  }

  private onTrap(inst: PluginInstance, hook: string, err: unknown): void {
    this.metrics.traps++;
    const kind = this.kindOf(inst, err);
    const now = Date.now();
    this.trapTimes = this.trapTimes.filter((t) => now - t < this.limits.trap_window);
    this.trapTimes.push(now);
    const message = inst.fuel && kind === 'fuel'
      ? `ran out of CPU budget (${this.limits.fuel ?? `${this.limits.cpu_budget} ms`})`
      : (err as Error)?.message ?? String(err);
    this.log.warn({ plugin: this.name, service: this.service, hook, kind, err: message, traps: this.trapTimes.length }, 'plugin trapped; the call failed and the instance is replaced');
    if (this.active === inst) this.active = null;
    inst.close();
    if (this.trapTimes.length >= this.limits.max_traps) {
      this.quarantine(`${this.trapTimes.length} traps within ${this.limits.trap_window} ms (last: ${kind} in ${hook}: ${message})`);
      return;
    }
    this.replace();
  }

  /** Puts an instance in place of the dropped one: the spare, else one made now. */
  private replace(): void {
    if (this.closed || this.quarantined) return;
    let next = this.spare;
    this.spare = null;
    if (next === null && this.replacing < 2) {
      try {
        next = this.makeInstanceSync(this.version);
        this.syncReplacements++;
      } catch (err) {
        this.metrics.errors++;
        this.log.error({ plugin: this.name, service: this.service, err: (err as Error).message }, 'cannot make a plugin instance; retrying');
      }
    }
    if (next !== null) {
      this.replacing++;
      try {
        this.promote(next);
      } finally {
        this.replacing--;
      }
    }
    this.ensureSpare();
  }

  /** Makes `inst` the active instance, after replaying the owner's state into it. */
  private promote(inst: PluginInstance): void {
    if (this.closed || this.quarantined) {
      inst.close();
      return;
    }
    try {
      inst.fuel?.refill();
      inst.initExchange();
      this.active = inst;
      this.owner.replay(inst);
    } catch (err) {
      // The replay itself trapped: same treatment, bounded by the quarantine count.
      this.onTrap(inst, 'replay', err);
    }
  }

  /**
   * Makes a spare (or the active instance, if there is none) soon: on the next turn of the event
   * loop, so that the call that trapped is not made longer by it.
   */
  private ensureSpare(): void {
    if (this.closed || this.quarantined || this.making || this.retryTimer || this.spare) return;
    this.making = setImmediate(() => {
      this.making = null;
      if (this.closed || this.quarantined || this.spare) return;
      let inst: PluginInstance;
      try {
        inst = this.makeInstanceSync(this.version);
      } catch (err) {
        this.metrics.errors++;
        this.log.error({ plugin: this.name, service: this.service, err: (err as Error).message }, 'cannot make a plugin instance; retrying');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.ensureSpare();
        }, RETRY_MS);
        this.retryTimer.unref();
        return;
      }
      if (this.active === null) {
        this.promote(inst);
        this.ensureSpare();
      } else if (this.spare === null) {
        this.spare = inst;
      } else {
        inst.close();
      }
    });
  }

  /** An instance of `version`, configured and subscribed (the first one awaits the kernel's load). */
  private async makeInstance(version: PluginVersion): Promise<PluginInstance> {
    await loadKernel();
    return this.makeInstanceSync(version);
  }

  /** makeInstance(), synchronously (once the kernel is loaded). Throws if it cannot serve. */
  private makeInstanceSync(version: PluginVersion): PluginInstance {
    const inst = version.instantiateSync(this.log, this.metrics, this.fuelBudget(), this.memoryQuota());
    try {
      const refused = inst.configureSync(version.config);
      if (refused !== null) throw new Error(`configure() refused the configuration: ${refused}`);
      inst.subscribe(version.descriptor.hooks);
    } catch (err) {
      inst.close();
      throw err;
    }
    return inst;
  }

  private quarantine(reason: string): void {
    this.quarantined = true;
    this.quarantineReason = reason;
    for (const inst of [this.active, this.spare]) inst?.close();
    this.active = null;
    this.spare = null;
    this.log.error(
      { plugin: this.name, service: this.service, policy: this.limits.failure_policy, reason },
      `plugin quarantined: it is no longer called and ${this.limits.failure_policy} applies to every call until a new version is loaded`,
    );
  }

  close(): void {
    this.closed = true;
    slotRegistry.unregister(this);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.making) clearImmediate(this.making);
    this.making = null;
    for (const inst of [this.active, this.spare]) inst?.close();
    this.active = null;
    this.spare = null;
  }
}

// A plugin's place in one service on one worker: the instance serving it, a warm spare, and
// what happens after a trap (ABI.md §9). A trap fails only the call it happened in: the instance
// is dropped (its runtime state is undefined after a trap), the spare (already instantiated
// and configured) takes over at once, is told the server table and the live sessions again
// (the owner's replay), and a new spare is made in the background. Repeated traps within the
// window quarantine the plugin: it is no longer called and the failure policy decides.
//
// Why a spare: instantiating costs ~70 µs, but configure() goes through Extism, which is async;
// with a spare ready, a trap is recovered synchronously, inside the call that trapped, so the
// next statement already has a working instance.
//
// Hot swap (swap()): the new version's instance and spare are made and configured aside, the
// owner replays into the instance, and only then does it become active — in one synchronous
// step, so no call is mid-way. Any failure before that leaves the old version serving.
import type { Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import type { HookName } from './abi/constants.js';
import { ExchangeError, type Exchange } from './abi/exchange.js';
import { PluginInstance } from './plugin-instance.js';
import type { PluginMetrics } from './plugin-metrics.js';
import type { PluginVersion } from './plugin-version.js';
import { classifyTrap, fuelForMs, type TrapKind } from './sandbox/fuel.js';
import { slotRegistry } from './slot-registry.js';

/** Outcomes of invoke() other than the hook's own return value. */
export const TRAPPED = -1000;
export const UNAVAILABLE = -1001;

/** Wait before retrying to make an instance after a failure (not a trap of a live one). */
const RETRY_MS = 1000;

export interface SlotOwner {
  /** Replays the server table and live sessions into a fresh instance (throws if it traps). */
  replay(inst: PluginInstance): void;
}

export class PluginSlot {
  private active: PluginInstance | null = null;
  private spare: PluginInstance | null = null;
  private making: Promise<void> | null = null;
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
    const spare = this.spare;
    this.spare = null;
    if (spare) this.promote(spare);
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

  /** Starts making a spare (or the active instance, if there is none) in the background. */
  private ensureSpare(): void {
    if (this.closed || this.quarantined || this.making || this.spare) return;
    const version = this.version;
    this.making = this.makeInstance(version).then(
      (inst) => {
        this.making = null;
        if (this.closed || this.quarantined) return inst.close();
        if (version !== this.version) {
          // Swapped while it was being made: an instance of the old version is of no use.
          inst.close();
          return this.ensureSpare();
        }
        if (this.active === null) {
          this.promote(inst);
          this.ensureSpare();
        } else {
          this.spare = inst;
        }
      },
      (err: unknown) => {
        this.making = null;
        if (this.closed || this.quarantined) return;
        this.metrics.errors++;
        this.log.error({ plugin: this.name, service: this.service, err: (err as Error).message }, 'cannot make a plugin instance; retrying');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.ensureSpare();
        }, RETRY_MS);
        this.retryTimer.unref();
      },
    );
  }

  private async makeInstance(version: PluginVersion): Promise<PluginInstance> {
    const inst = await version.instantiate(this.log, this.metrics, this.fuelBudget());
    try {
      const refused = await inst.configure(version.config);
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
    for (const inst of [this.active, this.spare]) inst?.close();
    this.active = null;
    this.spare = null;
  }
}

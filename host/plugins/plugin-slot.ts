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
import type { Logger } from 'pino';
import type { PluginLimits } from '../config/index.js';
import type { HookName } from './abi/constants.js';
import { ExchangeError, type Exchange } from './abi/exchange.js';
import { PluginInstance } from './plugin-instance.js';
import type { PluginMetrics } from './plugin-metrics.js';
import type { PluginVersion } from './plugin-version.js';
import { classifyTrap, fuelForMs, type TrapKind } from './sandbox/fuel.js';

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

  constructor(
    readonly version: PluginVersion,
    private readonly service: string,
    private readonly log: Logger,
    private readonly metrics: PluginMetrics,
    private limits: PluginLimits,
    private readonly owner: SlotOwner,
  ) {}

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
    const [inst, spare] = await Promise.all([this.makeInstance(), this.makeInstance()]);
    this.spare = spare;
    this.promote(inst);
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
    this.making = this.makeInstance().then(
      (inst) => {
        this.making = null;
        if (this.closed || this.quarantined) return inst.close();
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

  private async makeInstance(): Promise<PluginInstance> {
    const inst = await this.version.instantiate(this.log, this.metrics, this.fuelBudget());
    try {
      const refused = await inst.configure(this.version.config);
      if (refused !== null) throw new Error(`configure() refused the configuration: ${refused}`);
      inst.subscribe(this.version.descriptor.hooks);
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
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const inst of [this.active, this.spare]) inst?.close();
    this.active = null;
    this.spare = null;
  }
}

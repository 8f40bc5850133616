// Errors raised when a plugin module is refused by the sandbox.

/** What part of the module made the sandbox refuse it. */
export type RejectionKind =
  | 'invalid' // not a valid WebAssembly module (for this Node / V8)
  | 'import' // imports something the sandbox does not provide
  | 'memory' // missing, imported, shared, 64-bit, several, or above the quota
  | 'table' // a table the sandbox cannot bound
  | 'export' // an export name the sandbox reserves (wsx_fuel)
  | 'instruction' // an expression kind the fuel meter does not know
  | 'feature' // uses a WebAssembly feature the instrumenter cannot read
  | 'internal'; // instrumentation produced an invalid module (a sandbox bug)

/**
 * A module the sandbox will not run. The message always starts with `plugin <name>: ` and names
 * the offending import, instruction or declaration.
 */
export class PluginRejected extends Error {
  override readonly name = 'PluginRejected';
  readonly plugin: string;
  readonly kind: RejectionKind;
  /** The message without the `plugin <name>: ` prefix. */
  readonly reason: string;

  constructor(plugin: string, kind: RejectionKind, reason: string, options?: { cause?: unknown }) {
    super(`plugin ${plugin}: ${reason}`, options);
    this.plugin = plugin;
    this.kind = kind;
    this.reason = reason;
  }
}

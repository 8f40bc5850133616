// Loading @extism/extism (pinned 1.0.3): it imports node:wasi when it loads, which makes Node
// print "ExperimentalWarning: WASI is an experimental feature". wasmscale never enables WASI
// (every plugin is created with useWasi: false), so that one warning is dropped; every other
// warning passes through.
type ExtismModule = typeof import('@extism/extism');

let loading: Promise<ExtismModule> | null = null;

export function loadExtism(): Promise<ExtismModule> {
  loading ??= (async () => {
    const original = process.emitWarning;
    process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
      const text = typeof warning === 'string' ? warning : warning?.message;
      if (typeof text === 'string' && text.includes('WASI is an experimental feature')) return;
      return (original as (...a: unknown[]) => void).call(process, warning, ...rest);
    } as typeof process.emitWarning;
    try {
      return await import('@extism/extism');
    } finally {
      process.emitWarning = original;
    }
  })();
  return loading;
}

export type ExtismPlugin = Awaited<ReturnType<ExtismModule['createPlugin']>>;

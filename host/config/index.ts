// The config module's public surface, so callers need one import.
export { ConfigError, loadConfigFile, parseConfig } from './load.js';
export { RUNTIME_PARAMETERS, isRuntimeParameter, runtimeParameterOf, type RuntimeParameter } from './runtime.js';
export type * from './types.js';

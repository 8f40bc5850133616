// wasmscale-sdk: what a plugin author imports.
//
//   import { Router, register, Statement, ServerTable, RouteDecision } from "wasmscale-sdk";
//   export * from "wasmscale-sdk/assembly/exports";   // the ABI surface the host calls
//
// See sdk/README.md for a walk-through and sdk/ABI.md for the contract with the host.
export {
  ABI_MAJOR, ABI_MINOR, ABI_VERSION, SDK_VERSION, NO_SERVER,
  Status, Role, ServerState, StatementKind, Trx, Command, Target, TargetsAction, FilterAction, Hint, RouteFlag,
} from "./abi";
export { StatementFlag, StatementKindExt } from "./classify";
export { Plugin, Router, Filter, register } from "./plugin";
export { Config, parseDurationMs } from "./config";
export { JSONValue, JSONKind, JSONParse, JSONObjectWriter, parseJSON, jsonQuote } from "./json";
export { Statement } from "./records/statement";
export { Server, ServerTable } from "./records/servers";
export { DatabaseTable } from "./records/databases";
export { Session, findSession, sessionCount } from "./records/session";
export { Reply } from "./records/reply";
export { ResultColumn, ResultSet } from "./records/result";
export { RouteDecision, SessionTargets, StatementAction } from "./records/responses";
export { SessionState } from "./session-state";
export { log, LogLevel } from "./log";
export { metrics, clockMs } from "./metrics";
// The abort handler `wasmscale plugin build` installs with --use abort=...; exported so that the
// compiler sees it whenever the SDK is imported.
export { wsxAbort } from "./abort";

// The module's ABI surface (sdk/ABI.md §3–§5). A plugin's entry file re-exports it:
//
//   export * from "wasmscale-sdk/assembly/exports";
//
// and registers its Router or Filter with register(). Everything here dispatches to that object.
import { ABI_MAJOR, ABI_MINOR, ABI_VERSION, SDK_VERSION, Status } from "./abi";
import { Config } from "./config";
import { ensureExchange, exchangeCapacity, exchangePtr } from "./exchange";
import { JSONObjectWriter, parseJSONBytes } from "./json";
import { readInput, writeOutputString } from "./kernel";
import { Filter, Plugin, registered, Router } from "./plugin";
import { replyView } from "./records/reply";
import { resultView } from "./records/result";
import { routeDecision, sessionTargets, statementAction } from "./records/responses";
import { databaseTable, decodeDatabaseTable } from "./records/databases";
import { decodeServerTable, serverTable } from "./records/servers";
import { decodeSessionEnd, decodeSessionStart } from "./records/session";
import { statementView } from "./records/statement";
import { dropSessionState } from "./session-state";

/** ABI.md §3: (major << 16) | minor. */
export function wsx_abi_version(): i32 {
  return ABI_VERSION;
}

/** ABI.md §5: a buffer of at least `min` bytes. */
export function wsx_buffer(min: i32): usize {
  return ensureExchange(min);
}

/** Size of the request record at the buffer's start, or 0 if `len` cannot be a record. */
function requestSize(len: i32): u32 {
  if (len < 4 || len > exchangeCapacity()) return 0;
  const size = load<u32>(exchangePtr());
  if (size < 4) return 0;
  // Trust the smaller of the two: a record never extends past what the host wrote.
  return size < <u32>len ? size : <u32>len;
}

function plugin(): Plugin {
  const p = registered();
  if (p === null) {
    abort("no plugin registered: call register(new MyRouter(...)) at top level");
    unreachable();
  }
  return changetype<Plugin>(p);
}

/** ABI.md §4: the descriptor, as JSON. */
export function describe(): i32 {
  const p = registered();
  if (p === null) {
    writeOutputString("{\"error\":\"no plugin registered: call register() at top level\"}");
    return 0;
  }
  const w = new JSONObjectWriter()
    .str("name", p.name)
    .str("kind", p.kind)
    .str("version", p.version)
    .str("abi", ABI_MAJOR.toString() + "." + ABI_MINOR.toString())
    .strings("hooks", p.hooks())
    .str("sdk", "wasmscale-sdk " + SDK_VERSION);
  const schema = p.configSchema();
  if (schema !== null) w.raw("config_schema", schema);
  if (!p.readsClassification()) w.bool("classify", false);
  writeOutputString(w.done());
  return 0;
}

/** ABI.md §4: input the configuration (JSON object); output empty, or an error message. */
export function configure(): i32 {
  const input = readInput();
  const parsed = parseJSONBytes(changetype<usize>(input), input.byteLength);
  const value = parsed.value;
  if (value === null) {
    writeOutputString("configuration is not valid JSON: " + parsed.error);
    return 0;
  }
  if (!value.isObject) {
    writeOutputString("configuration must be a JSON object");
    return 0;
  }
  const config = new Config(value);
  const err = plugin().configure(config);
  let message = err !== null ? err : "";
  for (let i = 0; i < config.errors.length; i++) {
    message += (message.length > 0 ? "; " : "") + config.errors[i];
  }
  if (message.length > 0) writeOutputString(message);
  return 0;
}

export function wsx_servers(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  if (!decodeServerTable(exchangePtr(), size)) return -Status.BAD_ARGUMENT;
  plugin().onServers(serverTable);
  return 0;
}

/** (1.2) The databases of each server (routers that shard by database). */
export function wsx_databases(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const p = plugin();
  if (!(p instanceof Router)) return -Status.NOT_ALLOWED;
  if (!decodeDatabaseTable(exchangePtr(), size)) return -Status.BAD_ARGUMENT;
  changetype<Router>(p).onDatabases(databaseTable);
  return 0;
}

export function wsx_session_start(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const session = decodeSessionStart(exchangePtr(), size);
  sessionTargets.clear();
  plugin().onSessionStart(session, serverTable, sessionTargets);
  const r = sessionTargets.write();
  return r < 0 ? -Status.TOO_LARGE : r;
}

export function wsx_session_end(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const session = decodeSessionEnd(exchangePtr(), size);
  if (session === null) return 0;
  plugin().onSessionEnd(session);
  dropSessionState(session.id);
  return 0;
}

export function wsx_route(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const p = plugin();
  if (!(p instanceof Router)) return -Status.NOT_ALLOWED;
  statementView.reset(exchangePtr(), size);
  routeDecision.clear();
  changetype<Router>(p).route(statementView, serverTable, routeDecision);
  const r = routeDecision.write();
  return r < 0 ? -Status.TOO_LARGE : r;
}

export function wsx_on_statement(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const p = plugin();
  if (!(p instanceof Filter)) return -Status.NOT_ALLOWED;
  statementView.reset(exchangePtr(), size);
  statementAction.clear();
  changetype<Filter>(p).onStatement(statementView, statementAction);
  const r = statementAction.write();
  return r < 0 ? -Status.TOO_LARGE : r;
}

export function wsx_on_result(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const p = plugin();
  if (!(p instanceof Filter)) return -Status.NOT_ALLOWED;
  resultView.reset(exchangePtr(), size);
  changetype<Filter>(p).onResult(resultView);
  return 0;
}

export function wsx_on_reply(len: i32): i32 {
  const size = requestSize(len);
  if (size == 0) return -Status.BAD_ARGUMENT;
  const p = plugin();
  if (!(p instanceof Filter)) return -Status.NOT_ALLOWED;
  replyView.reset(exchangePtr(), size);
  changetype<Filter>(p).onReply(replyView);
  return 0;
}

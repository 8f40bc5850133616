// firewall: refuses statements that contain a denied phrase, as MaxScale's dbfwfilter does with
// its regex rules: the client gets ERR 1141 (42000) "Access denied for user ...". Phrases are
// compared case-insensitively and with runs of whitespace folded to one space, so
// "drop   TABLE" matches the phrase "drop table". The host's match/exclude pre-filter
// (plugins.<name>.match) can narrow which statements reach it.
import { Config, Filter, Statement, StatementAction, log, metrics, register } from "wasmscale-sdk";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "deny": { "type": "array", "items": { "type": "string" } },
    "message": { "type": "string" }
  },
  "required": ["deny"],
  "additionalProperties": false
}`;

/** Lower case with whitespace runs folded to one space and trimmed. */
function fold(s: string): string {
  const lower = s.toLowerCase();
  let out = "";
  let space = false;
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    if (c == 32 || c == 9 || c == 10 || c == 13) {
      space = out.length > 0;
      continue;
    }
    if (space) out += " ";
    space = false;
    out += String.fromCharCode(c);
  }
  return out;
}

class Firewall extends Filter {
  deny: string[] = [];
  message: string = "";

  configSchema(): string | null { return SCHEMA; }

  configure(config: Config): string | null {
    const list = config.getStringList("deny", []);
    this.deny = [];
    for (let i = 0; i < list.length; i++) {
      const p = fold(list[i]);
      if (p.length == 0) return "deny[" + i.toString() + "]: an empty phrase would block everything";
      this.deny.push(p);
    }
    this.message = config.getString("message", "");
    return null;
  }

  onStatement(stmt: Statement, action: StatementAction): void {
    if (stmt.sqlLength == 0) return;
    const sql = fold(stmt.sql);
    for (let i = 0; i < this.deny.length; i++) {
      if (sql.includes(this.deny[i])) {
        metrics.add("blocked");
        const session = stmt.session;
        const who = session ? "'" + session.user + "'@'" + session.clientAddress + "'" : "this user";
        const why = this.message.length > 0 ? this.message : "Permission denied, query matched \"" + this.deny[i] + "\"";
        log.info("firewall: blocked a statement of session " + stmt.sessionId.toString() + " (matched \"" + this.deny[i] + "\")");
        action.block("Access denied for user " + who + ": " + why, 1141, "42000");
        return;
      }
    }
  }
}

register(new Firewall("firewall", "1.0.0"));

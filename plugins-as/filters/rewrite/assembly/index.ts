// rewrite: replaces phrases in a statement's SQL before it is routed, like MaxScale's regexfilter
// with literal patterns (AssemblyScript has no regular expressions; the host's match/exclude
// pre-filter takes a regex and decides which statements reach the plugin at all).
//   config: { rules: [{ find: "FROM t_old", replace: "FROM t_new" }], ignore_case: true }
import { Config, Filter, Statement, StatementAction, metrics, register } from "wasmscale-sdk";

export * from "wasmscale-sdk/assembly/exports";

const SCHEMA = `{
  "type": "object",
  "properties": {
    "rules": { "type": "array", "items": { "type": "object" } },
    "ignore_case": { "type": "boolean" }
  },
  "required": ["rules"],
  "additionalProperties": false
}`;

class Rewrite extends Filter {
  finds: string[] = [];
  /** finds in lower case, when ignoreCase */
  keys: string[] = [];
  replaces: string[] = [];
  ignoreCase: bool = true;

  configSchema(): string | null { return SCHEMA; }

  configure(config: Config): string | null {
    this.finds = [];
    this.keys = [];
    this.replaces = [];
    this.ignoreCase = config.getBool("ignore_case", true);
    const rules = config.json.get("rules");
    if (rules == null || !rules.isArray) return "rules: expected a list of { find, replace }";
    for (let i = 0; i < rules.length; i++) {
      const rule = new Config(rules.at(i), "rules[" + i.toString() + "]");
      const find = rule.getString("find", "");
      if (find.length == 0) return "rules[" + i.toString() + "].find: must be a non-empty string";
      if (!rule.has("replace")) return "rules[" + i.toString() + "].replace: missing";
      this.finds.push(find);
      this.keys.push(this.ignoreCase ? find.toLowerCase() : find);
      this.replaces.push(rule.getString("replace", ""));
    }
    return null;
  }

  onStatement(stmt: Statement, action: StatementAction): void {
    if (stmt.sqlLength == 0 || stmt.truncated) return;
    let sql = stmt.sql;
    let changed = false;
    for (let r = 0; r < this.keys.length; r++) {
      const key = this.keys[r];
      const hay = this.ignoreCase ? sql.toLowerCase() : sql;
      let at = hay.indexOf(key);
      if (at < 0) continue;
      // Rebuild from the original text so that what is not replaced keeps its case.
      let out = "";
      let from = 0;
      while (at >= 0) {
        out += sql.substring(from, at) + this.replaces[r];
        from = at + key.length;
        at = hay.indexOf(key, from);
      }
      sql = out + sql.substring(from);
      changed = true;
    }
    if (changed) {
      metrics.add("rewritten");
      action.rewrite(sql);
    }
  }
}

register(new Rewrite("rewrite", "1.0.0"));

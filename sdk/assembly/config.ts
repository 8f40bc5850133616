// The plugin's configuration (plugins.<name>.config in wasmscale.yaml), as the host passes it to
// `configure`: a JSON object. Typed getters with defaults; a wrong type is reported through
// `errors` so that configure() can refuse the configuration with a clear message.
import { JSONKind, JSONValue } from "./json";

export class Config {
  /** Problems found by the getters (wrong types, bad durations), in the order they were asked. */
  errors: string[] = [];

  constructor(public readonly json: JSONValue, private readonly path: string = "") {}

  private where(key: string): string {
    return this.path.length > 0 ? this.path + "." + key : key;
  }

  private problem(key: string, expected: string): void {
    this.errors.push(this.where(key) + ": expected " + expected);
  }

  has(key: string): bool {
    return this.json.get(key) !== null;
  }

  /** Keys present in the configuration, in the order written. */
  get keys(): string[] {
    return this.json.keys;
  }

  getString(key: string, fallback: string): string {
    const v = this.json.get(key);
    if (v === null || v.isNull) return fallback;
    if (v.isString) return v.str;
    if (v.isNumber) return v.num.toString();
    if (v.isBool) return v.bool ? "true" : "false";
    this.problem(key, "a string");
    return fallback;
  }

  getNumber(key: string, fallback: f64): f64 {
    const v = this.json.get(key);
    if (v === null || v.isNull) return fallback;
    if (v.isNumber) return v.num;
    if (v.isString) {
      const n = parseFloat(v.str);
      if (!isNaN(n)) return n;
    }
    this.problem(key, "a number");
    return fallback;
  }

  getBool(key: string, fallback: bool): bool {
    const v = this.json.get(key);
    if (v === null || v.isNull) return fallback;
    if (v.isBool) return v.bool;
    if (v.isString) {
      const s = v.str.toLowerCase();
      if (s == "true" || s == "on" || s == "yes" || s == "1") return true;
      if (s == "false" || s == "off" || s == "no" || s == "0") return false;
    }
    this.problem(key, "true or false");
    return fallback;
  }

  /**
   * A list of strings written either as a list or as one comma-separated string
   * ("master,slave"); items are trimmed and empty ones dropped.
   */
  getStringList(key: string, fallback: string[]): string[] {
    const v = this.json.get(key);
    if (v === null || v.isNull) return fallback;
    const out: string[] = [];
    if (v.isString) {
      const parts = v.str.split(",");
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i].trim();
        if (p.length > 0) out.push(p);
      }
      return out;
    }
    if (v.isArray) {
      for (let i = 0; i < v.length; i++) {
        const item = v.at(i);
        if (!item.isString) {
          this.problem(key, "a list of strings");
          return fallback;
        }
        out.push(item.str);
      }
      return out;
    }
    this.problem(key, "a list of strings or a comma-separated string");
    return fallback;
  }

  /**
   * A duration in milliseconds: a number is seconds (as everywhere in wasmscale.yaml); a string
   * is a number with an optional unit ms, s, m or h ("250ms", "10s", "5m").
   */
  getDurationMs(key: string, fallback: f64): f64 {
    const v = this.json.get(key);
    if (v === null || v.isNull) return fallback;
    if (v.isNumber && v.num >= 0) return v.num * 1000;
    if (v.isString) {
      const ms = parseDurationMs(v.str);
      if (ms >= 0) return ms;
    }
    this.problem(key, "a duration (seconds, or e.g. \"250ms\", \"10s\", \"5m\")");
    return fallback;
  }

  /** A nested object as a Config (its problems are reported through this one's `errors`). */
  getObject(key: string): Config | null {
    const v = this.json.get(key);
    if (v === null || v.isNull) return null;
    if (v.kind != JSONKind.OBJECT) {
      this.problem(key, "a mapping");
      return null;
    }
    const c = new Config(v, this.where(key));
    c.errors = this.errors;
    return c;
  }
}

/** "250ms" → 250, "10s" → 10000, "1.5m" → 90000, "30" → 30000; -1 if not a duration. */
export function parseDurationMs(text: string): f64 {
  const s = text.trim().toLowerCase();
  let unit: f64 = 1000;
  let digits = s;
  if (s.endsWith("ms")) { unit = 1; digits = s.substring(0, s.length - 2); }
  else if (s.endsWith("s")) { unit = 1000; digits = s.substring(0, s.length - 1); }
  else if (s.endsWith("m")) { unit = 60000; digits = s.substring(0, s.length - 1); }
  else if (s.endsWith("h")) { unit = 3600000; digits = s.substring(0, s.length - 1); }
  digits = digits.trim();
  if (digits.length == 0) return -1;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || c == 0x2e)) return -1;
  }
  const n = parseFloat(digits);
  return isNaN(n) ? -1 : n * unit;
}

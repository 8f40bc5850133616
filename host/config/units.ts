// Durations and sizes as operators write them in YAML, normalized to milliseconds and bytes.
// Pure functions: they return undefined for anything they do not understand and leave the
// wording of the error to the schema, which knows the allowed range.

/** setTimeout() fires after 1 ms for anything above this, so longer durations are refused. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A number is seconds (0.5 = 500 ms); a string is a number with an optional unit:
 * '250ms', '10s', '5m', '1h', '1.5s', or '30' (seconds). Result in whole milliseconds.
 */
export function parseDuration(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (!m) return undefined;
    ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
  } else {
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.round(ms);
}

// 1024-based throughout: in a database proxy "64M" means what MariaDB means by it, 64 MiB.
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A number is bytes; a string is a number with an optional unit: '16k', '64M', '64MiB', '64MB',
 * '1G', '512B'. K/M/G/T (with or without 'i' and 'B', any case) are powers of 1024.
 */
export function parseSize(value: unknown): number | undefined {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(i?b)?|b)?\s*$/i.exec(value);
    if (!m) return undefined;
    bytes = Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!;
  } else {
    return undefined;
  }
  if (!Number.isFinite(bytes) || bytes < 0) return undefined;
  return Math.round(bytes);
}

/** 1500 → '1.5s', 67108864 → '64MiB': used to print limits in messages the way users write them. */
export function formatDuration(ms: number): string {
  for (const [unit, n] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= n && ms % (n / 10) === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}

export function formatSize(bytes: number): string {
  for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes}B`;
}

// Shared bits of the monitor integration tests: the admin endpoint's view of servers, polling.
import type { ServerListing } from '../../host/monitor/monitor-set.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function getJson<T>(adminPort: number, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** GET /v1/servers as a map by name. */
export async function servers(adminPort: number): Promise<Record<string, ServerListing>> {
  const list = await getJson<ServerListing[]>(adminPort, '/v1/servers');
  return Object.fromEntries(list.map((s) => [s.name, s]));
}

/** Polls GET /v1/servers until `ok` holds for the named server; returns it and how long it took. */
export async function waitForServer(
  adminPort: number,
  name: string,
  ok: (s: ServerListing) => boolean,
  timeoutMs = 10_000,
): Promise<{ server: ServerListing; afterMs: number }> {
  const started = Date.now();
  let last: ServerListing | undefined;
  while (Date.now() - started < timeoutMs) {
    last = (await servers(adminPort))[name];
    if (last && ok(last)) return { server: last, afterMs: Date.now() - started };
    await sleep(25);
  }
  throw new Error(`server ${name} did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

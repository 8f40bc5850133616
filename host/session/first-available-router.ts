import type { RouteDecision, Router, RouterSession, ServerView, SessionView } from './router.js';

/**
 * Host-only placeholder until the WASM platform provides routers: a session goes to the first
 * server (in configured order, up ones first) it can connect to, and stays there.
 */
export class FirstAvailableRouter implements Router {
  readonly name = 'first-available';

  newSession(_session: SessionView, servers: readonly ServerView[]): RouterSession {
    const ordered = [...servers.filter((s) => s.state !== 'down'), ...servers.filter((s) => s.state === 'down')];
    let current: RouteDecision = { kind: 'error', message: 'no backend connection' };
    return {
      initialServers: () => ordered.map((s) => s.name),
      route: () => current,
      connected: (server) => {
        current = { kind: 'server', server };
      },
      close: () => {},
    };
  }
}

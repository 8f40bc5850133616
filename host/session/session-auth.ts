// Authentication by the proxy: the handshake response (with an auth switch to
// mysql_native_password when the client starts with another plugin), the first backend
// connection, and COM_CHANGE_USER.
import { NATIVE_PASSWORD, PROXY_CAPS, PROXY_MARIA_CAPS } from '../protocol/constants.js';
import { decodeChangeUser } from '../protocol/change-user.js';
import { Er } from '../protocol/errors.js';
import type { FramedPacket } from '../protocol/framer.js';
import { decodeHandshakeResponse, encodeAuthSwitch, isSslRequest, type HandshakeResponse } from '../protocol/handshake.js';
import { newScramble } from '../protocol/native-password.js';
import { encodeErr, encodeOk } from '../protocol/ok-err.js';
import { framePacket } from '../protocol/writer.js';
import { verifyNativePassword } from './authenticator.js';
import { BackendConnection, BackendRefused, type BackendLogin } from './backend-connection.js';
import { SessionGtid } from './gtid-tracking.js';
import { Phase, type SessionCore } from './session-core.js';
import { attachLink, connectLink, dropLink, mainTarget, sessionStartsOver } from './session-links.js';

function nextClientPacket(s: SessionCore, errSeq: number): Promise<FramedPacket> {
  return new Promise((resolve) => {
    // A client that never answers an auth switch (COM_CHANGE_USER has no handshake timer, and
    // the idle timer skips busy sessions) must not hold the session and its backend forever.
    const timer = setTimeout(() => {
      if (s.closed) return;
      s.logOnce('client did not answer the authentication switch', { timeoutMs: s.ctx.settings.netReadTimeoutMs });
      s.fail(Er.NET_READ_INTERRUPTED, 'Got timeout reading communication packets', errSeq);
    }, s.ctx.settings.netReadTimeoutMs);
    s.waiter = (p) => {
      clearTimeout(timer);
      resolve(p);
    };
  });
}

export async function authenticate(s: SessionCore, first: FramedPacket): Promise<void> {
  if (first.seq !== 1) {
    s.logOnce('handshake response with wrong sequence id', { seq: first.seq });
    // Same answer as MariaDB: packets out of order, not "Bad handshake".
    return s.fail(Er.NET_PACKETS_OUT_OF_ORDER, 'Got packets out of order', 1);
  }
  if (isSslRequest(first.payload)) {
    s.logOnce('client requested TLS, which this listener does not offer', {});
    return s.fail(Er.HANDSHAKE, 'Bad handshake: TLS is not enabled on this listener', 2);
  }
  let hs: HandshakeResponse;
  try {
    hs = decodeHandshakeResponse(first.payload);
  } catch (err) {
    s.logOnce('malformed handshake response', { reason: (err as Error).message });
    return s.fail(Er.HANDSHAKE, 'Bad handshake', 2);
  }
  s.clientCaps = hs.capabilities & s.advertised;
  s.gtid = new SessionGtid(s.ctx.settings.causalReads, s.clientCaps);
  s.user = hs.user;
  let seq = first.seq + 1;
  let token = hs.authResponse;
  if (hs.authPlugin !== null && hs.authPlugin !== NATIVE_PASSWORD) {
    // Ask the client to use mysql_native_password (e.g. a MySQL 8 client starting with caching_sha2).
    s.socket.write(framePacket(encodeAuthSwitch(NATIVE_PASSWORD, s.scramble), seq).bytes);
    const reply = await nextClientPacket(s, seq + 2);
    if (s.closed) return;
    token = reply.payload;
    seq = reply.seq + 1;
  }
  const verdict = await verifyNativePassword(s.ctx.accounts, hs.user, s.clientAddress, token, s.scramble);
  if (s.closed) return;
  if (!verdict.ok) {
    s.logOnce('authentication failed', { user: hs.user, reason: verdict.reason });
    return s.fail(verdict.error, verdict.message, seq);
  }
  s.stage1 = verdict.stage1;
  s.database = hs.database;
  const login: BackendLogin = {
    user: hs.user,
    stage1: verdict.stage1,
    database: hs.database,
    capabilities: s.clientCaps & PROXY_CAPS,
    mariaCapabilities: hs.mariaCapabilities & PROXY_MARIA_CAPS,
    charset: hs.charset,
    maxPacket: hs.maxPacket,
    attributes: hs.attributes,
  };
  s.login = login;
  const connected = await connectFirstBackend(s, login, seq);
  if (!connected || s.closed) return;
  if (s.handshakeTimer) clearTimeout(s.handshakeTimer);
  s.handshakeTimer = null;
  s.serverStatus = s.main!.conn.status;
  s.socket.write(framePacket(encodeOk({ status: s.main!.conn.status }), seq).bytes);
  s.phase = Phase.Command;
  s.framer.maxPayload = s.ctx.settings.maxAllowedPacket;
  s.armIdleTimer();
  s.drainBacklog();
}

async function connectFirstBackend(s: SessionCore, login: BackendLogin, seq: number): Promise<boolean> {
  const servers = s.ctx.servers();
  s.routerSession = s.ctx.router.newSession(s, servers);
  const refusal = s.routerSession.refusal;
  if (refusal) {
    s.logOnce('router refused the session', { reason: refusal });
    s.fail(Er.NO_BACKEND, refusal, seq);
    return false;
  }
  s.filterSessions = s.ctx.filters.map((f) => f.newSession(s));
  s.replyFilters = s.filterSessions.filter((f) => f.wantsReplies).reverse();
  s.resultFilters = s.filterSessions.filter((f) => f.wantsResults).reverse();
  const errors: string[] = [];
  for (const name of s.routerSession.initialServers()) {
    const server = servers.find((sv) => sv.name === name);
    if (!server) continue;
    try {
      const be = await BackendConnection.connect(server, login, s.ctx.settings.connectTimeoutMs, s.gtid.setup);
      if (s.closed) {
        be.destroy();
        return false;
      }
      attachLink(s, be, server);
      s.routerSession.connected(name);
      return true;
    } catch (err) {
      if (s.closed) return false;
      if (err instanceof BackendRefused) {
        // The server's own verdict (unknown database, no grant on it...): relay it verbatim.
        s.logOnce('backend refused the login', { server: name, reason: err.message });
        s.socket.end(framePacket(err.payload, seq).bytes);
        s.close();
        return false;
      }
      errors.push((err as Error).message);
    }
  }
  s.logOnce('no backend reachable', { errors });
  s.fail(Er.NO_BACKEND, `Could not connect to any server of service '${s.service}': ${errors.join('; ')}`, seq);
  return false;
}

export async function changeUser(s: SessionCore, p: FramedPacket): Promise<void> {
  let cu;
  try {
    cu = decodeChangeUser(p.payload, s.clientCaps);
  } catch (err) {
    s.logOnce('malformed COM_CHANGE_USER', { reason: (err as Error).message });
    return s.fail(Er.HANDSHAKE, 'Bad handshake', 1);
  }
  let seq = 1;
  let token = cu.authResponse;
  let scramble = s.scramble;
  if (cu.authPlugin !== null && cu.authPlugin !== NATIVE_PASSWORD) {
    scramble = newScramble();
    s.socket.write(framePacket(encodeAuthSwitch(NATIVE_PASSWORD, scramble), seq).bytes);
    s.socket.resume();
    const reply = await nextClientPacket(s, seq + 2);
    s.socket.pause();
    if (s.closed) return;
    token = reply.payload;
    seq = reply.seq + 1;
  }
  const verdict = await verifyNativePassword(s.ctx.accounts, cu.user, s.clientAddress, token, scramble);
  if (s.closed) return;
  if (!verdict.ok) {
    s.logOnce('change user: authentication failed', { user: cu.user, reason: verdict.reason });
    // MariaDB (10.11) answers ERR and keeps the connection as the previous user; the backend
    // was not asked yet, so it still is that user too.
    return s.sendPacket(encodeErr(verdict.error, verdict.message), seq);
  }
  // master_reconnection may have left no main connection (closed while idle): reopen it.
  let main = s.main;
  if (!main) {
    const target = mainTarget(s) ?? s.mainName ?? '';
    main = await connectLink(s, target).catch((err: unknown) => {
      if (!s.closed) s.sendPacket(encodeErr(Er.NO_BACKEND, (err as Error).message), seq);
      return null;
    });
    if (!main || s.closed) return;
  }
  const result = await main.conn.changeUser(cu, verdict.stage1);
  if (s.closed) return;
  if (!result.ok) {
    // The backend refused (e.g. unknown database) and, like MariaDB to a direct client, went
    // back to the previous user: relay its ERR and go on as before.
    return s.sendPacket(result.payload, seq);
  }
  s.user = cu.user;
  s.database = cu.database;
  s.stage1 = verdict.stage1;
  s.gtid.stop(); // the backend session starts over: its tracked variables are the defaults again
  main.conn.status = result.status;
  s.serverStatus = result.status;
  // The session starts over: no history, no prepared statements. Other connections are
  // closed rather than changed one by one; they reopen, as the new user, when needed.
  sessionStartsOver(s);
  for (const l of [...s.links.values()]) if (l !== main) dropLink(s, l);
  s.sendPacket(encodeOk({ status: result.status }), seq);
}

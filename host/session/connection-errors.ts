// Errors a server sends just before it closes the connection: the statement did not fail, the
// connection went away under it. MaxScale's readwritesplit treats them as a lost connection, so
// with transaction_replay the client does not see them: the transaction is replayed elsewhere
// and the statement sent again.

const GOING_AWAY = new Set([
  1053, // ER_SERVER_SHUTDOWN: the server is shutting down
  1927, // ER_CONNECTION_KILLED: KILL CONNECTION of this connection's thread
  4031, // ER_CLIENT_INTERACTION_TIMEOUT: idle-session timeout
  2013, // CR_SERVER_LOST, as another proxy in between (MaxScale, wasmscale) sends it
]);

/** Whether an ERR with this code means "this connection is going away", not "this statement failed". */
export function meansConnectionLost(code: number): boolean {
  return GOING_AWAY.has(code);
}

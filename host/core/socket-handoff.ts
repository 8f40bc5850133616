// Hand-off of an accepted client socket from the primary to its owning worker as a raw TCP handle
// rather than as a net.Socket: the worker then builds the socket itself with `onread`, so client
// reads land in a reused buffer (host/session/read-buffer.ts) instead of a new Buffer per read.
// Node sends a bare handle as-is ('net.Native' in its child_process handle conversion); the
// primary closes its own copy once the message carrying it has been written.
import net from 'node:net';
import { ReadBuffer } from '../session/read-buffer.js';

/** Node's TCP handle (TCPWrap); opaque here. */
export type TcpHandle = object & { readonly __tcpHandle: unique symbol };

/** The accepted socket's handle, for child.send(); null once the client has gone. */
export function handleOf(socket: net.Socket): TcpHandle | null {
  // `_handle` is not public API but has been stable since Node 0.x and is what child.send() uses.
  return ((socket as unknown as { _handle: TcpHandle | null })._handle) ?? null;
}

/** A paused socket around a handle from the primary, reading into a reused buffer. */
export function socketFromHandle(handle: TcpHandle): { socket: net.Socket; reads: ReadBuffer } {
  const reads = new ReadBuffer();
  const options = { handle, readable: true, writable: true, pauseOnCreate: true, onread: reads.options };
  const socket = new net.Socket(options as net.SocketConstructorOpts);
  return { socket, reads };
}

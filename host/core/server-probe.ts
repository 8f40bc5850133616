import net from 'node:net';
import { PacketFramer } from '../protocol/framer.js';
import { decodeHandshakeV10, type HandshakeV10 } from '../protocol/handshake.js';
import { decodeErr } from '../protocol/ok-err.js';
import type { ServerAddress } from '../session/backend-connection.js';

/** Reads a server's greeting and hangs up: what version and capabilities to mirror to clients. */
export function probeServer(server: ServerAddress, timeoutMs: number): Promise<HandshakeV10> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.address, port: server.port });
    const framer = new PacketFramer(1 << 16);
    const done = (err: Error | null, hs?: HandshakeV10): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(new Error(`server ${server.name} (${server.address}:${server.port}) unreachable: ${err.message}`));
      else resolve(hs!);
    };
    const timer = setTimeout(() => done(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error('closed before the greeting')));
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk, (p) => {
        try {
          if (p.payload[0] === 0xff) done(new Error(decodeErr(p.payload).message));
          else done(null, decodeHandshakeV10(p.payload));
        } catch (err) {
          done(err as Error);
        }
        return false;
      });
    });
  });
}

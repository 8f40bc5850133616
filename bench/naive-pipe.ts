// The naive Node.js TCP proxy baseline: accept, connect to the backend, pipe both ways. Nothing
// else (no protocol, no auth, no hand-off) — the floor wasmscale is compared against.
//
//   node --import tsx bench/naive-pipe.ts <listen-port> <backend-port> [backend-host]
//
// Prints "listening <port>" once it accepts (port 0 = pick a free one).
import net from 'node:net';

const [listenPort = '0', backendPort = '3306', backendHost = '127.0.0.1'] = process.argv.slice(2);

const server = net.createServer((client) => {
  const backend = net.connect(Number(backendPort), backendHost);
  client.pipe(backend).pipe(client);
  // Without these a reset on either side would crash the whole pipe process.
  client.on('error', () => backend.destroy());
  backend.on('error', () => client.destroy());
});

server.listen(Number(listenPort), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));

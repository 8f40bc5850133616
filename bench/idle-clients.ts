// Child process of idle-sessions.ts: opens N client sessions with mysql2 (handshake + auth +
// one SELECT 1, so each session also holds its backend connection; with `big`, a 256 KiB result
// and a 100 KiB statement instead), reports, then idles until it reads "close" on stdin (or
// stdin ends), closes them all and exits.
//
//   node --import tsx bench/idle-clients.ts <port> <count> <user> <password> [concurrency] [small|big]
import mysql from 'mysql2';
import { createInterface } from 'node:readline';

const [port, count, user, password, concurrency = '50', what = 'small'] = process.argv.slice(2);
const SQL = what === 'big' ? `SELECT REPEAT('x', 262144) AS a, LENGTH('${'y'.repeat(100 * 1024)}') AS b` : 'SELECT 1';
const N = Number(count);
const conns: mysql.Connection[] = [];
let failures = 0;
let firstError = '';

function open(): Promise<void> {
  return new Promise((resolve) => {
    const c = mysql.createConnection({ host: '127.0.0.1', port: Number(port), user, password, connectTimeout: 30_000 });
    c.on('error', (err) => {
      failures++;
      firstError ||= err.message;
    });
    c.query(SQL, (err) => {
      if (err) {
        failures++;
        firstError ||= err.message;
        c.destroy();
      } else {
        conns.push(c);
      }
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
    while (next < N) {
      next++;
      await open();
    }
  }));
  process.stdout.write(`ready ${conns.length} failed ${failures} in ${Date.now() - t0} ms${firstError ? ` first error: ${firstError}` : ''}\n`);
  const rl = createInterface({ input: process.stdin });
  const close = async (): Promise<void> => {
    await Promise.all(conns.map((c) => new Promise<void>((r) => c.end(() => r()))));
    process.stdout.write('closed\n');
    process.exit(0);
  };
  rl.on('line', (l) => void (l.trim() === 'close' && close()));
  rl.on('close', () => void close());
}

void main();

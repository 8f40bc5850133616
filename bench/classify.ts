// Classifier throughput on one core: statements per second for classify() without and with the
// digest, and for canonical() (which builds a string). No database, no proxy.
//
//   node --import tsx bench/classify.ts
//
// Environment: BENCH_CALLS=2000000 statements per round, BENCH_ROUNDS=7 (the median is reported).
// The statements are COM_QUERY payloads (command byte + SQL) of 30–150 bytes, like what sysbench's
// oltp_* scripts and ORMs send; each is classified in place from offset 1.
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { canonical, classify, ClassifyResult } from '../host/classify/index.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const SQL = [
  // sysbench oltp_read_write / read_only / point_select / update_index / delete / insert
  'SELECT c FROM sbtest1 WHERE id=5034',
  'SELECT c FROM sbtest3 WHERE id BETWEEN 4997 AND 5096',
  'SELECT SUM(k) FROM sbtest2 WHERE id BETWEEN 5012 AND 5111',
  'SELECT c FROM sbtest1 WHERE id BETWEEN 5001 AND 5100 ORDER BY c',
  'SELECT DISTINCT c FROM sbtest4 WHERE id BETWEEN 4901 AND 5000 ORDER BY c',
  'UPDATE sbtest1 SET k=k+1 WHERE id=4987',
  "UPDATE sbtest2 SET c='83868641912-28773972837-60736120486-75162659906-27563526494' WHERE id=5013",
  'DELETE FROM sbtest1 WHERE id=5021',
  "INSERT INTO sbtest1 (id, k, c, pad) VALUES (5021, 4998, '68487932199-96439406143-93774651418', '22195207048-70116052123')",
  'SELECT id, k FROM sbtest1 WHERE k IN (4998, 5012, 5021, 4871, 5102, 5000, 4999, 5011, 5013, 4990)',
  'SELECT count(k) FROM sbtest1 WHERE k BETWEEN 4990 AND 4995 OR k BETWEEN 5001 AND 5006',
  // ORMs and connectors
  'SELECT `users`.* FROM `users` WHERE `users`.`id` = 42 LIMIT 1',
  "SELECT `id`, `email`, `createdAt` FROM `Users` AS `User` WHERE `User`.`email` = 'a@b.c' LIMIT 1;",
  'INSERT INTO `posts` (`title`,`body`,`user_id`,`created_at`) VALUES (?,?,?,?)',
  'UPDATE "orders" SET "status" = \'shipped\', "updated_at" = NOW() WHERE "orders"."id" = 7',
  'select p1_0.id,p1_0.name,p1_0.email from Person p1_0 where p1_0.id=?',
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
  'SELECT @@version_comment LIMIT 1 /* mariadb CLI */',
  'SELECT t0.id AS id_1, t0.name AS name_2 FROM product t0 WHERE t0.category_id = 3 /* load */',
  'START TRANSACTION /* wasmscale route to master */',
];
const PAYLOADS = SQL.map((s) => Buffer.concat([Buffer.from([0x03]), Buffer.from(s)]));
const N = PAYLOADS.length;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Statements per second over ROUNDS rounds of `calls` statements (after a warm-up round): the
 * median by wall-clock time and by this process's CPU time (user + system, all threads; on a
 * shared machine the CPU-time figure is what one core does when it is not taken away).
 * `round` runs one round; each mode has its own loop, so that each call site stays monomorphic
 * as it is in the host.
 */
function measure(round: (calls: number) => void, calls = CALLS): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    round(calls);
    const ns = Number(process.hrtime.bigint() - t);
    const u = process.cpuUsage(c);
    if (r > 0) {
      wall.push(calls / (ns / 1e9));
      cpu.push(calls / ((u.user + u.system) / 1e6));
    }
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const res = new ClassifyResult();
let sink = 0;
const lens = PAYLOADS.map((p) => p.length - 1);
process.stderr.write(`${N} statements, ${Math.min(...lens)}–${Math.max(...lens)} bytes (mean ${(lens.reduce((a, b) => a + b, 0) / N).toFixed(0)})\n`);
process.stderr.write('measuring classify (no digest)...\n');
const plain = measure((calls) => {
  for (let i = 0, j = 0; i < calls; i++, j = j + 1 === N ? 0 : j + 1) {
    const b = PAYLOADS[j]!;
    classify(b, 1, b.length, res, false);
    sink ^= res.flags;
  }
});
process.stderr.write('measuring classify + digest...\n');
const withDigest = measure((calls) => {
  for (let i = 0, j = 0; i < calls; i++, j = j + 1 === N ? 0 : j + 1) {
    const b = PAYLOADS[j]!;
    classify(b, 1, b.length, res, true);
    sink ^= res.digestLo;
  }
});
process.stderr.write('measuring canonical()...\n');
const canon = measure((calls) => {
  for (let i = 0, j = 0; i < calls; i++, j = j + 1 === N ? 0 : j + 1) {
    const b = PAYLOADS[j]!;
    sink ^= canonical(b, 1, b.length).length;
  }
}, Math.max(1, CALLS >> 2));
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const row = (what: string, m: { wall: number; cpu: number }) =>
  `| ${what} | ${fmt(m.cpu)} | ${(1e9 / m.cpu).toFixed(0)} | ${fmt(m.wall)} |\n`;
process.stdout.write(`\n### Classifier throughput, one core (median of ${ROUNDS} rounds of ${CALLS.toLocaleString('en')})\n\n`);
process.stdout.write('| what | statements / CPU-s | CPU ns / statement | statements / wall-clock s |\n| --- | ---: | ---: | ---: |\n');
process.stdout.write(row('classify() without digest', plain));
process.stdout.write(row('classify() + digest (the hot path)', withDigest));
process.stdout.write(row('canonical() (builds the string)', canon));
const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
process.stdout.write(`\n- ${new Date().toISOString()}; nproc ${nproc}; ${cpus()[0]?.model}; Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
if (sink === 0.5) process.stdout.write('');

// One real mariadbd process: its own dir (copied data dir, socket, pid file, error log) and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyTemplate, INNODB_ARGS, MARIADBD } from './mariadb-template.js';
import { freePort } from './ports.js';
import { trackServer } from './reaper.js';
import { RootClient } from './root-client.js';

export interface MariaDbServer {
  readonly name: string;
  /** Fixed once the first start() succeeded; restarts reuse it. */
  readonly port: number;
  readonly serverId: number;
  readonly dataDir: string;
  readonly errorLogPath: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** (Re)start on the same port and data dir; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Clean shutdown (SIGTERM); resolves once the process exited. */
  stop(): Promise<void>;
  /** SIGKILL (a real crash); resolves once the process exited. */
  kill(): Promise<void>;
  /** Run SQL as root over a cached connection; resolves to the rows (or the OK result). */
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
}

export interface ServerSpec {
  name: string;
  serverId: number;
  /** Parent dir; the server lives in `<baseDir>/<name>`. */
  baseDir: string;
  maxConnections: number;
  /** Appended after the standard arguments (later ones win). */
  extraArgs: readonly string[];
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;

class BindError extends Error {}

export async function createServer(spec: ServerSpec): Promise<MariaDbServer> {
  const server = new MariaDbProcess(spec, await freePort());
  await mkdir(server.dir);
  await copyTemplate(server.dataDir);
  return server;
}

class MariaDbProcess implements MariaDbServer {
  readonly name: string;
  readonly serverId: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly errorLogPath: string;
  #port: number;
  #portFixed = false;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #client = new RootClient(() => this.#port);

  constructor(
    private readonly spec: ServerSpec,
    port: number,
  ) {
    this.name = spec.name;
    this.serverId = spec.serverId;
    this.dir = join(spec.baseDir, spec.name);
    this.dataDir = join(this.dir, 'data');
    this.errorLogPath = join(this.dir, 'error.log');
    this.#port = port;
  }

  get port(): number {
    return this.#port;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  get running(): boolean {
    return this.#child !== undefined;
  }

  query<T = unknown>(sql: string, params?: unknown[]): Promise<T> {
    return this.#client.query<T>(sql, params);
  }

  async start(): Promise<void> {
    if (this.running) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#spawnAndWait();
        this.#portFixed = true;
        return;
      } catch (err) {
        if (!(err instanceof BindError) || attempt >= 5) throw err;
        // First start: someone took the port between freePort() and bind; pick another.
        // Restart: the port must stay, so wait for whoever holds it to let go.
        if (this.#portFixed) await sleep(200 * attempt);
        else this.#port = await freePort();
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#client.close();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#client.close();
    child.kill('SIGKILL');
    await this.#exited;
  }

  args(): string[] {
    const { dir, dataDir, serverId, spec } = this;
    return [
      '--no-defaults',
      '--user=root',
      `--datadir=${dataDir}`,
      `--port=${this.#port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${this.errorLogPath}`,
      `--tmpdir=${dir}`,
      `--server-id=${serverId}`,
      '--log-bin=mysql-bin',
      '--relay-log=relay-bin',
      '--log-slave-updates',
      '--binlog-format=ROW',
      '--gtid-strict-mode=1',
      '--max-allowed-packet=256M',
      `--max-connections=${spec.maxConnections}`,
      // Probes and fault tests abort handshakes; never let the server block 127.0.0.1 for it.
      '--max-connect-errors=1000000000',
      '--local-infile=1',
      '--performance-schema=OFF',
      ...INNODB_ARGS,
      '--skip-name-resolve=0',
      ...spec.extraArgs,
    ];
  }

  async #spawnAndWait(): Promise<void> {
    const logOffset = await stat(this.errorLogPath).then((s) => s.size, () => 0);
    const child = spawn(MARIADBD, this.args(), { stdio: 'ignore' });
    const untrack = trackServer(child);
    let exitInfo: string | undefined;
    this.#child = child;
    this.#exited = new Promise<void>((resolve) => {
      const onGone = (why: string): void => {
        exitInfo ??= why;
        if (this.#child === child) {
          this.#child = undefined;
          this.#client.close();
        }
        untrack();
        resolve();
      };
      child.once('exit', (code, signal) => onGone(`exited with ${signal ?? `code ${String(code)}`}`));
      child.once('error', (err) => onGone(`failed to spawn: ${err.message}`));
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitInfo !== undefined) {
        const log = await this.#logSince(logOffset);
        const Err = /Bind on TCP\/IP port|Address already in use/.test(log) ? BindError : Error;
        throw new Err(`${this.name}: mariadbd ${exitInfo} on port ${this.#port}\n${tail(log)}`);
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await this.#exited;
        throw new Error(`${this.name}: not ready within ${READY_TIMEOUT_MS} ms\n${tail(await this.#logSince(logOffset))}`);
      }
      if ((await tcpOpen(this.#port)) && (await this.query('SELECT 1').then(() => true, () => false))) return;
      await sleep(20);
    }
  }

  async #logSince(offset: number): Promise<string> {
    try {
      const file = await open(this.errorLogPath);
      try {
        const { size } = await file.stat();
        const buf = Buffer.alloc(Math.max(0, size - offset));
        await file.read(buf, 0, buf.length, offset);
        return buf.toString('utf8');
      } finally {
        await file.close();
      }
    } catch {
      return '(no error log)';
    }
  }
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

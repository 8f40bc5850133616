// The canary of a hot swap (DESIGN.md "Hot swap"): before a new version goes to the workers, the
// primary runs its hooks once on a throwaway instance — a server table, a session start, the
// kind's hot hook on "SELECT 1", a session end — so a version that traps on its first real call
// is refused while the old one keeps serving. Only traps count: a status or an answer the host
// would not take is the plugin's business, not proof that it is broken.
import { pino, type Logger } from 'pino';
import { KIND_HOOKS, type HookName } from './abi/constants.js';
import { encodeServerTable, encodeSessionEnd, encodeSessionStart, encodeStatement } from './abi/encode.js';
import type { Exchange } from './abi/exchange.js';
import type { StatementRecord } from './abi/records.js';
import { PluginLoadError } from './plugin-loader.js';
import { PluginInstance } from './plugin-instance.js';
import { PluginMetrics } from './plugin-metrics.js';
import { memoryPages, type PreparedPlugin } from './prepared-plugin.js';
import { fuelForMs } from './sandbox/fuel.js';

const COM_QUERY = 0x03;
const CANARY_SESSION = 0x7fff_fff0;

/** Runs the canary calls; throws PluginLoadError naming the hook that trapped. */
export async function runCanary(p: PreparedPlugin, log: Logger = pino({ level: 'silent' })): Promise<void> {
  const metrics = new PluginMetrics(p.name);
  const inst = await PluginInstance.create({ data: p.bytes }, {
    name: p.name, log, metrics, fuelBudget: p.limits.fuel ?? fuelForMs(p.limits.cpu_budget), memoryQuota: memoryPages(p.limits) * 65536,
  });
  try {
    const refused = await inst.configure(p.config);
    if (refused !== null) throw new PluginLoadError(p.name, `configuration refused by the plugin: ${refused}`);
    inst.subscribe(p.descriptor.hooks);
    inst.initExchange();
    const conns = [0];
    const sql = Buffer.from([COM_QUERY, ...Buffer.from('SELECT 1')]);
    const stmt: StatementRecord = {
      sessionId: CANARY_SESSION, currentServer: 0, command: COM_QUERY, kind: 0, trx: 0, flags: 0,
      digestLo: 0, digestHi: 0, hint: 0, hintServer: '', source: sql, sqlStart: 1, sqlEnd: sql.length,
    };
    const calls: [HookName, (ex: Exchange) => number][] = [
      ['servers', (ex) => encodeServerTable(ex, [{ name: 'canary', role: 'primary', state: 'up', weight: 1, lagMs: 0, connections: 0 }])],
      ['session_start', (ex) => encodeSessionStart(ex, {
        id: CANARY_SESSION, currentServer: 0, user: 'canary', database: '', clientAddress: '127.0.0.1', service: 'canary', tenant: '',
      }, conns, 1)],
      [KIND_HOOKS[p.descriptor.kind].required, (ex) => encodeStatement(ex, stmt, conns, 1)],
      ['session_end', (ex) => encodeSessionEnd(ex, CANARY_SESSION)],
    ];
    for (const [hook, encode] of calls) {
      const fn = inst.hooks[hook];
      if (!fn) continue;
      try {
        inst.fuel?.refill();
        fn(encode(inst.ex));
      } catch (err) {
        const why = inst.fuel?.classify(err) === 'fuel' ? 'ran out of CPU budget' : (err as Error).message;
        throw new PluginLoadError(p.name, `trapped in ${hook} on a canary call (${why})`, { cause: err });
      }
    }
  } finally {
    inst.close();
  }
}

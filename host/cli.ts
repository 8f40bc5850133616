#!/usr/bin/env node
// The `wasmscale` command. Exit codes: 0 fine, 1 the proxy failed (start-up or shutdown),
// 2 the configuration is invalid (so scripts and service managers can tell the two apart; for
// `check`, that includes a plugin that `start` would refuse).
// `plugin build|inspect|test` are registered from host/plugins/plugin-cli.ts; later ones
// (`ctl ...`) are added the same way. Each loads only what it needs, through dynamic imports,
// so `check` stays fast and does not pull in the proxy.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { Config } from './config/types.js';
import { createLogger, type Logger } from './core/logger.js';
import { addCtlCommands } from './plugins/ctl-cli.js';
import { addPluginCommands } from './plugins/plugin-cli.js';

const DEFAULT_CONFIG = './wasmscale.yaml';

/** The package version, found by walking up: this file runs from host/ (tsx) or dist/host/. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
  }
  return '0.0.0';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Loads the config or ends the process with code 2 and the problems on stderr. */
function loadOrExit(file: string): Config {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

async function start(file: string): Promise<void> {
  const config = loadOrExit(file);
  const log: Logger = createLogger(config.log);
  let proxy: { stop(): Promise<void> };
  try {
    const { startProxy } = await import('./core/proxy.js');
    proxy = await startProxy(config, { configPath: resolve(file), log });
  } catch (err) {
    // The message says what is wrong (port in use, ...); the stack is for debugging only.
    log.debug({ err }, 'start-up failed');
    log.error(errorMessage(err));
    process.exit(1);
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C means the operator does not want to wait for a clean stop.
      log.warn(`${signal} again: exiting without waiting for the stop to finish`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: stopping`);
    proxy.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error(`stop failed: ${errorMessage(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function check(file: string, opts: { plugins: boolean }): Promise<void> {
  const config = loadOrExit(file);
  if (opts.plugins && Object.keys(config.plugins).length > 0) {
    // Loads each plugin a service uses as start would (plugin-check.ts), so a plugin start
    // would refuse is reported here; this loads binaryen, hence the dynamic import.
    const { checkPlugins } = await import('./plugins/plugin-check.js');
    const problems = await checkPlugins(config);
    if (problems.length > 0) {
      process.stderr.write(`${file}: ${problems.length === 1 ? 'a plugin would be refused' : `${problems.length} plugins would be refused`} at start:\n`);
      for (const p of problems) process.stderr.write(`  ${p}\n`);
      process.exit(2);
    }
  }
  process.stdout.write(`OK: ${file}\n`);
}

const program = new Command()
  .name('wasmscale')
  .description('MariaDB/MySQL proxy with WebAssembly router and filter plugins')
  .version(packageVersion());

program
  .command('start')
  .description('start the proxy')
  .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
  .action((opts: { config: string }) => start(opts.config));

program
  .command('check')
  .description('validate a configuration file and report every problem in it, including plugins start would refuse')
  .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
  .option('--no-plugins', 'do not load the plugins (faster; checks the configuration only)')
  .action((opts: { config: string; plugins: boolean }) => check(opts.config, opts));

addPluginCommands(program);
addCtlCommands(program);

await program.parseAsync(process.argv);

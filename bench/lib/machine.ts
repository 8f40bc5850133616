// What the benchmark ran on, for the README.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

export function machine(mariadbVersion: string): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? '?';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  let sysbench = '?';
  try {
    sysbench = execFileSync('sysbench', ['--version'], { encoding: 'utf8' }).trim();
  } catch { /* not installed */ }
  return [
    `- date: ${new Date().toISOString()}`,
    `- nproc: ${nproc}; CPU: ${model}`,
    `- RAM: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB; kernel ${kernel}`,
    `- Node ${process.version}; MariaDB ${mariadbVersion}; ${sysbench}`,
  ].join('\n');
}

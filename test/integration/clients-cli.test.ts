// The `mariadb` command-line client through the proxy: batch, table, vertical (\G) and XML
// output, a multi-statement script on stdin (DELIMITER, procedures, multi-result CALL),
// errors and exit codes, LOAD DATA LOCAL — byte-identical to the same runs made directly.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { both, useProxy } from './clients-helpers.js';

const ports = useProxy();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(port: number, args: string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', ['-h127.0.0.1', `-P${port}`, '-uapp', '-papp-pw', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const TYPES_SQL = `SELECT 1 AS i, -2.50 AS d, 1e300 AS f, NULL AS n, 'tab\\there' AS t, _utf8mb4 'zoë 😀' AS u,
  CAST('2024-02-29 12:34:56.789' AS DATETIME(3)) AS dt, x'00ff' AS b, JSON_OBJECT('k', 1) AS j`;

describe('mariadb CLI', () => {
  it('-e in batch, table (-t), vertical (\\G), XML and HTML output', async () => {
    const out = await both(ports, async (port) => [
      await cli(port, ['-e', TYPES_SQL]),
      await cli(port, ['-t', '-e', TYPES_SQL]),
      await cli(port, ['-e', `${TYPES_SQL}\\G`]),
      await cli(port, ['-N', '-s', 'test', '-e', 'SELECT seq, seq * seq FROM seq_1_to_2000']),
      await cli(port, ['--xml', '-e', 'SELECT 1 AS a; SELECT 2 AS b, NULL AS c']),
      await cli(port, ['--html', '-e', 'SELECT 3 AS x']),
      await cli(port, ['test', '-e', 'SHOW TABLES LIKE "no_such%"; SELECT DATABASE(), CURRENT_USER()']),
      await cli(port, ['--default-character-set=utf8mb4', '-N', '-e', "SELECT 'zoë 😀', CHAR_LENGTH('😀')"]),
    ]);
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]).toEqual({
      code: 0,
      stderr: '',
      // The CLI's default character set (latin1) turns the emoji into '?', directly too.
      stdout: 'i\td\tf\tn\tt\tu\tdt\tb\tj\n1\t-2.50\t1e300\tNULL\ttab\\there\tzoë ?\t2024-02-29 12:34:56.789\t\\0\ufffd\t{"k": 1}\n',
    });
    expect(out.proxy[2]!.stdout).toContain('*************************** 1. row ***************************\n i: 1\n d: -2.50\n');
    expect(out.proxy[3]!.stdout.split('\n')).toHaveLength(2001);
    expect(out.proxy[3]!.stdout.endsWith('2000\t4000000\n')).toBe(true);
    expect(out.proxy[6]!.stdout).toBe('DATABASE()\tCURRENT_USER()\ntest\tapp@%\n');
    expect(out.proxy[7]!.stdout).toBe('zoë 😀\t1\n');
  });

  it('a multi-statement script on stdin: DDL, DML, DELIMITER, CALL with several results, \\G, warnings', async () => {
    const script = `
CREATE OR REPLACE TABLE test.cli_t (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(6,2));
INSERT INTO test.cli_t VALUES (1, 'one', 1.5), (2, 'two', NULL), (3, 'drei', -3.25);
UPDATE test.cli_t SET v = UPPER(v) WHERE id > 1;
SELECT * FROM test.cli_t ORDER BY id;
SELECT id, v FROM test.cli_t WHERE id = 3\\G
DELIMITER //
CREATE OR REPLACE PROCEDURE test.cli_proc(n INT)
BEGIN
  SELECT n AS n_in;
  SELECT id FROM test.cli_t WHERE id <= n ORDER BY id;
END//
DELIMITER ;
CALL test.cli_proc(2);
SELECT CAST('12x' AS INT) AS warned;
SHOW WARNINGS;
SELECT 'a' AS x; SELECT 'b' AS y;
DROP PROCEDURE test.cli_proc;
DROP TABLE test.cli_t;
`;
    const out = await both(ports, async (port) => [
      await cli(port, ['test'], script),
      await cli(port, ['-t', '--show-warnings', 'test'], script),
    ]);
    expect(out.proxy).toEqual(out.direct);
    const batch = out.proxy[0]!;
    expect(batch.code).toBe(0);
    expect(batch.stderr).toBe('');
    expect(batch.stdout).toBe([
      'id\tv\td', '1\tone\t1.50', '2\tTWO\tNULL', '3\tDREI\t-3.25',
      '*************************** 1. row ***************************', 'id: 3', ' v: DREI',
      'n_in', '2', 'id', '1', '2',
      'warned', '12',
      'Level\tCode\tMessage', "Warning\t1292\tTruncated incorrect INTEGER value: '12x'",
      'x', 'a', 'y', 'b', '',
    ].join('\n'));
  });

  it('errors: exit code and message, --force going on, the session surviving in a script', async () => {
    const script = "SELECT 1 AS before_err;\nSELECT * FROM test.cli_no_such_table;\nSELECT 2 AS after_err;\n";
    const out = await both(ports, async (port) => [
      await cli(port, ['-e', 'SELECT * FROM test.cli_no_such_table']),
      await cli(port, [], script),
      await cli(port, ['--force'], script),
      await cli(port, ['no_such_db_cli', '-e', 'SELECT 1']),
      await cli(port, ['-e', 'SELEC 1']),
    ]);
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]).toMatchObject({ code: 1, stdout: '' });
    expect(out.proxy[0]!.stderr).toMatch(/\nERROR 1146 \(42S02\) at line 1: Table 'test.cli_no_such_table' doesn't exist\n$/);
    expect(out.proxy[1]!.stdout).toBe('before_err\n1\n');
    expect(out.proxy[2]!.stdout).toBe('before_err\n1\nafter_err\n2\n');
    expect(out.proxy[3]).toMatchObject({ code: 1, stderr: "ERROR 1049 (42000): Unknown database 'no_such_db_cli'\n" });
  });

  it('LOAD DATA LOCAL INFILE with --local-infile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wasmscale-cli-'));
    const file = join(dir, 'rows.tsv');
    await writeFile(file, Array.from({ length: 5000 }, (_, i) => `${i}\tname ${i}`).join('\n') + '\n');
    const sql = `CREATE OR REPLACE TABLE test.cli_load (id INT PRIMARY KEY, name VARCHAR(30));
      LOAD DATA LOCAL INFILE '${file}' INTO TABLE test.cli_load;
      SELECT COUNT(*), SUM(id), MAX(name) FROM test.cli_load;
      LOAD DATA LOCAL INFILE '${file}.missing' INTO TABLE test.cli_load;`;
    const out = await both(ports, async (port) => [
      await cli(port, ['--local-infile=1', '-e', sql]),
      await cli(port, ['--local-infile=1', '-e', 'SELECT COUNT(*) FROM test.cli_load; DROP TABLE test.cli_load']),
    ]);
    expect(out.proxy).toEqual(out.direct);
    expect(out.proxy[0]!.stdout).toBe('COUNT(*)\tSUM(id)\tMAX(name)\n5000\t12497500\tname 999\n');
    expect(out.proxy[0]!.code).toBe(1);
    expect(out.proxy[1]!.stdout).toBe('COUNT(*)\n5000\n');
  });
});

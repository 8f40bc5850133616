// What sysbench 1.0's oltp_* scripts send (oltp_common.lua), text protocol (--db-ps-mode=disable)
// and the statements it prepares (--db-ps-mode=auto), plus its prepare/cleanup commands.
import type { Case } from './cases.js';

export const SYSBENCH: Case[] = [
  // oltp_point_select / oltp_read_only / oltp_read_write
  ['SELECT c FROM sbtest1 WHERE id=5034', 'read', 'READ'],
  ['SELECT c FROM sbtest1 WHERE id=?', 'read', 'READ'],
  ['SELECT c FROM sbtest3 WHERE id BETWEEN 4997 AND 5096', 'read', 'READ'],
  ['SELECT c FROM sbtest3 WHERE id BETWEEN ? AND ?', 'read', 'READ'],
  ['SELECT SUM(k) FROM sbtest2 WHERE id BETWEEN 5012 AND 5111', 'read', 'READ'],
  ['SELECT c FROM sbtest1 WHERE id BETWEEN 5001 AND 5100 ORDER BY c', 'read', 'READ'],
  ['SELECT DISTINCT c FROM sbtest4 WHERE id BETWEEN 4901 AND 5000 ORDER BY c', 'read', 'READ'],
  ['BEGIN', 'begin', 'BEGIN IMPLICIT_COMMIT'],
  ['COMMIT', 'commit', 'COMMIT'],
  ['ROLLBACK', 'rollback', 'ROLLBACK'],
  // oltp_update_index / oltp_update_non_index / oltp_read_write
  ['UPDATE sbtest1 SET k=k+1 WHERE id=4987', 'write', 'WRITE'],
  ['UPDATE sbtest1 SET k=k+1 WHERE id=?', 'write', 'WRITE'],
  ["UPDATE sbtest2 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-41576422241-93426793964-56405065102-33518432330' WHERE id=5013", 'write', 'WRITE'],
  ['UPDATE sbtest2 SET c=? WHERE id=?', 'write', 'WRITE'],
  // oltp_delete / oltp_read_write
  ['DELETE FROM sbtest1 WHERE id=5021', 'write', 'WRITE'],
  ['DELETE FROM sbtest1 WHERE id=?', 'write', 'WRITE'],
  // oltp_insert / oltp_read_write
  ["INSERT INTO sbtest1 (id, k, c, pad) VALUES (5021, 4998, '68487932199-96439406143-93774651418-71584603357', '22195207048-70116052123-74140395089-76317954521-98694025897')", 'write', 'WRITE'],
  ['INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)', 'write', 'WRITE'],
  ["INSERT INTO sbtest7 (id, k, c, pad) VALUES (0, 5015, '04916154364-64788329436', '66006578113-81513291451')", 'write', 'WRITE'],
  // select_random_points / select_random_ranges
  ['SELECT id, k, c, pad FROM sbtest1 WHERE k IN (4998, 5012, 5021, 4871, 5102, 5000, 4999, 5011, 5013, 4990)', 'read', 'READ'],
  ['SELECT id, k, c, pad FROM sbtest1 WHERE k IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', 'read', 'READ'],
  ['SELECT count(k) FROM sbtest1 WHERE k BETWEEN 4990 AND 4995 OR k BETWEEN 5001 AND 5006 OR k BETWEEN 5100 AND 5105', 'read', 'READ'],
  ['SELECT count(k) FROM sbtest1 WHERE k BETWEEN ? AND ? OR k BETWEEN ? AND ?', 'read', 'READ'],
  // prepare / cleanup
  ["CREATE TABLE sbtest1(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n) /*! ENGINE = innodb */ ", 'write', 'WRITE DDL IMPLICIT_COMMIT'],
  ["INSERT INTO sbtest1(k, c, pad) VALUES(4993, '83868641912-28773972837', '67847967377-48000963322'),(5020, '38014276128-25250245652', '23183251411-36241541236'),(5044, '33973744704-80540844748', '38615512647-91458489257')", 'write', 'WRITE'],
  ['CREATE INDEX k_1 ON sbtest1(k)', 'write', 'WRITE DDL IMPLICIT_COMMIT'],
  ['DROP TABLE IF EXISTS sbtest1', 'write', 'WRITE DDL IMPLICIT_COMMIT'],
  ['CREATE DATABASE IF NOT EXISTS sbtest', 'write', 'WRITE DDL IMPLICIT_COMMIT'],
  ["CREATE USER IF NOT EXISTS 'sbtest'@'%' IDENTIFIED BY 'sbtest'", 'write', 'WRITE DDL IMPLICIT_COMMIT'],
  ["GRANT ALL PRIVILEGES ON sbtest.* TO 'sbtest'@'%'", 'write', 'WRITE IMPLICIT_COMMIT'],
  ['ANALYZE TABLE sbtest1', 'write', 'WRITE IMPLICIT_COMMIT'],
];

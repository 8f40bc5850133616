import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../host/config/units.js';

describe('parseDuration', () => {
  it('reads numbers as seconds and strings with units', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(30)).toBe(30_000);
    expect(parseDuration(0.25)).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('10')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
  });
  it('refuses what it does not understand', () => {
    for (const v of ['abc', '-1s', '10 sec', '1d', '', -1, null, true, [], {}]) expect(parseDuration(v)).toBeUndefined();
  });
});

describe('parseSize', () => {
  it('reads numbers as bytes and 1024-based units', () => {
    expect(parseSize(1024)).toBe(1024);
    expect(parseSize('16k')).toBe(16 * 1024);
    expect(parseSize('16KiB')).toBe(16 * 1024);
    expect(parseSize('64M')).toBe(64 * 2 ** 20);
    expect(parseSize('64MiB')).toBe(64 * 2 ** 20);
    expect(parseSize('64MB')).toBe(64 * 2 ** 20);
    expect(parseSize('1G')).toBe(2 ** 30);
    expect(parseSize('512B')).toBe(512);
    expect(parseSize('1.5k')).toBe(1536);
  });
  it('refuses what it does not understand', () => {
    for (const v of ['abc', '-1', '64X', '64 MiBs', null, false]) expect(parseSize(v)).toBeUndefined();
  });
});

describe('format', () => {
  it('prints limits the way users write them', () => {
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatSize(1024)).toBe('1KiB');
    expect(formatSize(2 ** 30)).toBe('1GiB');
    expect(formatSize(1000)).toBe('1000B');
  });
});

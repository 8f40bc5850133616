import { describe, expect, it } from 'vitest';
import {
  clientHost,
  compareRank,
  hostGenerality,
  matchHost,
  parseHostPattern,
  wildMatch,
} from '../../host/session/accounts/host-pattern.js';

describe('wildMatch', () => {
  it('handles % and _ and escapes', () => {
    expect(wildMatch('10.1.2.3', '10.%', false)).toBe(true);
    expect(wildMatch('10.1.2.3', '10._.2.3', false)).toBe(true);
    expect(wildMatch('10.12.2.3', '10._.2.3', false)).toBe(false);
    expect(wildMatch('abc', '%', false)).toBe(true);
    expect(wildMatch('', '%', false)).toBe(true);
    expect(wildMatch('', '_', false)).toBe(false);
    expect(wildMatch('a%c', 'a\\%c', false)).toBe(true);
    expect(wildMatch('abc', 'a\\%c', false)).toBe(false);
    expect(wildMatch('a_c', 'a\\_c', false)).toBe(true);
    expect(wildMatch('abc', 'a\\_c', false)).toBe(false);
    // Backtracking: the first 'b' after % is not the right one.
    expect(wildMatch('abxbyc', 'a%b_c', false)).toBe(true);
    expect(wildMatch('abxbyd', 'a%b_c', false)).toBe(false);
    expect(wildMatch('LocalHost', 'local%', true)).toBe(true);
    expect(wildMatch('LocalHost', 'local%', false)).toBe(false);
  });
});

describe('clientHost', () => {
  it('unwraps IPv4-mapped IPv6 and names loopback localhost', () => {
    expect(clientHost('::ffff:127.0.0.1')).toEqual({ ip: '127.0.0.1', hostname: 'localhost', ipv4: 0x7f000001 });
    expect(clientHost('::FFFF:10.0.0.7')).toEqual({ ip: '10.0.0.7', hostname: null, ipv4: 0x0a000007 });
    expect(clientHost('::1')).toEqual({ ip: '::1', hostname: 'localhost', ipv4: null });
    // Only 127.0.0.1 is loopback for MariaDB (vio_is_loopback), not all of 127/8.
    expect(clientHost('127.0.0.2').hostname).toBeNull();
  });
});

describe('matchHost', () => {
  it('matches wildcards on the IP text', () => {
    expect(matchHost('%', '203.0.113.9')).toBe(true);
    expect(matchHost('', '203.0.113.9')).toBe(true); // empty host means '%'
    expect(matchHost('192.168.1.%', '192.168.1.20')).toBe(true);
    expect(matchHost('192.168.1.%', '192.168.10.20')).toBe(false);
    expect(matchHost('192.168.1._', '192.168.1.7')).toBe(true);
    expect(matchHost('192.168.1._', '192.168.1.70')).toBe(false);
    expect(matchHost('192.168.1.%', '::ffff:192.168.1.20')).toBe(true);
    expect(matchHost('2001:db8::%', '2001:db8::5')).toBe(true);
  });

  it('matches exact IPs only exactly', () => {
    expect(matchHost('10.0.0.1', '10.0.0.1')).toBe(true);
    expect(matchHost('10.0.0.1', '::ffff:10.0.0.1')).toBe(true);
    expect(matchHost('10.0.0.1', '10.0.0.10')).toBe(false);
    expect(matchHost('::1', '::1')).toBe(true);
  });

  it('matches ip/netmask', () => {
    expect(matchHost('10.0.0.0/255.0.0.0', '10.200.3.4')).toBe(true);
    expect(matchHost('10.0.0.0/255.0.0.0', '::ffff:10.200.3.4')).toBe(true);
    expect(matchHost('10.0.0.0/255.0.0.0', '11.0.0.1')).toBe(false);
    expect(matchHost('192.168.0.0/255.255.255.0', '192.168.0.200')).toBe(true);
    expect(matchHost('192.168.0.0/255.255.255.0', '192.168.1.200')).toBe(false);
    // High bit set: must compare as unsigned.
    expect(matchHost('200.1.0.0/255.255.0.0', '200.1.9.9')).toBe(true);
    // Host bits outside the mask never match (MariaDB compares (ip & mask) == net).
    expect(matchHost('10.0.0.1/255.0.0.0', '10.0.0.1')).toBe(false);
    expect(matchHost('10.0.0.0/255.0.0.0', '::1')).toBe(false);
  });

  it('matches localhost for every loopback form and nothing else', () => {
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(matchHost('localhost', a)).toBe(true);
      expect(matchHost('LOCALHOST', a)).toBe(true);
      expect(matchHost('local%', a)).toBe(true);
    }
    expect(matchHost('localhost', '10.0.0.1')).toBe(false);
    expect(matchHost('127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(matchHost('127.0.0.1', '::1')).toBe(false);
  });

  it('never matches a hostname against an IP (no DNS)', () => {
    expect(matchHost('db.example.com', '10.0.0.1')).toBe(false);
    expect(matchHost('%.example.com', '10.0.0.1')).toBe(false);
    expect(matchHost('app%', '10.0.0.1')).toBe(false);
  });
});

describe('ordering', () => {
  const rank = (user: string, host: string) => ({ user, pattern: parseHostPattern(host) });
  const order = (list: [string, string][]) =>
    list.map(([u, h]) => rank(u, h)).sort(compareRank).map((r) => `${r.user}@${r.pattern.text}`);

  it('puts exact hosts first, longer literal prefixes next and % last', () => {
    expect(order([
      ['u', '%'], ['u', '10.%'], ['u', '10.0.0.%'], ['u', '10.0.0.5'], ['u', '10.0.0._'],
    ])).toEqual(['u@10.0.0.5', 'u@10.0.0._', 'u@10.0.0.%', 'u@10.%', 'u@%']);
  });

  it('breaks ties between equally wild patterns by the literal prefix, shorter first', () => {
    // Checked against mariadbd 10.11: with 'pp'@'lo_alhost' and 'pp'@'l_calhost',
    // a local client gets pp@l_calhost. get_magic_sort() adds the prefix length
    // P to the magic that is then inverted, so a shorter prefix ranks first
    // (its comment says the opposite; the code is what the server does). The
    // host-text tie-break alone would pick lo_alhost.
    expect(order([['u', 'lo_alhost'], ['u', 'l_calhost']])).toEqual(['u@l_calhost', 'u@lo_alhost']);
  });

  it('puts a named user before anonymous on the same host, but a more specific anonymous host first', () => {
    expect(order([['', 'localhost'], ['bob', 'localhost']])).toEqual(['bob@localhost', '@localhost']);
    expect(order([['bob', '%'], ['', 'localhost']])).toEqual(['@localhost', 'bob@%']);
  });

  it('breaks ties between exact hosts like MariaDB (localhost before 127.0.0.1)', () => {
    expect(order([['root', '127.0.0.1'], ['root', 'localhost'], ['root', '::1']]))
      .toEqual(['root@localhost', 'root@::1', 'root@127.0.0.1']);
  });

  it('ranks generality monotonically', () => {
    expect(hostGenerality('localhost')).toBe(0);
    expect(hostGenerality('a%')).toBeLessThan(hostGenerality('%'));
    expect(hostGenerality('abc%')).toBeLessThan(hostGenerality('a%'));
    expect(hostGenerality('%%')).toBe(hostGenerality('%'));
    expect(hostGenerality('a\\%')).toBe(0); // escaped: a literal
  });
});

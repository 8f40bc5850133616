import { Cap } from './constants.js';
import { PayloadReader, ProtocolError } from './reader.js';
import { PayloadWriter } from './writer.js';

/** Initial handshake packet (protocol v10), sent by the server. */
export interface HandshakeV10 {
  serverVersion: string;
  connectionId: number;
  /** Full scramble (auth plugin data), 20 bytes for mysql_native_password. */
  scramble: Buffer;
  capabilities: number;
  mariaCapabilities: number;
  charset: number;
  status: number;
  authPlugin: string;
}

export function encodeHandshakeV10(h: HandshakeV10): Buffer {
  const w = new PayloadWriter(128);
  w.u8(10).nulStr(h.serverVersion).u32(h.connectionId);
  w.bytes(h.scramble.subarray(0, 8)).u8(0);
  w.u16(h.capabilities & 0xffff).u8(h.charset).u16(h.status).u16((h.capabilities >>> 16) & 0xffff);
  w.u8(h.capabilities & Cap.PLUGIN_AUTH ? h.scramble.length + 1 : 0);
  w.zeros(6).u32(h.mariaCapabilities);
  if (h.capabilities & Cap.SECURE_CONNECTION) {
    w.bytes(h.scramble.subarray(8));
    w.u8(0);
  }
  if (h.capabilities & Cap.PLUGIN_AUTH) w.nulStr(h.authPlugin);
  return Buffer.from(w.payload());
}

export function decodeHandshakeV10(payload: Buffer): HandshakeV10 {
  const r = new PayloadReader(payload);
  const protocol = r.u8();
  if (protocol !== 10) throw new ProtocolError(`unsupported handshake protocol version ${protocol}`);
  const serverVersion = r.nulString();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.skip(1);
  let capabilities = r.u16();
  const charset = r.u8();
  const status = r.u16();
  capabilities = (capabilities | (r.u16() << 16)) >>> 0;
  const dataLen = r.u8();
  r.skip(6);
  const mariaCapabilities = r.u32();
  let part2: Buffer = Buffer.alloc(0);
  if (capabilities & Cap.SECURE_CONNECTION) {
    const n = Math.max(13, dataLen - 8);
    part2 = r.bytes(Math.min(n, r.remaining));
    // The part ends with a NUL that is not part of the scramble.
    if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
  }
  const authPlugin = capabilities & Cap.PLUGIN_AUTH && r.remaining > 0 ? r.nulString() : 'mysql_native_password';
  return {
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities,
    mariaCapabilities: capabilities & Cap.LONG_PASSWORD ? 0 : mariaCapabilities,
    charset,
    status,
    authPlugin,
  };
}

/** Client's reply to the handshake (HandshakeResponse41). */
export interface HandshakeResponse {
  capabilities: number;
  mariaCapabilities: number;
  maxPacket: number;
  charset: number;
  user: string;
  authResponse: Buffer;
  database: string | null;
  authPlugin: string | null;
  /** Connection attributes exactly as the client sent them (the encoded key/value block). */
  attributes: Buffer | null;
}

/** An SSL request is a handshake response cut after the fixed part; the proxy refuses TLS. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === 32 && (payload.readUInt32LE(0) & Cap.SSL) !== 0;
}

export function decodeHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new PayloadReader(payload);
  const capabilities = r.u32();
  if (!(capabilities & Cap.PROTOCOL_41)) throw new ProtocolError('client does not speak protocol 4.1');
  const maxPacket = r.u32();
  const charset = r.u8();
  r.skip(19);
  const mariaCapabilities = r.u32();
  const user = r.nulString();
  let authResponse: Buffer;
  if (capabilities & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = r.lenencBytes();
  else if (capabilities & Cap.SECURE_CONNECTION) authResponse = r.bytes(r.u8());
  else authResponse = r.nulBytes();
  let database: string | null = null;
  if (capabilities & Cap.CONNECT_WITH_DB && r.remaining > 0) {
    database = r.nulString();
    if (database === '') database = null;
  }
  let authPlugin: string | null = null;
  if (capabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPlugin = r.nulString();
  let attributes: Buffer | null = null;
  if (capabilities & Cap.CONNECT_ATTRS && r.remaining > 0) {
    attributes = r.lenencBytes();
    // MariaDB checks only the block's length and logs the client in even when the key/value
    // pairs inside are malformed: do the same, but do not pass such a block on.
    try {
      validateAttributes(attributes);
    } catch {
      attributes = null;
    }
  }
  return {
    capabilities,
    mariaCapabilities: capabilities & Cap.LONG_PASSWORD ? 0 : mariaCapabilities,
    maxPacket,
    charset,
    user,
    authResponse: Buffer.from(authResponse),
    database,
    authPlugin,
    attributes: attributes ? Buffer.from(attributes) : null,
  };
}

function validateAttributes(block: Buffer): void {
  const r = new PayloadReader(block);
  while (r.remaining > 0) {
    r.lenencBytes();
    r.lenencBytes();
  }
}

export function decodeAttributes(block: Buffer): Map<string, string> {
  const r = new PayloadReader(block);
  const out = new Map<string, string>();
  while (r.remaining > 0) out.set(r.lenencBytes().toString('utf8'), r.lenencBytes().toString('utf8'));
  return out;
}

export function encodeHandshakeResponse(h: HandshakeResponse): Buffer {
  const w = new PayloadWriter(256);
  w.u32(h.capabilities).u32(h.maxPacket).u8(h.charset).zeros(19).u32(h.mariaCapabilities);
  w.nulStr(h.user);
  if (h.capabilities & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenencBytes(h.authResponse);
  else if (h.capabilities & Cap.SECURE_CONNECTION) w.u8(h.authResponse.length).bytes(h.authResponse);
  else w.nulStr(h.authResponse);
  if (h.capabilities & Cap.CONNECT_WITH_DB) w.nulStr(h.database ?? '');
  if (h.capabilities & Cap.PLUGIN_AUTH) w.nulStr(h.authPlugin ?? 'mysql_native_password');
  if (h.capabilities & Cap.CONNECT_ATTRS) w.lenencBytes(h.attributes ?? Buffer.alloc(0));
  return Buffer.from(w.payload());
}

/** Auth switch request (0xFE): asks the peer to authenticate with another plugin and scramble. */
export function encodeAuthSwitch(plugin: string, scramble: Buffer): Buffer {
  return Buffer.from(new PayloadWriter(64).u8(0xfe).nulStr(plugin).bytes(scramble).u8(0).payload());
}

export function decodeAuthSwitch(payload: Buffer): { plugin: string; data: Buffer } {
  const r = new PayloadReader(payload, 1);
  const plugin = r.nulString();
  let data = r.rest();
  if (data.length > 0 && data[data.length - 1] === 0) data = data.subarray(0, data.length - 1);
  return { plugin, data: Buffer.from(data) };
}

import { Cap } from './constants.js';
import { PayloadReader } from './reader.js';
import { PayloadWriter } from './writer.js';

/** COM_CHANGE_USER: the client re-authenticates on an open connection. */
export interface ChangeUser {
  user: string;
  authResponse: Buffer;
  database: string | null;
  charset: number | null;
  authPlugin: string | null;
  attributes: Buffer | null;
}

export function decodeChangeUser(payload: Buffer, capabilities: number): ChangeUser {
  const r = new PayloadReader(payload, 1);
  const user = r.nulString();
  const authResponse = Buffer.from(capabilities & Cap.SECURE_CONNECTION ? r.bytes(r.u8()) : r.nulBytes());
  const db = r.nulString();
  let charset: number | null = null;
  let authPlugin: string | null = null;
  let attributes: Buffer | null = null;
  if (r.remaining >= 2) charset = r.u16();
  if (capabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPlugin = r.nulString();
  if (capabilities & Cap.CONNECT_ATTRS && r.remaining > 0) attributes = Buffer.from(r.lenencBytes());
  return { user, authResponse, database: db === '' ? null : db, charset, authPlugin, attributes };
}

export function encodeChangeUser(c: ChangeUser, capabilities: number): Buffer {
  const w = new PayloadWriter(128);
  w.u8(0x11).nulStr(c.user);
  if (capabilities & Cap.SECURE_CONNECTION) w.u8(c.authResponse.length).bytes(c.authResponse);
  else w.nulStr(c.authResponse);
  w.nulStr(c.database ?? '');
  w.u16(c.charset ?? 33);
  if (capabilities & Cap.PLUGIN_AUTH) w.nulStr(c.authPlugin ?? 'mysql_native_password');
  if (capabilities & Cap.CONNECT_ATTRS) w.lenencBytes(c.attributes ?? Buffer.alloc(0));
  return Buffer.from(w.payload());
}

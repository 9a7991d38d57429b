// Reading the fields of an HTTP request, each failure a 400 that names the field.

import { READ_MODES, type ReadMode } from '../server/node-options.js';
import { badRequest } from './http-replies.js';
import { readModeRefusal, type ServedNode } from './served-node.js';

/** Percent-decodes a path segment to bytes: "%FF" is the byte 0xff, other characters are UTF-8. */
export function pathBytes(text: string, field: string): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; ) {
    if (text[index] === '%') {
      const hex = text.slice(index + 1, index + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw badRequest(field, `bad percent-escape at character ${index}`);
      bytes.push(parseInt(hex, 16));
      index += 3;
    } else {
      const codePoint = text.codePointAt(index)!;
      const character = String.fromCodePoint(codePoint);
      for (const byte of Buffer.from(character, 'utf8')) bytes.push(byte);
      index += character.length;
    }
  }
  return Buffer.from(bytes);
}

export type Encoding = 'utf8' | 'base64';

export function encodingOf(query: URLSearchParams): Encoding {
  const encoding = query.get('encoding') ?? 'utf8';
  if (encoding !== 'utf8' && encoding !== 'base64') throw badRequest('encoding', `must be 'utf8' or 'base64', got ${JSON.stringify(encoding)}`);
  return encoding;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function base64Bytes(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw badRequest(field, `must be a base64 string, got ${describe(value)}`);
  if (!BASE64.test(value)) throw badRequest(field, 'is not valid base64');
  return Buffer.from(value, 'base64');
}

/** Bytes from a string field in `encoding`. */
export function stringBytes(value: unknown, field: string, encoding: Encoding): Buffer {
  if (encoding === 'base64') return base64Bytes(value, field);
  if (typeof value !== 'string') throw badRequest(field, `must be a string, got ${describe(value)}`);
  return Buffer.from(value, 'utf8');
}

export function text(bytes: Uint8Array, encoding: Encoding): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(encoding);
}

/** An integer field from `min` to `max` (a JSON number, or a decimal string as etcd sends int64s). */
export function integerField(value: unknown, field: string, min: number, max: number): number {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < min || number > max) {
    throw badRequest(field, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return number;
}

/** The read mode a request asks for (`mode`), or the node's; refused modes are a 400 naming 'mode'. */
export function readModeOf(query: URLSearchParams, node: ServedNode): ReadMode {
  const asked = query.get('mode');
  if (asked === null) return node.options.readMode;
  if (!(READ_MODES as readonly string[]).includes(asked)) throw badRequest('mode', `unknown read mode ${JSON.stringify(asked)}; one of ${READ_MODES.join(', ')}`);
  const mode = asked as ReadMode;
  const refusal = readModeRefusal(node, mode);
  if (refusal !== null) throw badRequest('mode', refusal);
  return mode;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}

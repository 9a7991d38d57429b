// Histories written as scripts, one operation per line, so a test reads like the timeline it is:
//
//     c1  0  1  put k a        -> v1
//     c2  2  3  get k          -> a v1
//     c3  4  -  put k b        -> ?
//     c1  5  6  delete k       -> deleted v7      (or: deleted · absent)
//     c2  7  8  cas k v0 c     -> ok v9           (expect version 0; or: mismatch v4)
//     c3  9  10 get k          -> absent
//
// Columns: client, call and return time in ms ("-" and answer "?": no response), the request,
// and its answer. Anything after "#" is a comment.

import type { Operation } from '../../src/check/kv-history.js';

function version(token: string | undefined, line: string): number {
  if (token === undefined || !/^v\d+$/.test(token)) throw new Error(`history script: expected a version like v3, got ${String(token)} in: ${line}`);
  return Number(token.slice(1));
}

function parseLine(line: string): Operation {
  const [request, answer] = line.split('->').map((part) => part.trim().split(/\s+/));
  if (request === undefined || answer === undefined) throw new Error(`history script: expected "… -> answer" in: ${line}`);
  const [client, call, ret, type, key, ...args] = request;
  if (client === undefined || !/^c\d+$/.test(client) || call === undefined || ret === undefined || key === undefined) {
    throw new Error(`history script: expected "cN call return request" in: ${line}`);
  }
  const clientId = Number(client.slice(1));
  const callUs = Math.round(Number(call) * 1000);
  const noResponse = ret === '-';
  if (noResponse !== (answer[0] === '?')) throw new Error(`history script: "-" as return time goes with the answer "?" in: ${line}`);
  const returnUs = noResponse ? null : Math.round(Number(ret) * 1000);
  const timing = { clientId, callUs };
  switch (type) {
    case 'put': {
      const input = { type, key, value: args[0] ?? '' } as const;
      return returnUs === null ? { ...timing, input, returnUs, output: null } : { ...timing, input, returnUs, output: { version: version(answer[0], line) } };
    }
    case 'get': {
      const input = { type, key } as const;
      if (returnUs === null) return { ...timing, input, returnUs, output: null };
      const output = answer[0] === 'absent' ? ({ found: false } as const) : ({ found: true, value: answer[0] ?? '', version: version(answer[1], line) } as const);
      return { ...timing, input, returnUs, output };
    }
    case 'delete': {
      const input = { type, key } as const;
      if (returnUs === null) return { ...timing, input, returnUs, output: null };
      if (answer[0] === 'absent') return { ...timing, input, returnUs, output: { deleted: false } };
      const output = answer[1] === undefined ? ({ deleted: true } as const) : ({ deleted: true, version: version(answer[1], line) } as const);
      return { ...timing, input, returnUs, output };
    }
    case 'cas': {
      const input = { type, key, expectedVersion: version(args[0], line), value: args[1] ?? '' } as const;
      if (returnUs === null) return { ...timing, input, returnUs, output: null };
      const output =
        answer[0] === 'ok' ? ({ ok: true, version: version(answer[1], line) } as const) : ({ ok: false, currentVersion: version(answer[1], line) } as const);
      return { ...timing, input, returnUs, output };
    }
    default:
      throw new Error(`history script: unknown request ${String(type)} in: ${line}`);
  }
}

export function history(script: string): Operation[] {
  return script
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0)
    .map(parseLine);
}

// Starting and stopping a TCP listener (the HTTP API's or the binary protocol's) the same way.

import type { Server } from 'node:net';
import { formatHostPort } from './address.js';

/** Listens on host:port (0: a free port) and returns the "host:port" it got. */
export async function listen(server: Server, host: string, port: number, what: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error(`${what}: the server has no TCP address`);
  return formatHostPort(host, bound.port);
}

/** Stops accepting, ends the open connections with `destroyAll`, and waits until the server closed. */
export async function closeServer(server: Server, destroyAll: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  destroyAll();
  await closed;
}

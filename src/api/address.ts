// "host:port" as the client APIs print and take addresses (IPv6 hosts in brackets: "[::1]:7001").

export function parseHostPort(address: string, field: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 1 && port <= 65535)) throw new RangeError(`${field} must be "host:port" with a port from 1 to 65535, got ${JSON.stringify(address)}`);
  return { host: match[1] ?? match[2]!, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// Micro-benchmark of the client APIs' cost per request, in process: one real node (a 1-node
// embedded cluster, real storage with fsync off so the disk does not hide the protocol) serving
// reads (lease) and writes (through a session) — first called directly, then through the binary
// protocol (BinaryEndpoint), the HTTP raw routes (HttpEndpoint) and the HTTP JSON routes. Clients
// and server share this process, so the CPU µs per request are the protocol's cost on both sides
// together plus the node's; the direct row is the node alone. Wall µs per request at the given
// concurrency is the inverse of throughput on this machine.
//
//   npx tsc -p tsconfig.json && node dist/src/bench/micro/api.js [--quick]
//
// Prints Markdown with the load average (timings taken on a busy machine are not comparable).

import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { BinaryEndpoint } from '../../api/binary-endpoint.js';
import { startClientApis } from '../../api/client-apis.js';
import { HttpEndpoint } from '../../api/http-endpoint.js';
import { KvClient, type NodeEndpoint } from '../../client/client.js';
import { createPrng } from '../../random/prng.js';
import { EmbeddedCluster } from '../../server/embedded-cluster.js';
import { realRuntime } from '../../server/runtime.js';

const CONCURRENCY = 64;
const KEYS = 1000;
const VALUE = Buffer.alloc(256, 120);

interface Row {
  readonly transport: string;
  readonly operation: 'get (lease)' | 'put';
  readonly requests: number;
  readonly wallUsPerRequest: number;
  readonly cpuUsPerRequest: number;
}

async function measure(transport: string, operation: Row['operation'], requests: number, run: (k: number) => Promise<boolean>): Promise<Row> {
  let next = 0;
  let failures = 0;
  const cpuBefore = process.cpuUsage();
  const startNs = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) if (!(await run(next++ % KEYS))) failures += 1;
    }),
  );
  const wallUs = Number(process.hrtime.bigint() - startNs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (failures > 0) throw new Error(`${transport} ${operation}: ${failures} of ${requests} requests failed`);
  return { transport, operation, requests, wallUsPerRequest: wallUs / requests, cpuUsPerRequest: (cpu.user + cpu.system) / requests };
}

function key(k: number): Buffer {
  return Buffer.from(`key-${k}`);
}

/** One JSON-route request over a kept-alive connection; true on a 200. */
function jsonRequest(agent: Agent, address: string, method: string, path: string, body: string | null): Promise<boolean> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const outgoing = httpRequest({ host, port: Number(port), method, path, agent, headers: body === null ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode === 200));
    });
    outgoing.once('error', () => resolve(false));
    outgoing.end(body ?? undefined);
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const requests = quick ? 5_000 : 40_000;
  const cluster = await EmbeddedCluster.start({ nodes: 1, node: { tickMs: 10, storage: { fsync: 'none', allowUnsafe: true }, readMode: 'lease', raft: { leaseTicks: 8 } } });
  const node = cluster.node(1);
  await cluster.waitForLeader();
  const apis = await startClientApis(node, { httpPort: 0, binaryPort: 0 });
  const binary = new BinaryEndpoint({ id: 1, address: apis.binaryAddress! });
  const http = new HttpEndpoint({ id: 1, address: apis.httpAddress!, socketsMax: CONCURRENCY });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const clientOver = (endpoint: NodeEndpoint): KvClient => new KvClient({ endpoints: [endpoint], readMode: 'lease', runtime: realRuntime, prng: createPrng(1) });
  const rows: Row[] = [];
  try {
    const transports: [string, NodeEndpoint][] = [
      ['direct (node.read / submit)', node],
      ['binary protocol', binary],
      ['HTTP raw (HttpEndpoint)', http],
    ];
    for (const [name, endpoint] of transports) {
      const client = clientOver(endpoint);
      const ok = (result: Awaited<ReturnType<KvClient['put']>>): boolean => result.ok && result.response.type !== 'error';
      await measure(name, 'put', KEYS, (k) => client.put(key(k), VALUE).then(ok)); // warm-up, and the keys exist
      rows.push(await measure(name, 'put', requests, (k) => client.put(key(k), VALUE).then(ok)));
      rows.push(await measure(name, 'get (lease)', requests, (k) => client.get(key(k)).then(ok)));
    }
    const body = JSON.stringify({ value: VALUE.toString('utf8') });
    const address = apis.httpAddress!;
    await measure('HTTP JSON routes', 'put', KEYS, (k) => jsonRequest(agent, address, 'PUT', `/v1/kv/key-${k}`, body));
    rows.push(await measure('HTTP JSON routes', 'put', requests, (k) => jsonRequest(agent, address, 'PUT', `/v1/kv/key-${k}`, body)));
    rows.push(await measure('HTTP JSON routes', 'get (lease)', requests, (k) => jsonRequest(agent, address, 'GET', `/v1/kv/key-${k}?mode=lease`, null)));
  } finally {
    binary.close();
    http.close();
    agent.destroy();
    await apis.close();
    await cluster.stop();
  }
  const [one, five] = loadavg() as [number, number, number];
  console.log(`# client API cost per request (in process, 1 node, fsync none, ${CONCURRENCY} in flight)\n`);
  console.log(`${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${one.toFixed(2)} / ${five.toFixed(2)} (1 / 5 min)${one > cpus().length ? ' — BUSY MACHINE: not comparable' : ''}\n`);
  console.log('| transport | operation | requests | wall µs/request | CPU µs/request |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row.transport} | ${row.operation} | ${row.requests} | ${row.wallUsPerRequest.toFixed(1)} | ${row.cpuUsPerRequest.toFixed(1)} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

// An etcd cluster on loopback for side-by-side runs: N `etcd` processes (Debian's etcd-server,
// 3.4), each with its own data directory under one temporary directory, on free ports, fsync ON
// (etcd's default; `--unsafe-no-fsync` is never passed), each member's output in a log file.
//
// No process outlives us for long: each member runs under coreutils `timeout` with a lifetime
// bound (`lifetimeSecondsMax`), so even a SIGKILL of this process leaves etcd running at most that
// long; `stop()` sends SIGTERM (timeout forwards it: etcd shuts down cleanly), waits, then
// SIGKILLs the member's process group; and an 'exit' hook SIGTERMs whatever is still running.
// `timeout` starts its own process group, so a terminal's Ctrl-C reaches only us, and we stop the
// members in order.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaderUrl } from '../drive/http-leader.js';

export const ETCD_PATH_DEFAULT = '/usr/bin/etcd';

export const ETCD_INSTALL_HINT =
  'etcd is not installed: on Debian or Ubuntu run `apt-get install etcd-server` as root (it provides /usr/bin/etcd 3.4), ' +
  'or pass --etcd PATH to an etcd binary';

export class EtcdMissingError extends Error {
  constructor(path: string) {
    super(`${path} not found. ${ETCD_INSTALL_HINT}`);
    this.name = 'EtcdMissingError';
  }
}

export interface EtcdClusterOptions {
  readonly members: number;
  readonly etcdPath?: string;
  /** Where the temporary directory (data dirs, logs) is made. Default: the OS temp dir. */
  readonly tempRoot?: string;
  /** Every member is killed after this long whatever happens (bounded lifetime). */
  readonly lifetimeSecondsMax: number;
  /** How long to wait for every member to report healthy. Default 30 000. */
  readonly startTimeoutMs?: number;
}

export interface EtcdCluster {
  /** One client URL per member, http://127.0.0.1:PORT. */
  readonly clientUrls: readonly string[];
  readonly dataRoot: string;
  /** The member that leads now (asked through /v3/maintenance/status). */
  leaderUrl(): Promise<string>;
  /** CPU seconds (user + system) the etcd processes have used so far, or null off Linux. */
  cpuSeconds(): number | null;
  /** SIGTERM, wait, SIGKILL what is left, remove the data. Idempotent. */
  stop(): Promise<void>;
}

/** etcd present, or installed (root in CI), or a message saying how to get it. */
export function ensureEtcd(path: string = ETCD_PATH_DEFAULT): boolean {
  if (existsSync(path)) return true;
  const root = process.getuid?.() === 0;
  if (path === ETCD_PATH_DEFAULT && process.env['CI'] === 'true' && root) {
    console.error('etcd: etcd missing; CI as root: apt-get install etcd-server');
    const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', timeout: 300_000 });
    const install = spawnSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (update.status === 0 && install.status === 0 && existsSync(path)) return true;
  }
  console.error(`etcd: ${path} not found. ${ETCD_INSTALL_HINT}`);
  return false;
}

/** A port nothing listens on now (the OS picks it); another process may take it before we do. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { health?: string };
    return response.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in these ticks (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of the children of `parentPid` (etcd under `timeout`), from /proc; null if unreadable. */
function childrenCpuSeconds(parentPid: number): number | null {
  try {
    const children = readFileSync(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    let ticks = 0;
    for (const pid of children) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at field 3 (state).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface Member {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  exited: boolean;
}

const running = new Set<Member>();
let exitHookInstalled = false;

/** Last resort at process exit: nothing can be awaited, so SIGTERM every member's group. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const member of running) signalGroup(member, 'SIGTERM');
  });
}

function signalGroup(member: Member, signal: NodeJS.Signals): void {
  if (member.exited || member.child.pid === undefined) return;
  try {
    // `timeout` leads its own process group, with etcd in it.
    process.kill(-member.child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopMember(member: Member, graceMs: number): Promise<void> {
  if (member.exited) return;
  const exited = new Promise<void>((resolve) => member.child.once('exit', () => resolve()));
  // SIGTERM to `timeout` alone: it forwards it to etcd, which shuts down cleanly.
  member.child.kill('SIGTERM');
  const timer = setTimeout(() => signalGroup(member, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startEtcdCluster(options: EtcdClusterOptions): Promise<EtcdCluster> {
  const etcdPath = options.etcdPath ?? ETCD_PATH_DEFAULT;
  if (!existsSync(etcdPath)) throw new EtcdMissingError(etcdPath);
  if (!Number.isInteger(options.members) || options.members < 1 || options.members > 7) throw new RangeError(`members must be 1 … 7, got ${options.members}`);
  if (!(options.lifetimeSecondsMax >= 1)) throw new RangeError(`lifetimeSecondsMax must be at least 1, got ${options.lifetimeSecondsMax}`);
  installExitHook();
  const dataRoot = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'raftbench-etcd-'));
  const ports = await Promise.all(Array.from({ length: options.members * 2 }, () => freePort()));
  if (new Set(ports).size !== ports.length) throw new Error('the OS gave the same free port twice; try again');
  const names = Array.from({ length: options.members }, (_, index) => `m${index}`);
  const peerUrl = (index: number): string => `http://127.0.0.1:${ports[2 * index + 1]}`;
  const clientUrls = names.map((_, index) => `http://127.0.0.1:${ports[2 * index]}`);
  const initialCluster = names.map((name, index) => `${name}=${peerUrl(index)}`).join(',');
  const members: Member[] = names.map((name, index) => {
    const memberDir = join(dataRoot, name);
    mkdirSync(memberDir);
    const logPath = join(dataRoot, `${name}.log`);
    const log = openSync(logPath, 'a');
    const args = [
      '--kill-after=5',
      String(Math.ceil(options.lifetimeSecondsMax)),
      etcdPath,
      `--name=${name}`,
      `--data-dir=${memberDir}`,
      `--listen-client-urls=${clientUrls[index]}`,
      `--advertise-client-urls=${clientUrls[index]}`,
      `--listen-peer-urls=${peerUrl(index)}`,
      `--initial-advertise-peer-urls=${peerUrl(index)}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=raftbench-${process.pid}-${ports[0]}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ];
    const child = spawn('timeout', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const member: Member = { name, child, logPath, exited: false };
    running.add(member);
    child.once('exit', () => {
      member.exited = true;
      running.delete(member);
    });
    return member;
  });
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(members.map((member) => stopMember(member, 10_000)));
      await rm(dataRoot, { recursive: true, force: true });
    })();
    return stopped;
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      const dead = members.find((member) => member.exited);
      if (dead !== undefined) throw new Error(`etcd member ${dead.name} exited during start-up:\n${logTail(dead.logPath)}`);
      const health = await Promise.all(clientUrls.map(healthy));
      if (health.every(Boolean)) break;
      if (Date.now() > deadline) {
        const sick = members.filter((_, index) => !health[index]);
        throw new Error(`etcd not healthy after ${options.startTimeoutMs ?? 30_000} ms (${sick.map((member) => member.name).join(', ')}):\n${sick.map((member) => logTail(member.logPath)).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const cpuSeconds = (): number | null => {
    let total = 0;
    for (const member of members) {
      const seconds = member.child.pid === undefined ? null : childrenCpuSeconds(member.child.pid);
      if (seconds === null) return null;
      total += seconds;
    }
    return total;
  };
  return { clientUrls, dataRoot, leaderUrl: () => leaderUrl(clientUrls), cpuSeconds, stop };
}

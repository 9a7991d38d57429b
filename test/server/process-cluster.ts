// Test support for node processes: free ports, spawning `raftbench node` (compiled CLI) with an IPC
// channel (so a node dies with the test run), and the admin endpoint as a small typed client.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const MAIN_SCRIPT = join('dist', 'src', 'cli', 'main.js');

export interface AdminStatus {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  readonly tls: boolean;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port B such that B … B+count−1 and B+100 … B+100+count−1 are free right now. */
export async function freePortBase(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let free = true;
    for (let k = 0; k < count && free; k++) free = (await portFree(base + k)) && (await portFree(base + 100 + k));
    if (free) return base;
  }
  throw new Error('no free port range found');
}

/** A profile file (fsync batched, 0.5 s election timeout: calm enough for a busy 2-core machine) in `dir`. */
export async function writeTestProfile(dir: string): Promise<string> {
  const path = join(dir, 'test-profile.json');
  await writeFile(path, JSON.stringify({ name: 'processes-test', cluster: { layout: 'processes' }, timing: { tickMs: 10, electionTicks: 50, heartbeatTicks: 5 }, storage: { fsync: 'batched' } }));
  return path;
}

/** Every child spawned, so `after` can kill what is left. */
export const spawned = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  spawned.clear();
}

/** Spawns the compiled CLI with `args`, with an IPC channel; collects its output lines. */
export function spawnCli(args: readonly string[], options: { detached?: boolean } = {}): { child: ChildProcess; lines: string[]; exited: Promise<number | string> } {
  const child = spawn(process.execPath, [MAIN_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: options.detached ?? false });
  spawned.add(child);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return { child, lines, exited };
}

/** Waits for an output line holding JSON with `event`; throws after `timeoutMs` with the output so far. */
export async function waitForEvent<T>(lines: readonly string[], event: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as { event?: string };
      if (parsed.event === event) return parsed as T;
    }
    if (Date.now() > deadline) throw new Error(`no '${event}' line within ${timeoutMs} ms; output:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function adminRequest<T>(admin: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://${admin}${path}`, {
    method,
    signal: AbortSignal.timeout(5_000),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

export async function statusOf(admin: string): Promise<AdminStatus | null> {
  try {
    return (await adminRequest<AdminStatus>(admin, 'GET', '/status')).body;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

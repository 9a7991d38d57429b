// Linearizable histories by construction: plan operations with intervals and a linearization
// point inside each, execute them in point order against a plain map (the reference store, kept
// independent of the checker's model), and record what each client would have seen. Versions are
// log indexes: every operation takes the next one, plus a planned gap for entries of other kinds.

import type { Operation } from '../../src/check/kv-history.js';
import type { Prng } from '../../src/random/prng.js';

export type Command =
  | { readonly type: 'put'; readonly key: string }
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'delete'; readonly key: string }
  /** `current`: expect the key's version (succeeds); `absent`: expect 0; `other`: a version it does not have. */
  | { readonly type: 'cas'; readonly key: string; readonly expect: 'current' | 'absent' | 'other' };

export interface PlannedOperation {
  readonly command: Command;
  readonly clientId: number;
  readonly callUs: number;
  /** Where it takes effect: callUs ≤ pointUs ≤ returnUs. */
  readonly pointUs: number;
  /** null: the response never comes. */
  readonly returnUs: number | null;
  /** Whether an operation without a response took effect anyway (at pointUs). */
  readonly applied: boolean;
  /** Log indexes taken by other entries just before this one. */
  readonly versionGap: number;
}

/** A write as applied, in apply order per key. */
export interface AppliedWrite {
  readonly historyIndex: number;
  readonly key: string;
  /** null for a delete. */
  readonly value: string | null;
  readonly version: number;
}

export interface Execution {
  readonly history: Operation[];
  readonly writes: AppliedWrite[];
}

export function execute(plan: readonly PlannedOperation[]): Execution {
  const store = new Map<string, { value: string; version: number }>();
  const history: Operation[] = new Array<Operation>(plan.length);
  const writes: AppliedWrite[] = [];
  const order = plan.map((_, index) => index).sort((a, b) => plan[a]!.pointUs - plan[b]!.pointUs || a - b);
  let logIndex = 0;
  for (const index of order) {
    const planned = plan[index]!;
    logIndex += 1 + planned.versionGap;
    const { command } = planned;
    const current = store.get(command.key);
    const takesEffect = planned.returnUs !== null || planned.applied;
    const timing = { clientId: planned.clientId, callUs: planned.callUs };
    const respond = <T>(output: T): { returnUs: number; output: T } | { returnUs: null; output: null } =>
      planned.returnUs === null ? { returnUs: null, output: null } : { returnUs: planned.returnUs, output };
    const value = `w${index}`;
    const applyWrite = (written: string | null): void => {
      if (!takesEffect) return;
      if (written === null) store.delete(command.key);
      else store.set(command.key, { value: written, version: logIndex });
      writes.push({ historyIndex: index, key: command.key, value: written, version: logIndex });
    };
    switch (command.type) {
      case 'put':
        applyWrite(value);
        history[index] = { ...timing, input: { type: 'put', key: command.key, value }, ...respond({ version: logIndex }) };
        break;
      case 'get':
        history[index] = {
          ...timing,
          input: { type: 'get', key: command.key },
          ...respond(current === undefined ? { found: false as const } : { found: true as const, value: current.value, version: current.version }),
        };
        break;
      case 'delete':
        if (current !== undefined) applyWrite(null);
        history[index] = {
          ...timing,
          input: { type: 'delete', key: command.key },
          ...respond(current === undefined ? { deleted: false as const } : { deleted: true as const, version: logIndex }),
        };
        break;
      case 'cas': {
        const currentVersion = current?.version ?? 0;
        const expectedVersion = command.expect === 'current' ? currentVersion : command.expect === 'absent' ? 0 : currentVersion + 1000;
        const ok = expectedVersion === currentVersion;
        if (ok) applyWrite(value);
        history[index] = {
          ...timing,
          input: { type: 'cas', key: command.key, expectedVersion, value },
          ...respond(ok ? { ok: true as const, version: logIndex } : { ok: false as const, currentVersion }),
        };
        break;
      }
    }
  }
  return { history, writes };
}

export interface ConcurrentHistoryShape {
  readonly operations: number;
  readonly keys: number;
  readonly clients: number;
  /** Chance that an operation gets no response (it then takes effect with probability 1/2). */
  readonly noResponseChance: number;
}

/** Closed-loop clients, each with one request in flight, 0.1–3 ms per request: a linearizable history. */
export function concurrentPlan(prng: Prng, shape: ConcurrentHistoryShape): PlannedOperation[] {
  const freeUs = new Array<number>(shape.clients).fill(0);
  const plan: PlannedOperation[] = [];
  for (let index = 0; index < shape.operations; index++) {
    const clientId = index % shape.clients;
    const callUs = freeUs[clientId]! + prng.nextInt(0, 500);
    const durationUs = prng.nextInt(100, 3000);
    const key = `k${prng.nextInt(0, shape.keys)}`;
    const roll = prng.nextInt(0, 10);
    const command: Command =
      roll < 4
        ? { type: 'get', key }
        : roll < 7
          ? { type: 'put', key }
          : roll < 8
            ? { type: 'delete', key }
            : { type: 'cas', key, expect: (['current', 'absent', 'other'] as const)[prng.nextInt(0, 3)]! };
    const responds = !prng.chance(shape.noResponseChance);
    plan.push({
      command,
      clientId: clientId + 1,
      callUs,
      pointUs: callUs + prng.nextInt(0, durationUs + 1),
      returnUs: responds ? callUs + durationUs : null,
      applied: responds || prng.chance(0.5),
      versionGap: prng.nextInt(0, 3),
    });
    freeUs[clientId] = callUs + durationUs;
  }
  return plan;
}

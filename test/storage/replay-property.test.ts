// Property: whatever sequence of appends (with conflict overwrites), snapshots (matching the log
// or conflicting with it), compactions and reopens the host performs, the store recovers exactly
// the log a simple in-memory model of the Raft log holds. Real files; small segments so that
// compaction really deletes files and replay really starts mid-history.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Storage } from '../../src/storage/storage.js';
import type { HardState } from '../../src/raft/types.js';
import { entryData, makeEntries, withTempDir } from './fixtures.js';

type Operation =
  | { readonly kind: 'append'; readonly back: number; readonly count: number; readonly bumpTerm: boolean }
  | { readonly kind: 'snapshot-local'; readonly position: number }
  | { readonly kind: 'snapshot-install'; readonly ahead: number; readonly matchLog: boolean }
  | { readonly kind: 'compact' }
  | { readonly kind: 'reopen' };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 12 }), bumpTerm: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot-local' as const), position: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot-install' as const), ahead: fc.integer({ min: -3, max: 5 }), matchLog: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

/** The Raft log as the host sees it: entries above the snapshot, by index → term. */
class Model {
  baseIndex = 0;
  baseTerm = 0;
  terms: number[] = []; // terms[i] is the term of index baseIndex + 1 + i
  term = 1;
  hardState: HardState = { term: 0, vote: 0, commit: 0 };

  lastIndex(): number {
    return this.baseIndex + this.terms.length;
  }
  termAt(index: number): number | null {
    if (index === this.baseIndex) return this.baseTerm;
    if (index <= this.baseIndex || index > this.lastIndex()) return null;
    return this.terms[index - this.baseIndex - 1]!;
  }
}

const OPTIONS = { fsync: 'batched' as const, segmentSizeBytes: 4096, snapshotsToKeep: 2, onWarning: () => undefined };

async function check(operations: readonly Operation[]): Promise<void> {
  await withTempDir(async (dir) => {
    const model = new Model();
    let { storage } = await Storage.open(dir, OPTIONS);
    const compare = (recoveredTerms: number[], label: string): void => {
      assert.deepEqual(recoveredTerms, model.terms, `${label}: entries (terms from index ${model.baseIndex + 1})`);
    };
    try {
      for (const operation of operations) {
        switch (operation.kind) {
          case 'append': {
            const first = Math.max(model.baseIndex + 1, model.lastIndex() + 1 - operation.back);
            if (operation.bumpTerm || first <= model.lastIndex()) model.term++;
            const entries = makeEntries(first, operation.count, model.term);
            model.hardState = { term: model.term, vote: 1, commit: model.baseIndex };
            await storage.append(entries, model.hardState);
            model.terms.length = first - model.baseIndex - 1;
            for (const entry of entries) model.terms.push(entry.term);
            break;
          }
          case 'snapshot-local': {
            if (model.terms.length === 0) break;
            const index = model.baseIndex + 1 + Math.min(model.terms.length - 1, Math.floor(operation.position * model.terms.length));
            const term = model.termAt(index)!;
            await storage.saveSnapshot({ index, term, config: { voters: [1, 2, 3] } }, (async function* () {
              yield new Uint8Array([index & 255]);
            })());
            model.terms = model.terms.slice(index - model.baseIndex);
            model.baseIndex = index;
            model.baseTerm = term;
            break;
          }
          case 'snapshot-install': {
            const index = Math.max(model.baseIndex + 1, model.lastIndex() + operation.ahead);
            const localTerm = model.termAt(index);
            const matches = operation.matchLog && localTerm !== null;
            if (!matches) model.term++;
            const term = matches ? localTerm : model.term;
            await storage.saveSnapshot({ index, term, config: { voters: [1, 2, 3] } }, (async function* () {
              yield new Uint8Array(3);
            })());
            model.terms = matches ? model.terms.slice(index - model.baseIndex) : [];
            model.baseIndex = index;
            model.baseTerm = term;
            break;
          }
          case 'compact':
            await storage.compact(model.baseIndex);
            break;
          case 'reopen': {
            await storage.close();
            const reopened = await Storage.open(dir, OPTIONS);
            storage = reopened.storage;
            compare(reopened.recovered.entries.map((entry) => entry.term), 'after reopen');
            assert.equal(reopened.recovered.snapshot?.index ?? 0, model.baseIndex);
            assert.deepEqual(reopened.recovered.hardState, model.hardState);
            break;
          }
        }
        assert.equal(storage.lastIndex(), model.lastIndex(), `lastIndex after ${operation.kind}`);
        assert.equal(storage.term(model.baseIndex), model.baseTerm);
      }
      await storage.close();
      const final = await Storage.open(dir, OPTIONS);
      storage = final.storage;
      compare(final.recovered.entries.map((entry) => entry.term), 'final reopen');
      for (const entry of final.recovered.entries) assert.deepEqual(entry.data, entryData(entry.index, entry.term));
      assert.equal(final.recovered.entries[0]?.index ?? model.baseIndex + 1, model.baseIndex + 1);
    } finally {
      await storage.close();
    }
  });
}

test('recovery equals the model log after any sequence of appends, overwrites, snapshots, compactions and reopens', async () => {
  await fc.assert(fc.asyncProperty(fc.array(operationArbitrary, { minLength: 1, maxLength: 40 }), check), { numRuns: 40, seed: 20261122 });
});

// Cost counters of a cell: what the run spent (fsyncs, bytes written, messages and bytes on the
// wire, appends and the entries they carried, proposal batches, compression), summed over the
// nodes between two snapshots of their counters and divided by the operations in between. With a
// fixed workload and seed these are deterministic enough for the regression gate to compare with a
// tight tolerance, unlike timings.

import type { NodeCountersSnapshot } from '../../server/node.js';
import type { Costs } from '../results/schema.js';

interface Totals {
  fsyncs: number;
  bytesWritten: number;
  messages: number;
  bytesOnWire: number;
  appendsWithEntries: number;
  entriesAppended: number;
  proposals: number;
  proposeCalls: number;
  logBytesRaw: number;
  logBytesStored: number;
  snapshotBytesRaw: number;
  snapshotBytesStored: number;
  readsByMode: Record<string, number>;
}

function totals(nodes: readonly NodeCountersSnapshot[]): Totals {
  const sum: Totals = {
    fsyncs: 0,
    bytesWritten: 0,
    messages: 0,
    bytesOnWire: 0,
    appendsWithEntries: 0,
    entriesAppended: 0,
    proposals: 0,
    proposeCalls: 0,
    logBytesRaw: 0,
    logBytesStored: 0,
    snapshotBytesRaw: 0,
    snapshotBytesStored: 0,
    readsByMode: {},
  };
  for (const node of nodes) {
    sum.fsyncs += node.storage?.syncs ?? 0;
    sum.bytesWritten += node.storage?.bytesWritten ?? 0;
    sum.logBytesRaw += node.storage?.payloadBytesRaw ?? 0;
    sum.logBytesStored += node.storage?.payloadBytesStored ?? 0;
    sum.messages += node.transport.messagesSent;
    sum.bytesOnWire += node.transport.bytesSent;
    sum.appendsWithEntries += node.appendsSent;
    sum.entriesAppended += node.entriesSent;
    sum.proposals += node.proposals;
    sum.proposeCalls += node.proposeCalls;
    sum.snapshotBytesRaw += node.snapshotBytesRaw;
    sum.snapshotBytesStored += node.snapshotBytesStored;
    for (const [mode, count] of Object.entries(node.readsServed)) sum.readsByMode[mode] = (sum.readsByMode[mode] ?? 0) + count;
    sum.readsByMode['lease (served by lease)'] = (sum.readsByMode['lease (served by lease)'] ?? 0) + node.readsLease;
  }
  return sum;
}

const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 0 : numerator / denominator);

/** The costs between `before` and `after` (counter snapshots of every node), for `operations` operations. */
export function costsBetween(before: readonly NodeCountersSnapshot[], after: readonly NodeCountersSnapshot[], operations: number): Costs {
  const start = totals(before);
  const end = totals(after);
  const delta = (pick: (t: Totals) => number): number => pick(end) - pick(start);
  const readsByMode: Record<string, number> = {};
  for (const [mode, count] of Object.entries(end.readsByMode)) {
    const value = count - (start.readsByMode[mode] ?? 0);
    if (value > 0) readsByMode[mode] = value;
  }
  const fsyncs = delta((t) => t.fsyncs);
  const bytesWritten = delta((t) => t.bytesWritten);
  const messages = delta((t) => t.messages);
  const bytesOnWire = delta((t) => t.bytesOnWire);
  const appendsWithEntries = delta((t) => t.appendsWithEntries);
  const entriesAppended = delta((t) => t.entriesAppended);
  const proposals = delta((t) => t.proposals);
  const proposeCalls = delta((t) => t.proposeCalls);
  const logBytesRaw = delta((t) => t.logBytesRaw);
  const logBytesStored = delta((t) => t.logBytesStored);
  const snapshotBytesRaw = delta((t) => t.snapshotBytesRaw);
  const snapshotBytesStored = delta((t) => t.snapshotBytesStored);
  return {
    operations,
    fsyncs,
    bytesWritten,
    messages,
    bytesOnWire,
    appendsWithEntries,
    entriesAppended,
    proposals,
    proposeCalls,
    logBytesRaw,
    logBytesStored,
    snapshotBytesRaw,
    snapshotBytesStored,
    readsByMode,
    perOperation: {
      fsyncs: ratio(fsyncs, operations),
      bytesWritten: ratio(bytesWritten, operations),
      messages: ratio(messages, operations),
      bytesOnWire: ratio(bytesOnWire, operations),
    },
    entriesPerAppend: ratio(entriesAppended, appendsWithEntries),
    proposalsPerBatch: ratio(proposals, proposeCalls),
    logCompressionRatio: ratio(logBytesRaw, logBytesStored),
    snapshotCompressionRatio: ratio(snapshotBytesRaw, snapshotBytesStored),
  };
}

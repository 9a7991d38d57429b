// GET /metrics: the node's counters in Prometheus' text exposition format (version 0.0.4), plus the
// client APIs' own. Counter names end in _total; the Raft position is gauges. Written by hand:
// the format is a few lines of text per metric, not worth a run-time dependency.

import type { NodeCountersSnapshot } from '../server/node.js';
import type { BinaryServerCounters } from './binary-server.js';
import type { ServedNode } from './served-node.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: 'counter' | 'gauge', help: string, samples: readonly (readonly [Labels, number])[]): void {
    this.lines.push(`# HELP raftbench_${name} ${help}`, `# TYPE raftbench_${name} ${type}`);
    for (const [labels, value] of samples) this.lines.push(`raftbench_${name}${labelText(labels)} ${formatValue(value)}`);
  }

  one(name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.metric(name, type, help, [[{}, value]]);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Node counters that are plain numbers: metric name (without _total) and help. */
const NODE_COUNTERS: readonly (readonly [keyof NodeCountersSnapshot, string, string])[] = [
  ['proposals', 'proposals', 'Client commands proposed to the log.'],
  ['proposeCalls', 'propose_calls', 'propose() calls that carried them (proposals / calls = batch size).'],
  ['proposalsRefused', 'proposals_refused', 'Proposals refused (not leader, overloaded).'],
  ['readies', 'readies', 'Readies handled by the host loop.'],
  ['appendsSent', 'appends_sent', 'AppendEntries sent that carried entries.'],
  ['entriesSent', 'entries_sent', 'Entries carried by the AppendEntries sent.'],
  ['entriesApplied', 'entries_applied', 'Entries applied to the state machine.'],
  ['applyBatches', 'apply_batches', 'Batches the entries were applied in.'],
  ['readsLease', 'reads_lease', 'Reads granted from the leader lease.'],
  ['snapshotsTaken', 'snapshots_taken', 'Snapshots taken.'],
  ['snapshotsInstalled', 'snapshots_installed', 'Snapshots installed from a leader.'],
  ['snapshotsSent', 'snapshots_sent', 'Snapshots sent to followers.'],
  ['snapshotBytesRaw', 'snapshot_bytes_raw', 'Snapshot bytes before compression.'],
  ['snapshotBytesStored', 'snapshot_bytes_stored', 'Snapshot bytes after compression.'],
  ['storageFailures', 'storage_failures', 'Storage failures (the node went down to recover).'],
];

export interface ApiCounters {
  readonly http: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly binary: BinaryServerCounters | null;
}

export function metricsText(node: ServedNode, api: ApiCounters): string {
  const out = new Exposition();
  const status = node.status();
  const counters = node.counterSnapshot();
  out.one('up', 'gauge', '1 while the node runs, 0 while it is stopped or recovering.', status === null ? 0 : 1);
  out.one('is_leader', 'gauge', '1 on the leader.', status?.role === 'leader' ? 1 : 0);
  out.one('term', 'gauge', 'The current Raft term.', status?.term ?? 0);
  out.one('leader_id', 'gauge', 'The leader this node knows (0: none).', status?.leader ?? 0);
  out.one('commit_index', 'gauge', 'The highest log index known committed.', status?.commit ?? 0);
  out.one('applied_index', 'gauge', 'The highest log index applied.', status?.applied ?? 0);
  out.one('last_index', 'gauge', 'The last index in the log.', status?.lastIndex ?? 0);
  for (const [field, name, help] of NODE_COUNTERS) out.one(`${name}_total`, 'counter', help, counters[field] as number);
  out.metric(
    'reads_served_total',
    'counter',
    'Reads served outside the log, by read mode.',
    Object.entries(counters.readsServed).map(([mode, value]) => [{ mode }, value] as const),
  );
  const storage = counters.storage;
  if (storage !== null) {
    out.one('storage_appends_total', 'counter', 'WAL append calls.', storage.appends);
    out.one('storage_records_total', 'counter', 'WAL records written.', storage.records);
    out.one('storage_entries_total', 'counter', 'Entries written to the WAL.', storage.entries);
    out.one('storage_payload_bytes_raw_total', 'counter', 'WAL payload bytes before compression.', storage.payloadBytesRaw);
    out.one('storage_payload_bytes_stored_total', 'counter', 'WAL payload bytes after compression.', storage.payloadBytesStored);
    out.one('storage_bytes_written_total', 'counter', 'Bytes written to WAL files.', storage.bytesWritten);
    out.one('storage_syncs_total', 'counter', 'fsyncs of WAL segments.', storage.syncs);
    out.metric('storage_sync_latency_us', 'gauge', 'fsync latency quantiles since start, in microseconds.', [
      [{ quantile: '0.5' }, storage.syncLatencyUs.p50],
      [{ quantile: '0.99' }, storage.syncLatencyUs.p99],
      [{ quantile: '1' }, storage.syncLatencyUs.max],
    ]);
  }
  const transport = counters.transport;
  out.one('transport_messages_sent_total', 'counter', 'Raft messages sent.', transport.messagesSent);
  out.one('transport_bytes_sent_total', 'counter', 'Encoded bytes of the Raft messages sent.', transport.bytesSent);
  out.one('transport_messages_dropped_total', 'counter', 'Raft messages dropped (peer unreachable, queue full).', transport.messagesDropped);
  out.metric(
    'transport_messages_sent_by_type_total',
    'counter',
    'Raft messages sent, by type.',
    Object.entries(transport.messagesByType).map(([type, value]) => [{ type }, value] as const),
  );
  const httpSamples: [Labels, number][] = [];
  for (const [route, byStatus] of api.http) for (const [code, value] of byStatus) httpSamples.push([{ route, code: String(code) }, value]);
  out.metric('http_requests_total', 'counter', 'HTTP API requests answered, by route and status.', httpSamples);
  if (api.binary !== null) {
    out.one('binary_connections_opened_total', 'counter', 'Binary API connections accepted.', api.binary.connectionsOpened);
    out.one('binary_connections_open', 'gauge', 'Binary API connections open now.', api.binary.connectionsOpen);
    out.one('binary_connections_refused_total', 'counter', 'Binary API connections closed for a malformed frame.', api.binary.connectionsRefused);
    out.one('binary_requests_total', 'counter', 'Binary API requests passed to the node.', api.binary.requests);
    out.one('binary_replies_total', 'counter', 'Binary API replies sent.', api.binary.replies);
  }
  return out.text();
}

// Scenario scripts: a scenario is a list of rows ({ do: 'isolate', node: 'L1' }, { do: 'expect-leader',
// not: 'L1' }, …) interpreted by one runner, in the spirit of etcd's datadriven tests, so a reader
// sees the protocol's behaviour without reading harness code.
//
// Nodes are named in rows by number (a node id) or by a name an earlier row bound ('as'), or by
// 'leader' (the live leader of the highest term, which must exist). Fault rows also take
// 'random' (any node), 'random-up', 'random-down' and 'random-isolated' (a seeded pick; the row
// does nothing when no node qualifies). Proposals are grouped by a
// tag so later rows can ask whether that group committed, was lost, or is everywhere.

import type { MessageType, NodeId } from '../raft/types.js';
import { SimCluster, type ClusterStats, type Proposal, type SyncCrashTarget } from './cluster.js';
import { clusterOptions, DEFAULT_SWITCHES, type ClusterOptions, type RaftSwitches } from './cluster-options.js';
import { awaitConvergence, awaitLeaderAndCommit } from './liveness.js';
import { RELIABLE_NETWORK, type NetworkFaults } from './network.js';
import { formatRecord } from './trace.js';
import { HistoryRecorder, simEndpoints } from './clients.js';
import { SimNodeRuntime } from './runtime.js';
import { KvClient, type ClientResult, type ClientOptions } from '../client/client.js';
import type { NodeReply } from '../server/node.js';
import type { ReadMode } from '../server/node-options.js';

export type NodeRef = number | string;

export type Step =
  /** Let simulated time pass. */
  | { readonly do: 'run'; readonly ms: number }
  /** Let a seeded random time pass: [minMs, maxMs], or with `longChance` up to `longMaxMs`. */
  | { readonly do: 'run-random'; readonly minMs: number; readonly maxMs: number; readonly longChance?: number; readonly longMaxMs?: number }
  /** Run until a leader exists that satisfies `not`/`is`/`among`; bind it to `as`. */
  | { readonly do: 'expect-leader'; readonly withinMs: number; readonly as?: string; readonly not?: NodeRef | readonly NodeRef[]; readonly is?: NodeRef; readonly among?: readonly NodeRef[] }
  /** For `forMs`, checked after every event, none of `among` is leader. */
  | { readonly do: 'expect-no-leader'; readonly among: readonly NodeRef[]; readonly forMs: number }
  /** The current leader's term stays the same for `forMs` (no needless elections). */
  | { readonly do: 'expect-stable-leader'; readonly forMs: number }
  | { readonly do: 'isolate'; readonly node: NodeRef }
  | { readonly do: 'reconnect'; readonly node: NodeRef }
  | { readonly do: 'partition'; readonly groups: readonly (readonly NodeRef[])[] }
  /** Cut the one-way link from → to (messages the other way still flow). */
  | { readonly do: 'cut'; readonly from: NodeRef; readonly to: NodeRef }
  | { readonly do: 'heal' }
  /**
   * While on, every AppendEntries arrives without the entries of its sender's current term (a
   * suffix: terms never decrease along a log); one left with no entries still arrives, as a probe.
   * Figure 8's forced sequence: only old-term entries move.
   */
  | { readonly do: 'strip-own-term-entries'; readonly on: boolean }
  | { readonly do: 'network'; readonly faults: Partial<NetworkFaults> }
  | { readonly do: 'crash'; readonly node: NodeRef | 'all' }
  /**
   * Crash `node` (or any node) between writing a Ready of `target` shape (default 'any') and its
   * fsync completing: at once if it is syncing one now, else when it next writes one within
   * `withinMs` (the row returns at once; later rows make the Ready happen). `cut`: what survives
   * of the unsynced writes — 'seeded' (the cluster's torn-write setting, the default), 'torn'
   * (always a seeded prefix), 'drop-hard-state' (the entries survive, the hard state does not).
   */
  | {
      readonly do: 'crash-during-sync';
      readonly node: NodeRef | 'any';
      readonly withinMs: number;
      readonly target?: SyncCrashTarget;
      readonly cut?: 'seeded' | 'torn' | 'drop-hard-state';
      readonly restartAfterMs?: number;
    }
  /** Run until `node` is down; fail if it is still up after `withinMs`. */
  | { readonly do: 'expect-down'; readonly node: NodeRef; readonly withinMs: number }
  | { readonly do: 'restart'; readonly node: NodeRef | 'all' }
  /** Bind `as` names to distinct random nodes, from all nodes or only the live followers / not `except`. */
  | { readonly do: 'pick'; readonly as: readonly string[]; readonly except?: readonly NodeRef[] }
  /**
   * Submit `count` proposals: to the leader, to a named node, to every live node, or to random
   * nodes. `acceptedAs` names the node that accepted the last one (or nobody: fault rows on that
   * name then do nothing).
   */
  /** `count` proposals to `via` (default the leader), one call each — or, with `batch`, one call for all. */
  | {
      readonly do: 'propose';
      readonly count: number;
      readonly tag: string;
      readonly via?: NodeRef | 'each-up' | 'random';
      readonly required?: boolean;
      readonly acceptedAs?: string;
      readonly batch?: boolean;
    }
  /** Within `withinMs`, every accepted proposal of `tag` is applied on `on` (default: every live node). */
  | { readonly do: 'expect-committed'; readonly tag: string; readonly withinMs: number; readonly on?: readonly NodeRef[] }
  /** No proposal of `tag` is applied on any live node (now). */
  | { readonly do: 'expect-not-applied'; readonly tag: string }
  /** Every proposal of `tag` was accepted (a leader took it). */
  | { readonly do: 'expect-accepted'; readonly tag: string; readonly count: number }
  /** Rejected appends since `since` are at most `atMost`; record the count as `label`. */
  | { readonly do: 'expect-append-rejections'; readonly since: string; readonly atMost: number; readonly label: string }
  /**
   * AppendEntries carrying entries since `since` are at most `atMost`; records their count as
   * `label` and the entries they carried per message as `label (entries per append)`.
   */
  | { readonly do: 'expect-appends'; readonly since: string; readonly atMost: number; readonly label: string }
  /** A put through the scenario's client (sessions, leader discovery, retries); must succeed within `withinMs`. */
  /** A put through the scenario's client (which finds the leader), or `via` one node only (its own client). */
  | { readonly do: 'kv-put'; readonly key: string; readonly withinMs: number; readonly via?: NodeRef }
  /**
   * A get sent straight to one node in `mode` (no retries). `served`: it must answer within
   * `withinMs`; `not-served`: it must not answer with a value within `withinMs` (it may fail, or
   * still be waiting — then it is recorded when it ends). Every answer goes into the history.
   */
  | { readonly do: 'kv-get'; readonly via: NodeRef; readonly mode: ReadMode; readonly key: string; readonly expect: 'served' | 'not-served' | 'either'; readonly withinMs: number }
  /** The history of kv-put and kv-get rows is linearizable. */
  | { readonly do: 'expect-linearizable' }
  /** Reads answered from a lease since `since`: at least / at most this many. */
  | { readonly do: 'expect-lease-reads'; readonly since: string; readonly atLeast?: number; readonly atMost?: number }
  /** Remember the message counters under `name`. */
  | { readonly do: 'mark'; readonly name: string }
  /** Messages (of `types`, default all) since `since` are at most `atMost`; record the count as `label`. */
  | { readonly do: 'expect-messages'; readonly since: string; readonly atMost: number; readonly label: string; readonly types?: readonly MessageType[] }
  | { readonly do: 'transfer'; readonly to: NodeRef }
  | { readonly do: 'compact'; readonly node: NodeRef | 'all' }
  /** Heal, restart every crashed node, reach liveness, converge, and check every acknowledged value is everywhere. */
  | { readonly do: 'expect-agreement' }
  | { readonly do: 'expect'; readonly that: string; readonly holds: (view: ScenarioView) => boolean }
  | { readonly do: 'repeat'; readonly times: number; readonly steps: readonly Step[] }
  | { readonly do: 'maybe'; readonly chance: number; readonly steps: readonly Step[] }
  /** Crash the leader, if there is one. */
  | { readonly do: 'crash-leader' }
  /** Cut the leader off, if there is one. */
  | { readonly do: 'isolate-leader' }
  /** Reconnect random isolated nodes until a majority is connected. */
  | { readonly do: 'reconnect-until-majority' }
  /** Restart random crashed nodes until a majority is up. */
  | { readonly do: 'restart-until-majority' };

export interface ScenarioSetup {
  readonly seed: number;
  readonly nodes: number;
  readonly raft?: Partial<RaftSwitches>;
  readonly network?: Partial<NetworkFaults>;
  readonly cluster?: Partial<Omit<ClusterOptions, 'seed' | 'nodeCount' | 'raft' | 'network'>>;
}

/** What `expect` rows and tests may read. */
export interface ScenarioView {
  readonly cluster: SimCluster;
  node(ref: NodeRef): NodeId;
  proposals(tag: string): readonly Proposal[];
  readonly measurements: ReadonlyMap<string, number>;
}

export interface ScenarioResult {
  readonly name: string;
  readonly seed: number;
  readonly measurements: ReadonlyMap<string, number>;
  readonly stats: ClusterStats;
  readonly simulatedMs: number;
  readonly digest: string;
  readonly cluster: SimCluster;
}

export class ScenarioFailure extends Error {
  override readonly name = 'ScenarioFailure';
}

class ScenarioRun implements ScenarioView {
  readonly names = new Map<string, NodeId>();
  readonly tags = new Map<string, Proposal[]>();
  readonly marks = new Map<string, { readonly total: number; readonly rejections: number; readonly appends: number; readonly entries: number; readonly leaseReads: number; readonly byType: Record<MessageType, number> }>();
  private readonly history: HistoryRecorder;
  private kvClient: KvClient | null = null;
  private readonly kvClientsVia = new Map<NodeId, KvClient>();
  private readonly pendingReads: Promise<unknown>[] = [];
  readonly measurements = new Map<string, number>();
  readonly isolated = new Set<NodeId>();

  constructor(readonly cluster: SimCluster) {
    this.history = new HistoryRecorder(cluster);
  }

  private client(): KvClient {
    if (this.kvClient === null) this.kvClient = this.newClient(simEndpoints(this.cluster));
    return this.kvClient;
  }

  private clientVia(node: NodeId): KvClient {
    let client = this.kvClientsVia.get(node);
    if (client === undefined) {
      client = this.newClient([simEndpoints(this.cluster)[node - 1]!]);
      this.kvClientsVia.set(node, client);
    }
    return client;
  }

  private newClient(endpoints: ClientOptions['endpoints']): KvClient {
    return new KvClient({
        endpoints,
        readMode: 'log',
        requestTimeoutMs: 5_000,
        backoffMsMin: 1,
        backoffMsMax: 50,
        runtime: new SimNodeRuntime(this.cluster, 0, 1),
        prng: this.cluster.schedulePrng.fork(),
      });
  }

  node(ref: NodeRef): NodeId {
    if (typeof ref === 'number') {
      if (!this.cluster.nodeIds.includes(ref)) throw new ScenarioFailure(`no node ${ref}`);
      return ref;
    }
    if (ref === 'leader') {
      const leader = this.cluster.leader();
      if (leader === 0) throw new ScenarioFailure('the row names "leader" but no node is leader');
      return leader;
    }
    const id = this.names.get(ref);
    if (id === undefined) throw new ScenarioFailure(`name "${ref}" was not bound by an earlier row`);
    if (id === 0) throw new ScenarioFailure(`name "${ref}" is bound to no node`);
    return id;
  }

  proposals(tag: string): readonly Proposal[] {
    return this.tags.get(tag) ?? [];
  }

  /** Resolves random picks too; 0 when a random pick finds no qualifying node. */
  private optionalNode(ref: NodeRef): NodeId {
    const cluster = this.cluster;
    const pool =
      ref === 'random' ? cluster.nodeIds
      : ref === 'random-up' ? this.liveNodes()
      : ref === 'random-down' ? cluster.nodeIds.filter((node) => !cluster.isUp(node))
      : ref === 'random-isolated' ? [...this.isolated]
      : null;
    if (pool === null) return typeof ref === 'string' && this.names.get(ref) === 0 ? 0 : this.node(ref);
    return pool.length === 0 ? 0 : this.randomOf(pool);
  }

  private liveNodes(): NodeId[] {
    return this.cluster.nodeIds.filter((node) => this.cluster.isUp(node));
  }

  private randomOf(nodes: readonly NodeId[]): NodeId {
    return nodes[this.cluster.schedulePrng.nextInt(0, nodes.length)]!;
  }

  private applyIsolation(): void {
    this.cluster.heal();
    for (const node of this.isolated) this.cluster.isolate(node);
  }

  private bind(name: string | undefined, node: NodeId): void {
    if (name !== undefined) this.names.set(name, node);
  }

  async execute(step: Step): Promise<void> {
    const cluster = this.cluster;
    switch (step.do) {
      case 'run':
        await cluster.runFor(step.ms * 1000);
        return;
      case 'run-random': {
        const prng = cluster.schedulePrng;
        const long = step.longChance !== undefined && prng.chance(step.longChance);
        const maxMs = long ? (step.longMaxMs ?? step.maxMs) : step.maxMs;
        await cluster.runFor(prng.nextInt(step.minMs * 1000, maxMs * 1000 + 1));
        return;
      }
      case 'expect-leader': {
        const not = (step.not === undefined ? [] : Array.isArray(step.not) ? step.not : [step.not]).map((ref: NodeRef) => this.node(ref));
        const is = step.is === undefined ? 0 : this.node(step.is);
        const among = step.among?.map((ref) => this.node(ref));
        const fits = (): boolean => {
          const leader = cluster.leader();
          return leader !== 0 && !not.includes(leader) && (is === 0 || leader === is) && (among === undefined || among.includes(leader));
        };
        if (!(await cluster.runUntil(fits, step.withinMs * 1000))) {
          throw new ScenarioFailure(`no fitting leader within ${step.withinMs} ms (current leader: ${cluster.leader() || 'none'})`);
        }
        this.bind(step.as, cluster.leader());
        return;
      }
      case 'expect-no-leader': {
        const among = step.among.map((ref) => this.node(ref));
        const leaderAmong = (): boolean => among.some((node) => cluster.isUp(node) && cluster.nodeView(node).role === 'leader');
        if (await cluster.runUntil(leaderAmong, step.forMs * 1000)) {
          const leader = among.find((node) => cluster.nodeView(node).role === 'leader')!;
          throw new ScenarioFailure(`node ${leader} became leader (term ${cluster.nodeView(leader).term}) without a quorum`);
        }
        return;
      }
      case 'expect-stable-leader': {
        const leader = this.node('leader');
        const term = cluster.nodeView(leader).term;
        const changed = (): boolean => cluster.leader() !== leader || cluster.nodeView(leader).term !== term;
        if (await cluster.runUntil(changed, step.forMs * 1000)) {
          throw new ScenarioFailure(`leadership changed from node ${leader} (term ${term}) to ${cluster.leader() || 'none'} on a reliable network`);
        }
        return;
      }
      case 'isolate': {
        const node = this.optionalNode(step.node);
        if (node === 0) return;
        this.isolated.add(node);
        this.applyIsolation();
        return;
      }
      case 'reconnect': {
        const node = this.optionalNode(step.node);
        if (node === 0) return;
        this.isolated.delete(node);
        this.applyIsolation();
        return;
      }
      case 'partition':
        this.isolated.clear();
        cluster.partition(step.groups.map((group) => group.map((ref) => this.node(ref))));
        return;
      case 'cut':
        cluster.cut(this.node(step.from), this.node(step.to));
        return;
      case 'heal':
        this.isolated.clear();
        cluster.heal();
        return;
      case 'strip-own-term-entries':
        cluster.network.rewrite = step.on
          ? (message) => (message.type === 'AppendEntries' && message.entries.some((entry) => entry.term === message.term) ? { ...message, entries: message.entries.filter((entry) => entry.term !== message.term) } : message)
          : null;
        return;
      case 'network':
        cluster.setNetworkFaults({ ...cluster.network.currentFaults, ...step.faults });
        return;
      case 'crash':
        if (step.node === 'all') {
          for (const node of this.liveNodes()) cluster.crash(node);
        } else {
          const node = this.optionalNode(step.node);
          if (node !== 0) cluster.crash(node);
        }
        return;
      case 'crash-during-sync': {
        const nodes = step.node === 'any' ? cluster.nodeIds : [this.node(step.node)];
        const cut = step.cut ?? 'seeded';
        cluster.crashDuringSync({
          nodes,
          target: step.target ?? 'any',
          withinUs: step.withinMs * 1000,
          cut:
            cut === 'drop-hard-state' ? { kind: 'drop-last-write' }
            : { kind: 'seeded', tornProbability: cut === 'torn' ? 1 : cluster.options.tornWriteProbability },
          restartAfterUs: step.restartAfterMs === undefined ? null : step.restartAfterMs * 1000,
        });
        return;
      }
      case 'expect-down': {
        const node = this.node(step.node);
        if (!(await cluster.runUntil(() => !cluster.isUp(node), step.withinMs * 1000))) {
          throw new ScenarioFailure(`node ${node} still up after ${step.withinMs} ms`);
        }
        return;
      }
      case 'restart':
        if (step.node === 'all') {
          for (const node of cluster.nodeIds) if (!cluster.isUp(node)) cluster.restart(node);
        } else {
          const node = this.optionalNode(step.node);
          if (node !== 0) cluster.restart(node);
        }
        return;
      case 'pick': {
        const except = new Set((step.except ?? []).map((ref) => this.node(ref)));
        const candidates = cluster.nodeIds.filter((node) => !except.has(node));
        if (candidates.length < step.as.length) throw new ScenarioFailure(`cannot pick ${step.as.length} nodes from ${candidates.length}`);
        for (const name of step.as) {
          const node = this.randomOf(candidates);
          candidates.splice(candidates.indexOf(node), 1);
          this.names.set(name, node);
        }
        return;
      }
      case 'propose': {
        let list = this.tags.get(step.tag);
        if (list === undefined) {
          list = [];
          this.tags.set(step.tag, list);
        }
        if (step.acceptedAs !== undefined) this.names.set(step.acceptedAs, 0);
        if (step.batch === true) {
          const target = this.node(step.via === undefined || step.via === 'each-up' || step.via === 'random' ? 'leader' : step.via);
          const outcome = await cluster.proposeBatch(target, step.count);
          if (!outcome.ok) throw new ScenarioFailure(`node ${target} refused a batch of ${step.count}: ${outcome.reason} (leader hint ${outcome.leader})`);
          list.push(...outcome.proposals);
          if (step.acceptedAs !== undefined) this.names.set(step.acceptedAs, target);
          return;
        }
        for (let k = 0; k < step.count; k++) {
          const via = step.via ?? 'leader';
          const targets =
            via === 'each-up' ? this.liveNodes() : via === 'random' ? [this.randomOf(cluster.nodeIds)] : via === 'leader' && cluster.leader() === 0 && step.required === false ? [] : [this.node(via)];
          for (const target of targets) {
            const outcome = await cluster.propose(target);
            if (outcome.ok) {
              list.push(outcome.proposal);
              if (step.acceptedAs !== undefined) this.names.set(step.acceptedAs, target);
            }
            else if (via !== 'each-up' && via !== 'random' && step.required !== false) {
              throw new ScenarioFailure(`node ${target} refused a proposal: ${outcome.reason} (leader hint ${outcome.leader})`);
            }
          }
        }
        return;
      }
      case 'expect-committed': {
        const proposals = this.proposals(step.tag);
        const on = step.on?.map((ref) => this.node(ref));
        const everywhere = (): boolean =>
          proposals.every((proposal) => (on ?? this.liveNodes()).every((node) => cluster.isUp(node) && cluster.hasApplied(node, proposal.payloadId)));
        if (!(await cluster.runUntil(everywhere, step.withinMs * 1000))) {
          const missing = proposals.filter((proposal) => !(on ?? this.liveNodes()).every((node) => cluster.hasApplied(node, proposal.payloadId)));
          throw new ScenarioFailure(
            `${missing.length} of ${proposals.length} "${step.tag}" proposals not applied on nodes ${(on ?? this.liveNodes()).join(',')} within ${step.withinMs} ms ` +
              `(first missing #${missing[0]!.payloadId} at ${missing[0]!.index}/t${missing[0]!.term})`,
          );
        }
        return;
      }
      case 'expect-not-applied': {
        for (const proposal of this.proposals(step.tag)) {
          for (const node of this.liveNodes()) {
            if (cluster.hasApplied(node, proposal.payloadId)) {
              throw new ScenarioFailure(`"${step.tag}" proposal #${proposal.payloadId} (${proposal.index}/t${proposal.term}) was applied on node ${node}`);
            }
          }
        }
        return;
      }
      case 'expect-accepted': {
        const accepted = this.proposals(step.tag).length;
        if (accepted !== step.count) throw new ScenarioFailure(`${accepted} "${step.tag}" proposals accepted, expected ${step.count}`);
        return;
      }
      case 'mark':
        this.marks.set(step.name, {
          total: cluster.stats.messagesSent,
          rejections: cluster.stats.appendRejections,
          appends: cluster.stats.appendsWithEntries,
          entries: cluster.stats.entriesAppended,
          leaseReads: cluster.stats.leaseReads,
          byType: { ...cluster.stats.messagesByType },
        });
        return;
      case 'expect-messages': {
        const mark = this.marks.get(step.since);
        if (mark === undefined) throw new ScenarioFailure(`no mark "${step.since}"`);
        const now = cluster.stats.messagesByType;
        const count =
          step.types === undefined ? cluster.stats.messagesSent - mark.total : step.types.reduce((sum, type) => sum + now[type] - mark.byType[type], 0);
        this.measurements.set(step.label, count);
        if (count > step.atMost) throw new ScenarioFailure(`${step.label}: ${count} messages, bound ${step.atMost}`);
        return;
      }
      case 'expect-appends': {
        const mark = this.marks.get(step.since);
        if (mark === undefined) throw new ScenarioFailure(`no mark "${step.since}"`);
        const appends = cluster.stats.appendsWithEntries - mark.appends;
        const entries = cluster.stats.entriesAppended - mark.entries;
        this.measurements.set(step.label, appends);
        this.measurements.set(`${step.label} (entries per append)`, appends === 0 ? 0 : entries / appends);
        if (appends > step.atMost) throw new ScenarioFailure(`${step.label}: ${appends} appends with entries, bound ${step.atMost}`);
        return;
      }
      case 'kv-put': {
        let done: ClientResult | null = null;
        const value = this.history.freshValue(0);
        const client = step.via === undefined ? this.client() : this.clientVia(this.node(step.via));
        void this.history.put(client, 0, step.key, value).then((result) => (done = result));
        if (!(await cluster.runUntil(() => done !== null, step.withinMs * 1000))) throw new ScenarioFailure(`put ${step.key} not answered within ${step.withinMs} ms`);
        const result = done as ClientResult | null;
        if (result === null || !result.ok) throw new ScenarioFailure(`put ${step.key} failed: ${result === null ? 'no answer' : result.reason}`);
        return;
      }
      case 'kv-get': {
        const node = this.node(step.via);
        let reply: NodeReply | null = null;
        const endpoint = simEndpoints(cluster)[node - 1]!;
        const pending = this.history.getFrom(endpoint, node, step.key, step.mode).then((answer) => (reply = answer));
        this.pendingReads.push(pending);
        await cluster.runUntil(() => reply !== null, step.withinMs * 1000);
        const answered = reply as NodeReply | null;
        const served = answered !== null && answered.ok;
        if (step.expect === 'served' && !served) {
          throw new ScenarioFailure(`a ${step.mode} read of ${step.key} on node ${node} was not served within ${step.withinMs} ms${answered !== null && !answered.ok ? `: ${answered.error}: ${answered.reason}` : ''}`);
        }
        if (step.expect === 'not-served' && served) throw new ScenarioFailure(`a ${step.mode} read of ${step.key} on node ${node} was served; it must not be`);
        return;
      }
      case 'expect-linearizable': {
        const result = this.history.check();
        if (result.ok === false) throw new ScenarioFailure(`the history is not linearizable: ${result.explanation}`);
        if (result.ok === 'unknown') throw new ScenarioFailure(`the checker could not decide: ${result.reason}`);
        if (this.history.operations().length === 0) throw new ScenarioFailure('the history is empty');
        return;
      }
      case 'expect-lease-reads': {
        const mark = this.marks.get(step.since);
        if (mark === undefined) throw new ScenarioFailure(`no mark "${step.since}"`);
        const count = cluster.stats.leaseReads - mark.leaseReads;
        this.measurements.set(`lease reads since ${step.since}`, count);
        if (step.atLeast !== undefined && count < step.atLeast) throw new ScenarioFailure(`${count} lease reads since "${step.since}", expected at least ${step.atLeast}`);
        if (step.atMost !== undefined && count > step.atMost) throw new ScenarioFailure(`${count} lease reads since "${step.since}", expected at most ${step.atMost}`);
        return;
      }
      case 'expect-append-rejections': {
        const mark = this.marks.get(step.since);
        if (mark === undefined) throw new ScenarioFailure(`no mark "${step.since}"`);
        const count = cluster.stats.appendRejections - mark.rejections;
        this.measurements.set(step.label, count);
        if (count > step.atMost) throw new ScenarioFailure(`${step.label}: ${count} rejected appends, bound ${step.atMost}`);
        return;
      }
      case 'transfer': {
        const leader = this.node('leader');
        const to = this.node(step.to);
        const result = cluster.transferLeadership(leader, to);
        if (!result.ok) throw new ScenarioFailure(`transfer from ${leader} to ${to} refused: ${result.reason}`);
        return;
      }
      case 'compact':
        for (const node of step.node === 'all' ? this.liveNodes() : [this.node(step.node)]) await cluster.compactNow(node);
        return;
      case 'expect-agreement': {
        this.isolated.clear();
        cluster.disarmSyncCrashes();
        cluster.heal();
        cluster.setNetworkFaults({ ...cluster.network.currentFaults, lossProbability: 0, duplicateProbability: 0, reorderProbability: 0 });
        for (const node of cluster.nodeIds) if (!cluster.isUp(node)) cluster.restart(node);
        const outcome = await awaitLeaderAndCommit(cluster);
        await awaitConvergence(cluster, outcome.probe.index);
        return;
      }
      case 'expect':
        if (!step.holds(this)) throw new ScenarioFailure(`expected: ${step.that}; state: ${cluster.describe()}`);
        return;
      case 'repeat':
        for (let round = 0; round < step.times; round++) for (const inner of step.steps) await this.execute(inner);
        return;
      case 'maybe':
        if (cluster.schedulePrng.chance(step.chance)) for (const inner of step.steps) await this.execute(inner);
        return;
      case 'crash-leader': {
        const leader = cluster.leader();
        if (leader !== 0) cluster.crash(leader);
        return;
      }
      case 'isolate-leader': {
        const leader = cluster.leader();
        if (leader === 0) return;
        this.isolated.add(leader);
        this.applyIsolation();
        return;
      }
      case 'reconnect-until-majority': {
        const majority = Math.floor(cluster.nodeIds.length / 2) + 1;
        while (cluster.nodeIds.length - this.isolated.size < majority) this.isolated.delete(this.randomOf([...this.isolated]));
        this.applyIsolation();
        return;
      }
      case 'restart-until-majority': {
        const majority = Math.floor(cluster.nodeIds.length / 2) + 1;
        for (let guard = 0; this.liveNodes().length < majority && guard < cluster.nodeIds.length; guard++) {
          const down = cluster.nodeIds.filter((node) => !cluster.isUp(node));
          cluster.restart(this.randomOf(down));
        }
        return;
      }
    }
  }
}

function describeStep(step: Step): string {
  return JSON.stringify(step, (key, value: unknown) => (key === 'steps' ? '[…]' : typeof value === 'function' ? 'ƒ' : value));
}

/** Run a scenario; throws ScenarioFailure naming the row, the seed, the cluster state and the last events. */
export async function runScenario(name: string, setup: ScenarioSetup, steps: readonly Step[]): Promise<ScenarioResult> {
  const cluster = await SimCluster.create(
    clusterOptions(setup.seed, {
      nodeCount: setup.nodes,
      raft: { ...DEFAULT_SWITCHES, ...setup.raft },
      network: { ...RELIABLE_NETWORK, ...setup.network },
      ...setup.cluster,
    }),
  );
  const run = new ScenarioRun(cluster);
  let current: Step | undefined;
  try {
    for (const [row, step] of steps.entries()) {
      current = step;
      try {
        await run.execute(step);
      } catch (error) {
        if (error instanceof Error) error.message = `row ${row + 1} ${describeStep(step)}: ${error.message}`;
        throw error;
      }
    }
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const trace = cluster.recentTrace().map(formatRecord).join('\n');
    const failure = new ScenarioFailure(
      `scenario "${name}" (seed ${setup.seed}) failed at ${(cluster.nowUs / 1000).toFixed(3)} ms\n${reason}\n` +
        `state: ${cluster.describe()}\nlast events:\n${trace}`,
    );
    if (current !== undefined && error instanceof Error) failure.cause = error;
    throw failure;
  }
  cluster.dispose();
  return {
    name,
    seed: setup.seed,
    measurements: run.measurements,
    stats: structuredClone(cluster.stats),
    simulatedMs: cluster.nowUs / 1000,
    digest: cluster.trace.digest,
    cluster,
  };
}


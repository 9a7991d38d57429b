// Raft messages between node processes over TCP (optionally TLS): the Transport of a deployed node.
// Frames are frame.ts's, messages codec.ts's — the one codec the simulation and the in-process
// transport use. README.md in this folder describes the protocol; the rules in brief:
//
// - One connection per peer pair, used both ways. The node with the LOWER id dials; the higher one
//   only accepts. A single rule means two nodes never race to connect to each other and never need
//   a tie-break between two live connections. The dialer reconnects after a loss with exponential
//   backoff and jitter (the acceptor has nothing to do but accept again); a newer accepted
//   connection from a peer replaces an older one (the peer saw the old one die before we did).
// - Handshake: each side sends a hello (protocol version, node id, cluster id) first; the acceptor
//   checks it (a known peer, of this cluster, with a lower id) and answers with its own. Nothing
//   else is accepted before it.
// - Bounded send queue per peer: what waits for the connection (or for the socket's 'drain')
//   plus what the socket holds unflushed stays within sendQueueBytesMax; a send beyond it is
//   dropped and counted (Raft resends: a dropped append is retried from the follower's progress).
//   Frames are written under cork, so a Ready's messages leave in one writev.
// - A snapshot travels as a transfer of snapshot-chunk frames: chunk 0 holds the encoded
//   InstallSnapshot, chunks 1… the body, an empty chunk flagged last ends it. The sender pulls the
//   next body chunk only when the socket takes more (flow control); the promise resolves once the
//   last chunk is handed to the kernel and rejects if the connection fails or is cut.
// - Anything malformed, oversized or not allowed closes that connection with a logged reason; no
//   peer input throws out of a socket handler.

import { createServer, connect as netConnect, type Server, type Socket, type TcpNetConnectOpts } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { InstallSnapshotRequest, Message, NodeId } from '../raft/types.js';
import type { CodecSpec } from '../storage/codec.js';
import { decodeMessage, decodeMessageAsync, decodesSynchronously, encodeMessage, encodeMessageAsync, type MessageDecodeOptions, type MessageEncodeOptions } from './codec.js';
import { encodeFrameParts, FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES, type Frame, type SnapshotChunkFrame } from './frame.js';
import { FramedConnection, type ConnectionEvents } from './tcp-connection.js';
import { FaultTable, type PeerFaults } from './tcp-faults.js';
import { SendQueue, type QueuedFrame } from './tcp-send-queue.js';
import { SnapshotReceiver } from './tcp-snapshot-receiver.js';
import { emptyMessageCounts, type Transport, type TransportCountersSnapshot, type TransportHandler } from './transport.js';

export const TCP_PROTOCOL_VERSION = 1;

export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

/** PEM certificate, key and CA: every node presents the certificate and requires the peer's (mutual TLS). */
export interface TlsMaterial {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca: string | Buffer;
}

export interface TcpTransportOptions {
  readonly id: NodeId;
  /** Where to listen (default 127.0.0.1, port 0: any free port — see listen()). */
  readonly listen?: Partial<TcpAddress>;
  /** Every other voter and where it listens (an address may come later: setPeerAddress). */
  readonly peers: ReadonlyMap<NodeId, TcpAddress | null>;
  /** Both sides must name the same cluster (default 'raftbench'). */
  readonly clusterId?: string;
  /** How AppendEntries' entries are compressed (the profile's storage.logCodec; default none). */
  readonly codec?: CodecSpec;
  /** Bytes waiting per peer, queue plus unflushed socket buffer (default 16 MiB). */
  readonly sendQueueBytesMax?: number;
  /** The largest frame sent or accepted (default 64 MiB). */
  readonly frameBytesMax?: number;
  /** The largest snapshot body accepted (default 4 GiB). */
  readonly snapshotBytesMax?: number;
  /** First and longest wait before redialling a peer (defaults 50 ms and 2 000 ms); the wait doubles per failure, with jitter. */
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  /** A snapshot transfer whose socket takes nothing for this long closes its connection and fails (default 30 000 ms). */
  readonly snapshotStallTimeoutMs?: number;
  /** A connection that has not finished its handshake by then is closed (default 5 000 ms). */
  readonly handshakeTimeoutMs?: number;
  readonly tls?: TlsMaterial;
  /** Where connection events and rejected frames are reported (default: stderr). */
  readonly log?: (line: string) => void;
  /** Source of the backoff jitter and the drop fault (default Math.random). */
  readonly random?: () => number;
}

export interface TcpCountersSnapshot extends TransportCountersSnapshot {
  readonly messagesReceived: number;
  readonly snapshotsReceived: number;
  readonly connectionsOpened: number;
  /** Open connections that closed (peer gone, socket error, protocol error). */
  readonly connectionsLost: number;
  readonly dialFailures: number;
  /** Connections closed because the peer sent something malformed or not allowed. */
  readonly protocolErrors: number;
  /** Bytes waiting in send queues now, socket buffers included. */
  readonly sendQueueBytes: number;
}

export interface PeerLinkStatus {
  readonly peer: NodeId;
  readonly address: TcpAddress | null;
  readonly connected: boolean;
  /** Whether this node dials the peer (lower id) or waits for it. */
  readonly dials: boolean;
  readonly queuedBytes: number;
  readonly failedDials: number;
  readonly faults: PeerFaults;
}

interface PeerLink {
  readonly id: NodeId;
  address: TcpAddress | null;
  /** The open connection (handshake done), if any. */
  connection: FramedConnection | null;
  /** A dial in progress (connecting or handshaking). */
  dialing: FramedConnection | null;
  dialTimer: NodeJS.Timeout | null;
  /** Dials failed since the last successful handshake (the backoff exponent). */
  failedDials: number;
  readonly queue: SendQueue;
  flushScheduled: boolean;
  /** zstd encodes are asynchronous: chained so the peer gets messages in send order. */
  encodeChain: Promise<void> | null;
  encodesPending: number;
}

/** What one connection is receiving. */
interface ReceiveState {
  /** Set once the handshake names the peer. */
  snapshots: SnapshotReceiver | null;
  decodeChain: Promise<void> | null;
  decodesPending: number;
  handshakeTimer: NodeJS.Timeout | null;
}

const SNAPSHOT_PIECE_BYTES_MAX = 1024 * 1024;
const SNAPSHOT_CHUNK_FRAME_OVERHEAD = FRAME_HEADER_BYTES + 13;
const SOCKET_HIGH_WATER_MARK_BYTES = 1024 * 1024;

/** Exponential backoff with equal jitter: half the step fixed, half random. */
export function backoffDelayMs(failedDials: number, minMs: number, maxMs: number, random: () => number): number {
  const stepMs = Math.min(maxMs, minMs * 2 ** Math.min(failedDials, 30));
  return stepMs / 2 + random() * (stepMs / 2);
}

function positiveInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`tcp transport: ${field} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class TcpTransport implements Transport {
  readonly id: NodeId;
  /** Per-peer fault hooks: delay, drop probability, partition (tcp-faults.ts). */
  readonly faults: FaultTable;
  private readonly clusterId: string;
  private readonly sendQueueBytesMax: number;
  private readonly frameBytesMax: number;
  private readonly snapshotBytesMax: number;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  private readonly handshakeTimeoutMs: number;
  private readonly snapshotStallTimeoutMs: number;
  private readonly encodeOptions: MessageEncodeOptions;
  private readonly decodeOptions: MessageDecodeOptions;
  private readonly encodesAsync: boolean;
  private readonly log: (line: string) => void;
  private readonly random: () => number;

  private state: 'idle' | 'running' | 'closed' = 'idle';
  private handler: TransportHandler | null = null;
  private server: Server | null = null;
  private listening: Promise<TcpAddress> | null = null;
  private boundAddress: TcpAddress | null = null;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly receiving = new Map<FramedConnection, ReceiveState>();
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private nextTransferId = 1;
  private readonly connectionEvents: ConnectionEvents = {
    frame: (connection, frame) => this.frameReceived(connection, frame),
    closed: (connection, reason, protocolError) => this.connectionClosed(connection, reason, protocolError),
  };

  private readonly counts = emptyMessageCounts();
  private messagesSent = 0;
  private bytesSent = 0;
  private messagesDropped = 0;
  private snapshotsSent = 0;
  private snapshotBytesSent = 0;
  private messagesReceived = 0;
  private snapshotsReceived = 0;
  private connectionsOpened = 0;
  private connectionsLost = 0;
  private dialFailures = 0;
  private protocolErrors = 0;

  constructor(readonly options: TcpTransportOptions) {
    this.id = positiveInteger('id', options.id, 1, Number.MAX_SAFE_INTEGER);
    this.clusterId = options.clusterId ?? 'raftbench';
    this.sendQueueBytesMax = positiveInteger('sendQueueBytesMax', options.sendQueueBytesMax ?? 16 * 1024 * 1024, 1024, 2 ** 40);
    this.frameBytesMax = positiveInteger('frameBytesMax', options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT, 4096, 2 ** 32);
    this.snapshotBytesMax = positiveInteger('snapshotBytesMax', options.snapshotBytesMax ?? 4 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER);
    this.backoffMsMin = positiveInteger('backoffMsMin', options.backoffMsMin ?? 50, 1, 3_600_000);
    this.backoffMsMax = positiveInteger('backoffMsMax', options.backoffMsMax ?? 2_000, this.backoffMsMin, 3_600_000);
    this.handshakeTimeoutMs = positiveInteger('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 5_000, 1, 3_600_000);
    this.snapshotStallTimeoutMs = positiveInteger('snapshotStallTimeoutMs', options.snapshotStallTimeoutMs ?? 30_000, 1, 3_600_000);
    this.encodeOptions = { codec: options.codec ?? { kind: 'none' } };
    this.encodesAsync = options.codec?.kind === 'zstd';
    // A decompressed entries block must fit what a frame may carry.
    this.decodeOptions = { blockBytesMax: this.frameBytesMax };
    this.log = options.log ?? ((line) => process.stderr.write(`[tcp n${this.id}] ${line}\n`));
    this.random = options.random ?? Math.random;
    for (const [peer, address] of options.peers) {
      if (peer === this.id) continue;
      positiveInteger('peers (id)', peer, 1, Number.MAX_SAFE_INTEGER);
      this.links.set(peer, {
        id: peer,
        address,
        connection: null,
        dialing: null,
        dialTimer: null,
        failedDials: 0,
        queue: new SendQueue(this.sendQueueBytesMax),
        flushScheduled: false,
        encodeChain: null,
        encodesPending: 0,
      });
    }
    this.faults = new FaultTable(
      (peer) => this.links.has(peer),
      (peer) => this.handler?.unreachable(peer),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle.
  // -------------------------------------------------------------------------------------------

  /**
   * Starts listening (idempotent) and resolves with the bound address — with port 0, the port the
   * system chose. After close(), listens again on the same port. Rejects if the port is taken.
   */
  listen(): Promise<TcpAddress> {
    if (this.listening !== null) return this.listening;
    const host = this.options.listen?.host ?? '127.0.0.1';
    const port = this.boundAddress?.port ?? this.options.listen?.port ?? 0;
    const tls = this.options.tls;
    const server: Server =
      tls === undefined
        ? createServer({ highWaterMark: SOCKET_HIGH_WATER_MARK_BYTES, noDelay: true }, (socket) => this.accepted(socket))
        : createTlsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', highWaterMark: SOCKET_HIGH_WATER_MARK_BYTES }, (socket: TLSSocket) => this.accepted(socket));
    if (tls !== undefined) server.on('tlsClientError', (error: Error, socket: TLSSocket) => this.log(`TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${error.message}`));
    this.server = server;
    this.listening = new Promise<TcpAddress>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        server.on('error', (error) => this.log(`listener error: ${error.message}`));
        const address = server.address();
        if (address === null || typeof address === 'string') return reject(new Error('tcp transport: the listener has no TCP address'));
        this.boundAddress = { host: address.address, port: address.port };
        resolve(this.boundAddress);
      });
    });
    this.listening.catch(() => {
      this.listening = null;
      this.server = null;
    });
    return this.listening;
  }

  /** Where this node listens (null before listen() finished). */
  get address(): TcpAddress | null {
    return this.boundAddress;
  }

  /** Sets or changes where `peer` listens; a peer this node dials is dialled now. */
  setPeerAddress(peer: NodeId, address: TcpAddress): void {
    const link = this.links.get(peer);
    if (link === undefined) throw new RangeError(`tcp transport: ${peer} is not a peer of node ${this.id}`);
    link.address = address;
    if (this.state === 'running' && this.dials(link) && link.connection === null && link.dialing === null) {
      if (link.dialTimer !== null) clearTimeout(link.dialTimer);
      link.dialTimer = null;
      this.dial(link);
    }
  }

  start(handler: TransportHandler): void {
    this.handler = handler;
    if (this.state === 'running') return;
    this.state = 'running';
    this.listen().catch((error: unknown) => this.log(`cannot listen: ${messageOf(error)}`));
    for (const link of this.links.values()) if (this.dials(link)) this.dial(link);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handler = null;
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    for (const link of this.links.values()) {
      if (link.dialTimer !== null) clearTimeout(link.dialTimer);
      link.dialTimer = null;
      link.failedDials = 0;
      this.messagesDropped += link.queue.clear();
    }
    for (const connection of [...this.receiving.keys()]) connection.close('the transport is closing', false);
    // Closed connections report nothing once the transport is closed: forget them here, so that a
    // start() after close() dials afresh.
    for (const link of this.links.values()) {
      link.connection = null;
      link.dialing = null;
    }
    const server = this.server;
    this.server = null;
    this.listening = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------
  // Sending.
  // -------------------------------------------------------------------------------------------

  send(message: Message): void {
    this.messagesSent += 1;
    this.counts[message.type] += 1;
    const link = this.links.get(message.to);
    if (this.state !== 'running' || link === undefined || message.type === 'InstallSnapshot') {
      if (link === undefined) this.log(`dropped a ${message.type} to ${message.to}: not a peer`);
      if (message.type === 'InstallSnapshot') this.log('dropped an InstallSnapshot sent with send(): snapshots go through sendSnapshot');
      this.messagesDropped += 1;
      return;
    }
    const faults = this.faults.get(link.id);
    if (faults.partitioned || (faults.dropProbability > 0 && this.random() < faults.dropProbability)) {
      this.messagesDropped += 1;
      return;
    }
    const hasEntries = message.type === 'AppendEntries' && message.entries.length > 0;
    if (link.encodeChain !== null || (this.encodesAsync && hasEntries)) {
      this.sendAfterAsyncEncode(link, message, faults.delayMs);
      return;
    }
    let payload: Uint8Array;
    try {
      payload = encodeMessage(message, this.encodeOptions);
    } catch (error) {
      this.log(`dropped a ${message.type} to ${link.id}: cannot encode it: ${messageOf(error)}`);
      this.messagesDropped += 1;
      return;
    }
    this.encoded(link, payload, faults.delayMs);
  }

  /** zstd: encoded on the thread pool, queued in send order. */
  private sendAfterAsyncEncode(link: PeerLink, message: Message, delayMs: number): void {
    const encoding = encodeMessageAsync(message, this.encodeOptions);
    link.encodesPending += 1;
    const chain = (link.encodeChain ?? Promise.resolve())
      .then(() => encoding)
      .then(
        (payload) => this.encoded(link, payload, delayMs),
        (error: unknown) => {
          this.log(`dropped a ${message.type} to ${link.id}: cannot encode it: ${messageOf(error)}`);
          this.messagesDropped += 1;
        },
      )
      .finally(() => {
        link.encodesPending -= 1;
        if (link.encodesPending === 0) link.encodeChain = null;
      });
    link.encodeChain = chain;
  }

  private encoded(link: PeerLink, payload: Uint8Array, delayMs: number): void {
    if (this.state !== 'running') return;
    this.bytesSent += payload.length;
    if (delayMs === 0) return this.enqueue(link, payload);
    const timer = setTimeout(() => {
      this.delayTimers.delete(timer);
      this.enqueue(link, payload);
    }, delayMs);
    this.delayTimers.add(timer);
  }

  private enqueue(link: PeerLink, payload: Uint8Array): void {
    let frame: QueuedFrame;
    try {
      frame = encodeFrameParts({ kind: 'message', payload }, { frameBytesMax: this.frameBytesMax });
    } catch (error) {
      this.log(`dropped a message to ${link.id}: ${messageOf(error)}`);
      this.messagesDropped += 1;
      return;
    }
    // The bound covers what the socket holds unflushed too: an unreading peer cannot grow either.
    if (!link.queue.push(frame, link.connection)) {
      this.messagesDropped += 1;
      return;
    }
    if (!link.flushScheduled && link.connection !== null) {
      link.flushScheduled = true;
      // After the current synchronous run: a Ready's messages go out under one cork.
      queueMicrotask(() => {
        link.flushScheduled = false;
        this.flush(link);
      });
    }
  }

  /** Writes queued frames until the socket asks to wait for 'drain' (which calls this again). */
  private flush(link: PeerLink): void {
    if (link.connection !== null) link.queue.flushTo(link.connection);
  }

  async sendSnapshot(message: InstallSnapshotRequest, body: AsyncIterable<Uint8Array>): Promise<void> {
    this.messagesSent += 1;
    this.counts.InstallSnapshot += 1;
    const link = this.links.get(message.to);
    if (link === undefined) throw new Error(`snapshot to node ${message.to}: not a peer`);
    const connection = link.connection;
    if (this.state !== 'running' || connection === null || !connection.open) throw new Error(`snapshot to node ${message.to}: not connected`);
    if (this.faults.get(link.id).partitioned) throw new Error(`snapshot to node ${message.to}: partitioned (fault hook)`);
    const transferId = this.nextTransferId++;
    let sequence = 0;
    const writeChunk = async (data: Uint8Array, last: boolean): Promise<void> => {
      await connection.waitWritable(this.snapshotStallTimeoutMs);
      if (link.connection !== connection) throw new Error(`snapshot to node ${message.to}: the connection was replaced during the transfer`);
      if (this.faults.get(link.id).partitioned) throw new Error(`snapshot to node ${message.to}: partitioned during the transfer`);
      const frame: SnapshotChunkFrame = { kind: 'snapshot-chunk', transferId, sequence: sequence++, last, data };
      const { head, body: frameBody } = encodeFrameParts(frame, { frameBytesMax: this.frameBytesMax });
      if (!last) {
        connection.write(head, frameBody);
        return;
      }
      // Resolved once the last chunk is handed to the kernel; a socket destroyed first fails it,
      // and so does a peer that reads nothing until the stall timeout.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => connection.close(`a snapshot transfer stalled: the peer read nothing for ${this.snapshotStallTimeoutMs} ms`, false), this.snapshotStallTimeoutMs);
        connection.write(head, frameBody, (error) => {
          clearTimeout(timer);
          if (error) reject(new Error(`snapshot to node ${message.to}: ${error.message}`));
          else resolve();
        });
      });
    };
    const pieceBytesMax = Math.min(SNAPSHOT_PIECE_BYTES_MAX, this.frameBytesMax - SNAPSHOT_CHUNK_FRAME_OVERHEAD);
    let bodyBytes = 0;
    await writeChunk(encodeMessage(message), false);
    for await (const chunk of body) {
      // The storage reader yields a fresh buffer per chunk, so it is written without a copy.
      for (let offset = 0; offset < chunk.length; offset += pieceBytesMax) {
        await writeChunk(chunk.subarray(offset, Math.min(chunk.length, offset + pieceBytesMax)), false);
      }
      bodyBytes += chunk.length;
    }
    await writeChunk(new Uint8Array(0), true);
    this.snapshotsSent += 1;
    this.snapshotBytesSent += bodyBytes;
    this.bytesSent += bodyBytes;
  }

  // -------------------------------------------------------------------------------------------
  // Connections.
  // -------------------------------------------------------------------------------------------

  private dials(link: PeerLink): boolean {
    return this.id < link.id;
  }

  private dial(link: PeerLink): void {
    if (this.state !== 'running' || link.connection !== null || link.dialing !== null || link.address === null) return;
    const { host, port } = link.address;
    const tls = this.options.tls;
    // highWaterMark reaches the socket's stream options (not in @types/node's connect options).
    const netOptions: TcpNetConnectOpts & { highWaterMark: number } = { host, port, highWaterMark: SOCKET_HIGH_WATER_MARK_BYTES };
    const socket: Socket = tls === undefined ? netConnect(netOptions) : tlsConnect({ host, port, cert: tls.cert, key: tls.key, ca: tls.ca, minVersion: 'TLSv1.2' });
    const connection = this.track(new FramedConnection(socket, 'dialed', this.frameBytesMax, this.connectionEvents));
    connection.peer = link.id;
    link.dialing = connection;
    // Written before the socket connects: the socket (and TLS, after its handshake) sends it first.
    this.sendHello(connection);
  }

  private accepted(socket: Socket): void {
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    this.track(new FramedConnection(socket, 'accepted', this.frameBytesMax, this.connectionEvents));
  }

  private track(connection: FramedConnection): FramedConnection {
    const state: ReceiveState = { snapshots: null, decodeChain: null, decodesPending: 0, handshakeTimer: null };
    state.handshakeTimer = setTimeout(() => connection.close(`no handshake within ${this.handshakeTimeoutMs} ms`, true), this.handshakeTimeoutMs);
    this.receiving.set(connection, state);
    return connection;
  }

  private sendHello(connection: FramedConnection): void {
    const { head, body } = encodeFrameParts({ kind: 'hello', protocolVersion: TCP_PROTOCOL_VERSION, nodeId: this.id, clusterId: this.clusterId });
    connection.write(head, body);
  }

  private describe(connection: FramedConnection): string {
    const remote = connection.remote;
    return connection.peer === 0 ? `connection from ${remote}` : `connection ${connection.direction === 'dialed' ? 'to' : 'from'} n${connection.peer} (${remote})`;
  }

  private frameReceived(connection: FramedConnection, frame: Frame): void {
    if (!connection.open) {
      if (frame.kind !== 'hello') return connection.close(`a ${frame.kind} frame before the hello`, true);
      return this.helloReceived(connection, frame.protocolVersion, frame.nodeId, frame.clusterId);
    }
    switch (frame.kind) {
      case 'hello':
        return connection.close('a second hello', true);
      case 'message':
        return this.messageReceived(connection, frame.payload);
      case 'snapshot-chunk':
        return this.chunkReceived(connection, frame);
    }
  }

  private helloReceived(connection: FramedConnection, protocolVersion: number, nodeId: NodeId, clusterId: string): void {
    if (protocolVersion !== TCP_PROTOCOL_VERSION) return connection.close(`hello: protocol version ${protocolVersion} is not supported (this build speaks ${TCP_PROTOCOL_VERSION})`, true);
    if (clusterId !== this.clusterId) return connection.close(`hello: cluster '${clusterId}' is not this node's cluster '${this.clusterId}'`, true);
    const link = this.links.get(nodeId);
    if (link === undefined) return connection.close(`hello: node ${nodeId} is not a peer of node ${this.id}`, true);
    if (connection.direction === 'dialed') {
      if (nodeId !== connection.peer) return connection.close(`hello: dialled node ${connection.peer} but node ${nodeId} answered`, true);
    } else {
      if (this.dials(link)) return connection.close(`hello: node ${nodeId} dialled node ${this.id}, but the lower id dials`, true);
      connection.peer = nodeId;
      this.sendHello(connection);
    }
    this.opened(link, connection);
  }

  private opened(link: PeerLink, connection: FramedConnection): void {
    const state = this.receiving.get(connection);
    if (state !== undefined) {
      if (state.handshakeTimer !== null) clearTimeout(state.handshakeTimer);
      state.snapshots = new SnapshotReceiver(link.id, this.id, this.snapshotBytesMax, this.decodeOptions);
    }
    connection.open = true;
    const previous = link.connection;
    link.connection = connection;
    if (link.dialing === connection) link.dialing = null;
    if (link.failedDials > 0) this.log(`connected to n${link.id} after ${link.failedDials} failed dials`);
    link.failedDials = 0;
    this.connectionsOpened += 1;
    if (previous !== null && previous !== connection) previous.close('replaced by a newer connection from the peer', false);
    connection.socket.on('drain', () => {
      if (link.connection === connection) this.flush(link);
    });
    this.flush(link);
  }

  private connectionClosed(connection: FramedConnection, reason: string, protocolError: boolean): void {
    const state = this.receiving.get(connection);
    if (state?.handshakeTimer) clearTimeout(state.handshakeTimer);
    this.receiving.delete(connection);
    if (protocolError) {
      this.protocolErrors += 1;
      this.log(`closed the ${this.describe(connection)}: ${reason}`);
    }
    const link = connection.peer === 0 ? undefined : this.links.get(connection.peer);
    if (link === undefined || this.state === 'closed') return;
    if (link.connection === connection) {
      link.connection = null;
      this.connectionsLost += 1;
      if (!protocolError) this.log(`lost the ${this.describe(connection)}: ${reason}`);
      this.handler?.unreachable(link.id);
    } else if (link.dialing === connection) {
      link.dialing = null;
      this.dialFailures += 1;
      if (link.failedDials === 0 && !protocolError) this.log(`cannot reach n${link.id} at ${link.address?.host}:${link.address?.port}: ${reason}; retrying with backoff`);
      link.failedDials += 1;
      this.handler?.unreachable(link.id);
    } else {
      return;
    }
    if (this.dials(link)) this.scheduleDial(link);
  }

  private scheduleDial(link: PeerLink): void {
    if (this.state !== 'running' || link.dialTimer !== null || link.connection !== null || link.dialing !== null) return;
    const delayMs = backoffDelayMs(link.failedDials, this.backoffMsMin, this.backoffMsMax, this.random);
    link.dialTimer = setTimeout(() => {
      link.dialTimer = null;
      this.dial(link);
    }, delayMs);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving.
  // -------------------------------------------------------------------------------------------

  private messageReceived(connection: FramedConnection, payload: Uint8Array): void {
    if (this.faults.get(connection.peer).partitioned) return;
    const state = this.receiving.get(connection);
    if (state === undefined) return;
    if (state.decodeChain === null && decodesSynchronously(payload)) {
      let message: Message;
      try {
        message = decodeMessage(payload, this.decodeOptions);
      } catch (error) {
        return connection.close(messageOf(error), true);
      }
      return this.deliver(connection, message);
    }
    // zstd entries decode on the thread pool; later messages wait behind them to keep the order.
    state.decodesPending += 1;
    const decoding = decodeMessageAsync(payload, this.decodeOptions);
    state.decodeChain = (state.decodeChain ?? Promise.resolve())
      .then(() => decoding)
      .then(
        (message) => this.deliver(connection, message),
        (error: unknown) => connection.close(messageOf(error), true),
      )
      .finally(() => {
        state.decodesPending -= 1;
        if (state.decodesPending === 0) state.decodeChain = null;
      });
  }

  private deliver(connection: FramedConnection, message: Message): void {
    if (connection.closed) return;
    if (message.from !== connection.peer || message.to !== this.id) {
      return connection.close(`a message from ${message.from} to ${message.to} on the connection between n${connection.peer} and n${this.id}`, true);
    }
    if (message.type === 'InstallSnapshot') return connection.close('an InstallSnapshot outside a snapshot transfer', true);
    this.messagesReceived += 1;
    this.handler?.message(message);
  }

  private chunkReceived(connection: FramedConnection, frame: SnapshotChunkFrame): void {
    const snapshots = this.receiving.get(connection)?.snapshots;
    if (snapshots === null || snapshots === undefined) return;
    if (this.faults.get(connection.peer).partitioned) return snapshots.discard(frame);
    const outcome = snapshots.accept(frame);
    if (outcome.kind === 'error') return connection.close(outcome.reason, true);
    if (outcome.kind === 'pending') return;
    this.snapshotsReceived += 1;
    this.handler?.snapshot(outcome.message, outcome.body);
  }

  // -------------------------------------------------------------------------------------------
  // Counters and status.
  // -------------------------------------------------------------------------------------------

  counters(): TcpCountersSnapshot {
    let sendQueueBytes = 0;
    for (const link of this.links.values()) sendQueueBytes += link.queue.bytesWaiting(link.connection);
    return {
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
      messagesByType: { ...this.counts },
      messagesDropped: this.messagesDropped,
      snapshotsSent: this.snapshotsSent,
      snapshotBytesSent: this.snapshotBytesSent,
      messagesReceived: this.messagesReceived,
      snapshotsReceived: this.snapshotsReceived,
      connectionsOpened: this.connectionsOpened,
      connectionsLost: this.connectionsLost,
      dialFailures: this.dialFailures,
      protocolErrors: this.protocolErrors,
      sendQueueBytes,
    };
  }

  peers(): PeerLinkStatus[] {
    return [...this.links.values()].map((link) => ({
      peer: link.id,
      address: link.address,
      connected: link.connection !== null,
      dials: this.dials(link),
      queuedBytes: link.queue.bytesWaiting(link.connection),
      failedDials: link.failedDials,
      faults: this.faults.get(link.id),
    }));
  }

  /** The open connection's socket to `peer` (tests cut it to watch the transport reconnect). */
  socketOf(peer: NodeId): Socket | null {
    return this.links.get(peer)?.connection?.socket ?? null;
  }
}

// The binary client protocol's server side (frames: binary-frame.ts): each request frame goes to the
// node as it is — a submit's payload is proposed unchanged, a read's is decoded once into the
// command the node serves — and each reply goes back under its request id as soon as the node
// settles it. Many requests are in flight per connection; replies leave in the order they settle.
//
// Bounds: at most inFlightPerConnectionMax requests per connection are with the node; beyond it the
// connection stops reading (TCP backpressure reaches the client) until half of them are answered.
// Replies settled in one tick are written together (cork, uncork on the next tick): one syscall
// for a batch of replies rather than one each.
//
// A malformed frame (bad length, version, kind, read command) closes that connection, after a
// 'closing' frame that says why; the node and every other connection go on.

import { createServer, type Server, type Socket } from 'node:net';
import { decodeReadCommand, decodeRequest, KvDecodeError } from '../kv/commands.js';
import type { NodeReply } from '../server/node.js';
import {
  ClientFrameError,
  decodeRequestFrame,
  encodeReplyFrame,
  FrameCutter,
  replyFrameOf,
  REQUEST_FRAME_BYTES_MAX_DEFAULT,
  type ClientRequestFrame,
} from './binary-frame.js';
import { closeServer, listen } from './listen.js';
import type { LeaderAddresses, ServedNode } from './served-node.js';
import { nodeStatusJson } from './status.js';

export interface BinaryServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly frameBytesMax?: number;
  /** Requests with the node per connection before the connection stops reading (default 4096). */
  readonly inFlightPerConnectionMax?: number;
  readonly leaderAddresses?: LeaderAddresses;
  /** Told why a connection was dropped (a malformed frame); default: nothing. */
  readonly log?: (line: string) => void;
}

export interface BinaryServerCounters {
  readonly connectionsOpened: number;
  readonly connectionsOpen: number;
  /** Connections closed because a frame was malformed. */
  readonly connectionsRefused: number;
  readonly requests: number;
  readonly replies: number;
}

export interface BinaryServer {
  /** "host:port" it listens on. */
  readonly address: string;
  counters(): BinaryServerCounters;
  close(): Promise<void>;
}

const IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT = 4096;
/** A dropped connection whose peer does not close its end is destroyed after this long. */
const CLOSING_LINGER_MS = 1000;

export async function startBinaryServer(node: ServedNode, options: BinaryServerOptions): Promise<BinaryServer> {
  const frameBytesMax = options.frameBytesMax ?? REQUEST_FRAME_BYTES_MAX_DEFAULT;
  const inFlightMax = options.inFlightPerConnectionMax ?? IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT;
  if (!Number.isSafeInteger(inFlightMax) || inFlightMax < 1) throw new RangeError(`inFlightPerConnectionMax must be a positive integer, got ${inFlightMax}`);
  const sockets = new Set<Socket>();
  const counters = { connectionsOpened: 0, connectionsRefused: 0, requests: 0, replies: 0 };
  const leaderAddress = (leader: number): string => (leader === 0 ? '' : (options.leaderAddresses?.(leader)?.binary ?? ''));

  const serve = (socket: Socket): void => {
    counters.connectionsOpened += 1;
    sockets.add(socket);
    socket.setNoDelay(true);
    const cutter = new FrameCutter(frameBytesMax);
    let inFlight = 0;
    let paused = false;
    let corked = false;
    let closing = false;

    const write = (bytes: Uint8Array): void => {
      if (closing || socket.destroyed) return;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(bytes);
    };
    const answer = (requestId: number, reply: NodeReply): void => {
      inFlight -= 1;
      counters.replies += 1;
      write(replyFrameOf(requestId, reply, reply.ok ? '' : leaderAddress(reply.leader)));
      if (paused && inFlight <= inFlightMax / 2) {
        paused = false;
        socket.resume();
      }
    };
    const drop = (error: ClientFrameError | KvDecodeError): void => {
      if (closing) return;
      counters.connectionsRefused += 1;
      const reason = error.message;
      options.log?.(`binary API: closing ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${reason}`);
      write(encodeReplyFrame({ kind: 'closing', requestId: 0, reason }));
      closing = true;
      socket.end();
      setTimeout(() => socket.destroy(), CLOSING_LINGER_MS).unref();
    };
    const handle = (request: ClientRequestFrame): void => {
      switch (request.kind) {
        case 'ping':
          write(encodeReplyFrame({ kind: 'pong', requestId: request.requestId }));
          return;
        case 'status':
          write(encodeReplyFrame({ kind: 'status', requestId: request.requestId, json: JSON.stringify(nodeStatusJson(node, options.leaderAddresses)) }));
          return;
        case 'submit':
          // Checked here so a malformed request never reaches the log: it closes the connection.
          decodeRequest(request.payload);
          counters.requests += 1;
          inFlight += 1;
          void node.submit(request.payload).then((reply) => answer(request.requestId, reply));
          return;
        case 'read': {
          // Decoded here so a bad command closes the connection like any malformed frame.
          const command = decodeReadCommand(request.payload);
          counters.requests += 1;
          inFlight += 1;
          void node.read(command, request.mode ?? node.options.readMode).then((reply) => answer(request.requestId, reply));
          return;
        }
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      const { frames, error } = cutter.push(chunk);
      for (const bytes of frames) {
        try {
          handle(decodeRequestFrame(bytes));
        } catch (failure) {
          if (failure instanceof ClientFrameError || failure instanceof KvDecodeError) return drop(failure);
          throw failure;
        }
      }
      if (error !== null) return drop(error);
      if (!paused && inFlight >= inFlightMax) {
        paused = true;
        socket.pause();
      }
    });
    // A reset peer is routine: the requests it sent still complete in the node, unanswered.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };

  const server: Server = createServer(serve);
  const address = await listen(server, options.host, options.port, 'binary API');
  return {
    address,
    counters: () => ({ ...counters, connectionsOpen: sockets.size }),
    close: () =>
      closeServer(server, () => {
        for (const socket of sockets) socket.destroy();
      }),
  };
}

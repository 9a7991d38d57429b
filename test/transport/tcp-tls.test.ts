// Peer traffic over TLS: a certificate generated now (openssl CLI), three KvNodes committing
// through it, and strangers refused — a plain-TCP client and a client with another certificate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { connect } from 'node:net';
import { loadTlsFiles } from '../../src/transport/tls-files.js';
import { TcpTestCluster, waitFor } from './tcp-cluster.js';
import { opensslAvailable, selfSignedCertificate } from './tls-fixture.js';

const skip = opensslAvailable() ? false : 'the openssl CLI is not installed (apt-get install openssl)';

test('three nodes commit over mutual TLS with a certificate made at run time; strangers are refused', { timeout: 30_000, skip }, async () => {
  const files = await selfSignedCertificate();
  const stranger = await selfSignedCertificate('stranger');
  const cluster = await TcpTestCluster.start({ transport: { tls: await loadTlsFiles(files) } });
  try {
    await cluster.waitForLeader();
    const last = await cluster.write('tls', 20);
    for (const id of cluster.ids) await cluster.waitForApplied(id, last);
    const port = cluster.transport(3).address!.port;

    // Plain TCP speaking our frames: the TLS layer refuses it before any frame is read.
    const plain = connect(port, '127.0.0.1');
    plain.on('error', () => undefined);
    const plainClosed = new Promise<void>((resolve) => plain.on('close', () => resolve()));
    plain.write(Buffer.from([10, 0, 0, 0, 1, 3]));
    await plainClosed;

    // A TLS client whose certificate the cluster's CA did not sign.
    const other = await loadTlsFiles(stranger);
    const foreign = tlsConnect({ host: '127.0.0.1', port, cert: other.cert, key: other.key, ca: (await loadTlsFiles(files)).ca });
    const outcome = await new Promise<string>((resolve) => {
      foreign.on('error', (error) => resolve(`error: ${error.message}`));
      foreign.on('close', () => resolve('closed'));
    });
    assert.ok(outcome.length > 0);
    await waitFor('the refusals to be logged', () => cluster.logs.filter((line) => line.startsWith('n3 TLS handshake')).length >= 2, 5_000, () => cluster.logs.join(' | '));
    assert.equal(cluster.transport(3).counters().messagesReceived > 0, true);
    await assert.rejects(loadTlsFiles({ ...files, keyPath: '/nonexistent/key.pem' }), /--tls-key \/nonexistent\/key.pem/);
  } finally {
    await cluster.stop();
    await rm(files.dir, { recursive: true, force: true });
    await rm(stranger.dir, { recursive: true, force: true });
  }
});

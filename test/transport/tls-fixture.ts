// Test support: a self-signed certificate for 127.0.0.1, made at run time with the openssl CLI
// (serves as the CA, too: every node presents it and trusts it).

import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsFiles } from '../../src/transport/tls-files.js';

/** Whether the openssl CLI is on PATH (tests that need it skip, saying so, when it is not). */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes cert.pem and key.pem (EC P-256, valid 2 days, SAN IP:127.0.0.1) into a new temp dir. */
export async function selfSignedCertificate(commonName = 'raftbench-test'): Promise<TlsFiles & { readonly dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'raftbench-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${commonName}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore', timeout: 10_000 },
  );
  return { dir, certPath, keyPath, caPath: certPath };
}

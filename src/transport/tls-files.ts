// TLS material for peer traffic, read from PEM files named on the command line (--tls-cert,
// --tls-key, --tls-ca). Every node presents its certificate and requires the peer's, signed by the
// CA (mutual TLS): a process without the cluster's certificate cannot join or inject messages.

import { readFile } from 'node:fs/promises';
import type { TlsMaterial } from './tcp.js';

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string;
}

/** Reads the three files; an error names the option and the path. */
export async function loadTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (option: string, path: string): Promise<Buffer> => {
    try {
      const bytes = await readFile(path);
      if (!bytes.includes('-----BEGIN')) throw new Error('not a PEM file (no -----BEGIN line)');
      return bytes;
    } catch (error) {
      throw new Error(`${option} ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return { cert: await read('--tls-cert', files.certPath), key: await read('--tls-key', files.keyPath), ca: await read('--tls-ca', files.caPath) };
}

/** Streaming digests of (possibly large, sparse) artifact files: one read for every algorithm. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface FileDigest {
  path: string;
  bytes: number;
  sha256: string;
  sha1: string;
}

export async function digestFile(path: string): Promise<FileDigest> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    sha256.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { path, bytes: (await stat(path)).size, sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
}

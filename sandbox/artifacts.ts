import { createHash } from 'node:crypto';
import type { Artifacts } from '../domain/ports';

// ARTIFACT_BUCKET in the sandbox: no bytes, only which objects exist, their sizes and the SHA-256
// their bytes would have. The simulated runner's upload puts a build's three files
// (packer/runner.sh's names) under builds/<BuildID>/; the real release handler then copies them to
// releases/ through this port and reads the OVA back.

interface SimulatedObject {
  bytes: number;
  sha256: string;
}

const digestOf = (text: string): SimulatedObject => ({ bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });

export class SimulatedBucket implements Artifacts {
  private readonly objects = new Map<string, SimulatedObject>();

  /** What packer/runner.sh uploads after a build: the OVA (with the figures its phase reports), its checksum and the metadata file. */
  uploaded(bucket: string, ovaKey: string, bytes: number, sha256: string): void {
    this.objects.set(`${bucket}/${ovaKey}`, { bytes, sha256 });
    this.objects.set(`${bucket}/${ovaKey}.sha256`, digestOf(`${sha256}  ${ovaKey.slice(ovaKey.lastIndexOf('/') + 1)}\n`));
    this.objects.set(`${bucket}/${ovaKey.replace(/\.ova$/, '.json')}`, digestOf('{}'));
  }

  async size(bucket: string, key: string): Promise<number | undefined> {
    return this.objects.get(`${bucket}/${key}`)?.bytes;
  }

  async copy(request: { bucket: string; from: string; to: string; bytes: number }): Promise<void> {
    const object = this.objects.get(`${request.bucket}/${request.from}`);
    if (object === undefined) throw new Error(`NoSuchKey: s3://${request.bucket}/${request.from}`);
    this.objects.set(`${request.bucket}/${request.to}`, object);
  }

  async digest(bucket: string, key: string): Promise<SimulatedObject | undefined> {
    return this.objects.get(`${bucket}/${key}`);
  }

  async write(bucket: string, key: string, text: string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, digestOf(text));
  }

  async remove(bucket: string, key: string): Promise<void> {
    this.objects.delete(`${bucket}/${key}`);
  }

  /** Keys under `prefix`, sorted. */
  keys(bucket: string, prefix = ''): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .map((k) => k.slice(bucket.length + 1))
      .sort();
  }
}

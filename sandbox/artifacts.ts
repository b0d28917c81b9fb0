import type { Artifacts } from '../domain/ports';

// ARTIFACT_BUCKET in the sandbox: no bytes, only which objects exist and their sizes. The
// simulated runner's upload puts a build's three files (packer/runner.sh's names) under
// builds/<BuildID>/; the real release handler then copies them to releases/ through this port.

export class SimulatedBucket implements Artifacts {
  private readonly objects = new Map<string, number>();

  /** What packer/runner.sh uploads after a build: the OVA, its checksum and the metadata file. */
  uploaded(bucket: string, ovaKey: string, bytes: number): void {
    this.objects.set(`${bucket}/${ovaKey}`, bytes);
    this.objects.set(`${bucket}/${ovaKey}.sha256`, 100);
    this.objects.set(`${bucket}/${ovaKey.replace(/\.ova$/, '.json')}`, 400);
  }

  async size(bucket: string, key: string): Promise<number | undefined> {
    return this.objects.get(`${bucket}/${key}`);
  }

  async copy(request: { bucket: string; from: string; to: string; bytes: number }): Promise<void> {
    const bytes = this.objects.get(`${request.bucket}/${request.from}`);
    if (bytes === undefined) throw new Error(`NoSuchKey: s3://${request.bucket}/${request.from}`);
    this.objects.set(`${request.bucket}/${request.to}`, bytes);
  }

  /** Keys under `prefix`, sorted. */
  keys(bucket: string, prefix = ''): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .map((k) => k.slice(bucket.length + 1))
      .sort();
  }
}

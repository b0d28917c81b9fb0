import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Artifacts } from '../../domain/ports';

// The Artifacts port on S3: server-side copies inside ARTIFACT_BUCKET, for the release function
// (events/release.ts). CopyObject takes a source of up to 5 GiB; an OVA is larger, so above that
// the copy is a multipart upload whose parts are UploadPartCopy ranges of the source. Nothing is
// downloaded: the bytes stay in S3.

/** The largest source CopyObject accepts (S3 user guide, "Copying objects"). */
export const COPY_OBJECT_LIMIT = 5 * 1024 ** 3;
/** Part size of a multipart copy: 10,000 parts (S3's limit) of it reach 5 TiB, S3's object limit. */
export const COPY_PART_BYTES = 512 * 1024 ** 2;
/** Parts copied at once: each is a server-side copy of half a GiB, so a 30 GB OVA takes minutes, not a quarter of an hour. */
export const COPY_PARALLEL_PARTS = 8;

/** `bytes=a-b` (inclusive) of each part of an object of `bytes` bytes. */
export function partRanges(bytes: number, partBytes: number = COPY_PART_BYTES): string[] {
  const ranges: string[] = [];
  for (let start = 0; start < bytes; start += partBytes) ranges.push(`bytes=${start}-${Math.min(start + partBytes, bytes) - 1}`);
  return ranges;
}

/** CopySource: `<bucket>/<key>`, each path segment URL-encoded. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export class S3Artifacts implements Artifacts {
  constructor(
    private readonly client: S3Client,
    private readonly options: { partBytes?: number; parallelParts?: number } = {},
  ) {}

  async size(bucket: string, key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      // 404 for a missing key. A role without s3:ListBucket (the release role has none) gets 403
      // for a missing key instead: with s3:GetObject on builds/*, a 403 there means "not there".
      const status = httpStatus(error);
      if (status === 404 || status === 403) return undefined;
      throw error;
    }
  }

  async digest(bucket: string, key: string): Promise<{ bytes: number; sha256: string } | undefined> {
    let body: AsyncIterable<Uint8Array> | undefined;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as AsyncIterable<Uint8Array> | undefined;
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404 || status === 403) return undefined;
      throw error;
    }
    // Chunk by chunk: a 30 GB OVA passes through the hash, never through memory whole.
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of body ?? []) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { bytes, sha256: hash.digest('hex') };
  }

  async write(bucket: string, key: string, text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: 'text/plain; charset=utf-8' }));
  }

  async remove(bucket: string, key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async copy(request: { bucket: string; from: string; to: string; bytes: number }): Promise<void> {
    const { bucket, from, to, bytes } = request;
    if (bytes <= COPY_OBJECT_LIMIT) {
      await this.client.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: copySource(bucket, from) }));
      return;
    }
    await this.multipartCopy(bucket, from, to, bytes);
  }

  private async multipartCopy(bucket: string, from: string, to: string, bytes: number): Promise<void> {
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: to }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload of s3://${bucket}/${to} returned no UploadId`);
    try {
      const ranges = partRanges(bytes, this.options.partBytes ?? COPY_PART_BYTES);
      const parts: CompletedPart[] = new Array<CompletedPart>(ranges.length);
      let next = 0;
      let failed = false;
      const worker = async () => {
        // A failed part stops the others taking new ones; those under way finish before the abort.
        while (!failed && next < ranges.length) {
          const index = next++;
          try {
            const out = await this.client.send(
              new UploadPartCopyCommand({
                Bucket: bucket,
                Key: to,
                UploadId: uploadId,
                PartNumber: index + 1,
                CopySource: copySource(bucket, from),
                CopySourceRange: ranges[index],
              }),
            );
            const etag = out.CopyPartResult?.ETag;
            if (!etag) throw new Error(`UploadPartCopy ${index + 1} of s3://${bucket}/${to} returned no ETag`);
            parts[index] = { PartNumber: index + 1, ETag: etag };
          } catch (error) {
            failed = true;
            throw error;
          }
        }
      };
      const workers = Math.max(1, Math.min(this.options.parallelParts ?? COPY_PARALLEL_PARTS, ranges.length));
      const settled = await Promise.allSettled(Array.from({ length: workers }, worker));
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      // The parts copied so far are billed until the upload is aborted (the bucket's lifecycle
      // rule would abort it after a day); the failure itself is what the caller must see.
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId: uploadId }));
      } catch (abortError) {
        const why = abortError instanceof Error ? abortError.message : String(abortError);
        throw new Error(`multipart copy to s3://${bucket}/${to} failed, and so did its abort (${why})`, { cause: error });
      }
      throw error;
    }
  }
}

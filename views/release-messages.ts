import { s3CopyCommand, s3Uri } from '../domain/build-facts';
import { code } from './mrkdwn';

// The thread replies of the release function (docs/design.md "Releases"): a vX.Y.Z build's
// files published under releases/, or why they were not. Keys are the machine's word until
// domain/artifact-layout.ts checked them, so every URI is shown in code, made inert.

/** The version being released and the artifact bucket its files are in. */
export interface ReleaseAt {
  version: string;
  bucket: string;
}

/** Checked before the version is claimed, so the build does not hold a version it cannot publish. */
export function releaseMissingFilesMessage(at: ReleaseAt, missingKeys: readonly string[]): string {
  const list = missingKeys.map((key) => code(s3Uri(at.bucket, key))).join(', ');
  return `⚠️ v${at.version} was not released: ${list} ${missingKeys.length === 1 ? 'is' : 'are'} missing.`;
}

/** Who holds the version: one build ever publishes it, and it may still be copying. */
export interface ReleaseHolder {
  buildId: string;
  published: boolean;
}

/** Another build holds the version; this build's OVA stays where its build left it. */
export function releaseRefusedMessage(at: ReleaseAt, holder: ReleaseHolder, ovaKey: string): string {
  const verb = holder.published ? 'was already released' : 'is being released';
  return `⚠️ v${at.version} ${verb} by ${code(holder.buildId)}: this build's OVA stays at ${code(s3Uri(at.bucket, ovaKey))}.`;
}

/** A published OVA that was not the build's bytes: what the build reported, and what was there. */
export interface ReleaseMismatch extends ReleaseAt {
  /** The build's OVA under builds/, which another build's machine may have overwritten. */
  key: string;
  expected: { bytes: number; sha256: string };
  found: { bytes: number; sha256: string };
}

/** The release was withdrawn: nothing is left under releases/, and the version may be released again. */
export function releaseWithdrawnMessage(m: ReleaseMismatch): string {
  return (
    `🚫 v${m.version} was not released: ${code(s3Uri(m.bucket, m.key))} is not the OVA this build reported ` +
    `(${m.expected.bytes} bytes, sha256 ${code(m.expected.sha256)}; found ${m.found.bytes} bytes, sha256 ${code(m.found.sha256)}). ` +
    `Another build's machine may have written it. Nothing was left under releases/; rebuild to release v${m.version}.`
  );
}

/** The copy command only when nothing in a shell could expand the URI (domain/build-facts.ts). */
export function releasedMessage(at: ReleaseAt, releasedOvaKey: string): string {
  const command = s3CopyCommand(at.bucket, releasedOvaKey);
  return `📦 Released v${at.version}: ${code(s3Uri(at.bucket, releasedOvaKey))}${command ? `\nDownload: ${code(command)}` : ''}`;
}

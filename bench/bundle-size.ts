import { build } from 'esbuild';
import { mkdirSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ESBUILD_OPTIONS, LAMBDA_ENTRIES, type LambdaName } from '../infra/bundling';
import { bundleLambda } from '../scripts/bundle';

// Measurement 1: every Lambda bundled exactly as the stack bundles it (scripts/bundle.ts, the
// shared ESBUILD_OPTIONS), and the yardstick, bench/minimal-bolt-app.ts, built with the same
// options. Raw bytes are what Node parses at a cold start; gzip bytes approximate the zip upload.

export const MINIMAL_APP = 'minimal-bolt-app';
export const MINIMAL_APP_ENTRY = 'bench/minimal-bolt-app.ts';

export interface BundleSize {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
}

export interface BundleSizes {
  lambdas: BundleSize[];
  minimal: BundleSize;
}

function measure(name: string, file: string): BundleSize {
  return { name, file, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length };
}

export async function bundleMinimalApp(outDir: string): Promise<string> {
  mkdirSync(join(outDir, MINIMAL_APP), { recursive: true });
  const outfile = join(outDir, MINIMAL_APP, 'index.js');
  await build({ ...ESBUILD_OPTIONS, entryPoints: [MINIMAL_APP_ENTRY], outfile });
  return outfile;
}

export async function measureBundles(outDir: string): Promise<BundleSizes> {
  const names = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
  const lambdas: BundleSize[] = [];
  for (const name of names) lambdas.push(measure(name, await bundleLambda(name, outDir)));
  return { lambdas, minimal: measure(MINIMAL_APP, await bundleMinimalApp(outDir)) };
}

export function bundleOf(sizes: BundleSizes, name: string): BundleSize {
  const found = name === MINIMAL_APP ? sizes.minimal : sizes.lambdas.find((b) => b.name === name);
  if (!found) throw new Error(`no bundle named ${name}`);
  return found;
}

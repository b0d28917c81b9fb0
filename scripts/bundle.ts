import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ESBUILD_OPTIONS, LAMBDA_ENTRIES, type LambdaName } from '../infra/bundling';

/** Bundle one Lambda exactly as the stack does; returns the output file. */
export async function bundleLambda(name: LambdaName, outDir = 'dist'): Promise<string> {
  mkdirSync(join(outDir, name), { recursive: true });
  const outfile = join(outDir, name, 'index.js');
  await build({ ...ESBUILD_OPTIONS, entryPoints: [LAMBDA_ENTRIES[name]], outfile });
  return outfile;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
    const file = await bundleLambda(name);
    console.log(`bundled ${name} → ${file}`);
  }
}

import type { App as BoltApp, AwsLambdaReceiver as BoltLambdaReceiver } from '@slack/bolt';
import * as appModule from '@slack/bolt/dist/App.js';
import * as lambdaReceiverModule from '@slack/bolt/dist/receivers/AwsLambdaReceiver.js';

// The two Bolt modules the bot runs, without Bolt's index: the index also loads the Express,
// HTTP and Socket Mode receivers with Express, body-parser, mime-db and more, which a Lambda
// behind a Function URL never uses. Left out of the bundle, they cost no cold start (`npm run
// bench`: the bundle 2.10 → 1.78 MB, the cold start about 60 ms less). Types still come from the
// index; they are erased.
//
// Both modules are CommonJS with `exports.default`. esbuild's bundle and Node's ESM loader (tsx,
// vitest) disagree on what a default import of such a module is (the class, or module.exports
// holding it), so the class is taken from whichever shape arrived.

function classOf<T>(module: unknown): T {
  const exported = (module as { default: unknown }).default;
  const inner = exported !== null && typeof exported === 'object' && 'default' in exported ? exported.default : exported;
  if (typeof inner !== 'function') throw new Error('a Bolt module did not export its class');
  return inner as T;
}

export const App = classOf<typeof BoltApp>(appModule);
export type App = BoltApp;
export const AwsLambdaReceiver = classOf<typeof BoltLambdaReceiver>(lambdaReceiverModule);
export type AwsLambdaReceiver = BoltLambdaReceiver;

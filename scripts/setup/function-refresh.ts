import { LambdaCallError, type FunctionConfigurations } from '../../adapters/aws/function-configuration';

// Every function reads the Slack secret once per container. Changing a function's configuration
// makes Lambda start new containers for it, which read the secret again: the set-up sets one
// variable to the secret's version, so a function already on this version is left alone.

export const SECRET_VERSION_VARIABLE = 'SLACK_SECRET_VERSION';

export interface RefreshResult {
  refreshed: string[];
  unchanged: string[];
}

/** One function could not be refreshed; the ones before it were. */
export class FunctionRefreshError extends Error {
  constructor(
    readonly functionName: string,
    readonly sofar: RefreshResult,
    cause: unknown,
  ) {
    super(`${functionName}: ${cause instanceof LambdaCallError ? `${cause.type}: ${cause.message}` : String(cause)}`, { cause });
    this.name = 'FunctionRefreshError';
  }
}

/** Attempts while Lambda still applies an earlier change (ResourceConflictException, just after a deploy). */
const CONFLICT_ATTEMPTS = 10;
const CONFLICT_WAIT_MS = 3000;

export async function refreshFunctions(
  functions: FunctionConfigurations,
  names: readonly string[],
  versionId: string,
  sleep: (ms: number) => Promise<void>,
): Promise<RefreshResult> {
  const result: RefreshResult = { refreshed: [], unchanged: [] };
  for (const name of names) {
    for (let attempt = 1; ; attempt++) {
      try {
        const environment = await functions.environment(name);
        if (environment.variables[SECRET_VERSION_VARIABLE] === versionId) {
          result.unchanged.push(name);
        } else {
          // The whole set is replaced by Lambda: every other variable goes back as it was.
          await functions.setEnvironment(name, { ...environment, variables: { ...environment.variables, [SECRET_VERSION_VARIABLE]: versionId } });
          result.refreshed.push(name);
        }
        break;
      } catch (error) {
        const retry = error instanceof LambdaCallError && (error.type === 'ResourceConflictException' || error.type === 'PreconditionFailedException');
        if (!retry || attempt >= CONFLICT_ATTEMPTS) throw new FunctionRefreshError(name, result, error);
        await sleep(CONFLICT_WAIT_MS);
      }
    }
  }
  return result;
}

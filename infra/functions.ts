import { RemovalPolicy, type Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ESBUILD_OPTIONS, LAMBDA_ENTRIES, RUNTIME_NODE_OPTIONS, type LambdaName } from './bundling';

/**
 * The newest Node.js runtime aws-cdk-lib offers (a test fails when a newer one appears, so the
 * bump is a decision). nodejs24.x runs only async handlers; every `handler` here is one.
 */
export const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

export const FUNCTION_NAME_PREFIX = 'labapp-metal-build-';

/** Tests pass stub code; the app bundles the real entries. */
export type CodeProvider = (name: LambdaName) => lambda.Code;

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

const LOG_LEVELS: Record<typeof ESBUILD_OPTIONS.logLevel, LogLevel> = { warning: LogLevel.WARNING };

/** infra/bundling.ts's esbuild options, spelled as NodejsFunction bundling: one definition. */
export function nodejsBundling(): BundlingOptions {
  return {
    format: ESBUILD_OPTIONS.format === 'cjs' ? OutputFormat.CJS : OutputFormat.ESM,
    target: ESBUILD_OPTIONS.target,
    minify: ESBUILD_OPTIONS.minify,
    sourceMap: ESBUILD_OPTIONS.sourcemap,
    // Empty: the AWS SDK is bundled (a pinned, tested version), not taken from the runtime.
    externalModules: ESBUILD_OPTIONS.external,
    mainFields: ESBUILD_OPTIONS.mainFields,
    logLevel: LOG_LEVELS[ESBUILD_OPTIONS.logLevel],
    esbuildArgs: { '--legal-comments': ESBUILD_OPTIONS.legalComments },
    // The installed esbuild bundles locally: no Docker, no network.
    forceDockerBundling: false,
  };
}

export interface FunctionSpec {
  name: LambdaName;
  description: string;
  role: iam.IRole;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  /**
   * For functions EventBridge invokes (asynchronously): Lambda's own retries of a failed
   * invocation, then this queue. The rule target's DLQ only sees delivery failures.
   */
  asyncFailure?: { queue: sqs.IQueue; retryAttempts: number; maxEventAge: Duration };
  /** Reserved concurrent executions; unset leaves the function in the account's shared pool. */
  reservedConcurrency?: number;
}

export function createFunction(scope: Construct, id: string, spec: FunctionSpec, code?: CodeProvider): lambda.Function {
  const functionName = `${FUNCTION_NAME_PREFIX}${spec.name}`;
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    logGroupName: `/aws/lambda/${functionName}`,
    retention: spec.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const common: lambda.FunctionOptions = {
    functionName,
    description: spec.description,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    role: spec.role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    // Source maps turn minified stack traces back into file:line; not in the bot (see RUNTIME_NODE_OPTIONS).
    environment: { ...spec.environment, ...(RUNTIME_NODE_OPTIONS[spec.name] ? { NODE_OPTIONS: RUNTIME_NODE_OPTIONS[spec.name] } : {}) },
    ...(spec.reservedConcurrency !== undefined && { reservedConcurrentExecutions: spec.reservedConcurrency }),
    ...(spec.asyncFailure && {
      deadLetterQueue: spec.asyncFailure.queue,
      retryAttempts: spec.asyncFailure.retryAttempts,
      maxEventAge: spec.asyncFailure.maxEventAge,
    }),
  };
  const fn = code
    ? new lambda.Function(scope, id, { ...common, runtime: NODE_RUNTIME, code: code(spec.name), handler: 'index.handler' })
    : new NodejsFunction(scope, id, {
        ...common,
        runtime: NODE_RUNTIME,
        entry: join(PROJECT_ROOT, LAMBDA_ENTRIES[spec.name]),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        bundling: nodejsBundling(),
      });
  // Explicit roles get no AWSLambdaBasicExecutionRole: writing to its own log group is all it needs.
  logGroup.grantWrite(spec.role);
  return fn;
}

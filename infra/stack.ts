import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { INDEXES, PARTITION_KEY, TABLE_DEFAULT_NAME, TTL_ATTRIBUTE } from '../adapters/aws/table-schema';
import { EVENT_RULES, WATCHDOG_SCHEDULE, type EventPattern } from '../domain/event-rules';
import { BOT_SOURCE, DETAIL_TYPES } from '../domain/events';
import { Alarms } from './alarms';
import { BUILD_LOG_GROUP_PREFIX, BuildMachine, putEventsConditions } from './build-machine';
import { DeadlineSchedules } from './deadline-schedules';
import type { LambdaName } from './bundling';
import { createFunction, type CodeProvider } from './functions';
import type { Settings } from './settings';
import { acknowledgeWildcards } from './wildcard-acknowledgement';

// The whole system in one account: docs/design.md "The flow". One stack per account: the table, bus,
// secrets and functions have fixed names so the operator commands in docs/operator-guide.md "Deploy" just work.

export const STACK_NAME = 'labapp-metal-build';
export const SLACK_SECRET_NAME = 'labapp-metal-build/slack';
export const GITHUB_SECRET_NAME = 'labapp-metal-build/github-token';
export const EVENT_TOKEN_SECRET_NAME = 'labapp-metal-build/event-token-key';
/** The functions that derive or check builds' event tokens; only they may read the key. */
export const EVENT_TOKEN_FUNCTIONS: readonly LambdaName[] = ['launch', 'build-phase'];
export const TOPIC_NAME = 'labapp-metal-builds';
/** Days a branch build (`builds/`) and any noncurrent object version stay in a created bucket. */
export const ARTIFACT_EXPIRY_DAYS = 90;

/**
 * Exactly what adapters/aws/dynamo-store.ts calls: no Scan (docs/design.md: `list` reads StatusIndex), no
 * DeleteItem, no batch or transaction.
 */
export const TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

type EventFunction = Exclude<LambdaName, 'bot'>;

interface FunctionPlan {
  description: string;
  memorySize: number;
  timeout: Duration;
}

const PLANS: Record<LambdaName, FunctionPlan> = {
  // 1024 MB buys CPU, and CPU shortens the cold start Slack's 3-second limit includes.
  bot: { description: 'Slack /metal-build and buttons (Function URL)', memorySize: 1024, timeout: Duration.seconds(10) },
  launch: { description: 'Build Approved → RunInstances', memorySize: 512, timeout: Duration.minutes(2) },
  'instance-state': { description: 'EC2 state changes → the build record', memorySize: 512, timeout: Duration.minutes(1) },
  'build-phase': { description: "The runner's Build Phase events → the build record", memorySize: 512, timeout: Duration.minutes(1) },
  watchdog: { description: 'Every minute: lifetimes, orphans, stuck builds, stale approvals', memorySize: 512, timeout: Duration.minutes(1) },
  cancel: { description: 'Build Cancel Requested → TerminateInstances', memorySize: 512, timeout: Duration.minutes(1) },
  deadline: { description: "Build Extended → the build's deadline schedule moves", memorySize: 512, timeout: Duration.minutes(1) },
  // Server-side copies of a multi-GB OVA (512 MiB parts): minutes, not seconds.
  release: { description: 'A completed vX.Y.Z build → releases/vX.Y.Z/ (once per version)', memorySize: 512, timeout: Duration.minutes(15) },
};

/**
 * Retries per EventBridge-invoked function. `target` is EventBridge's delivery retry; `lambda` is
 * Lambda's retry of a failed asynchronous invocation. A watchdog tick is superseded a minute later,
 * so it is not retried: a failure goes straight to the queue (and the alarms).
 */
const RETRIES: Record<EventFunction, { target: number; targetAge: Duration; lambda: number; lambdaAge: Duration }> = {
  launch: { target: 8, targetAge: Duration.hours(1), lambda: 2, lambdaAge: Duration.hours(1) },
  cancel: { target: 8, targetAge: Duration.hours(1), lambda: 2, lambdaAge: Duration.hours(1) },
  'instance-state': { target: 8, targetAge: Duration.hours(6), lambda: 2, lambdaAge: Duration.hours(6) },
  'build-phase': { target: 8, targetAge: Duration.hours(6), lambda: 2, lambdaAge: Duration.hours(6) },
  watchdog: { target: 1, targetAge: Duration.minutes(2), lambda: 0, lambdaAge: Duration.minutes(2) },
  // The watchdog moves a stale schedule within a minute too; retries only make it sooner.
  deadline: { target: 8, targetAge: Duration.hours(1), lambda: 2, lambdaAge: Duration.hours(1) },
  // Like launch: it throws while build-phase has not recorded `completed` yet, and is delivered again.
  release: { target: 8, targetAge: Duration.hours(1), lambda: 2, lambdaAge: Duration.hours(1) },
};

/** The functions that create or move deadline schedules, and so may pass Scheduler its role. */
export const SCHEDULE_KEEPERS: readonly LambdaName[] = ['launch', 'deadline', 'watchdog'];
/** The events functions whose rows free a slot (launch failure, a machine's end, the watchdog): each may hand it to the queue. */
export const SLOT_FREEING_FUNCTIONS = ['launch', 'instance-state', 'watchdog'] as const satisfies readonly LambdaName[];

/**
 * The functions that read build machines' logs (GetLogEvents): the bot for `logs` and Show log, the
 * ones that tell a running build's warning or its forced or unexpected end, with its newest lines.
 */
export const LOG_READERS: readonly LambdaName[] = ['bot', 'watchdog', 'instance-state', 'deadline'];

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

export interface MetalBuildStackProps extends StackProps {
  settings: Settings;
  /** Stub code for template tests; without it every function is bundled from its entry file. */
  code?: CodeProvider;
}

export class MetalBuildStack extends Stack {
  readonly table: dynamodb.Table;
  readonly bus: events.EventBus;
  readonly topic: sns.Topic;
  readonly slackSecret: secretsmanager.Secret;
  readonly githubSecret?: secretsmanager.Secret;
  readonly eventTokenSecret: secretsmanager.Secret;
  readonly bucket: s3.IBucket;
  readonly buildMachine: BuildMachine;
  readonly deadlineSchedules: DeadlineSchedules;
  readonly functions: Record<LambdaName, lambda.Function>;
  readonly roles: Record<LambdaName, iam.Role>;
  readonly deadLetterQueues: Record<EventFunction, sqs.Queue>;
  readonly functionUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: MetalBuildStackProps) {
    super(scope, id, {
      description: 'metal-build: Slack ChatOps for bare-metal Hedgehog Lab OVA builds',
      ...props,
    });
    const { settings } = props;
    Tags.of(this).add('Project', 'labapp');

    this.table = new dynamodb.Table(this, 'Builds', {
      tableName: TABLE_DEFAULT_NAME,
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // The build history (costs, who approved what) outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        ...(index.sortKey && { sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING } }),
        ...(index.include
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }
          : { projectionType: dynamodb.ProjectionType.ALL }),
      });
    }

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: settings.config.eventBusName });

    this.topic = new sns.Topic(this, 'Notifications', { topicName: TOPIC_NAME, displayName: 'metal-build', enforceSSL: true });
    // A topic policy replaces SNS's default one, and enforceSSL's leaves only a Deny: without this
    // Allow the alarms could never publish. Only this account's alarms, so no other account's
    // alarm can use the topic to mail the operators (the confused-deputy keys AWS recommends).
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );
    if (settings.notificationEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(settings.notificationEmail));

    // A random signing secret until the real one is filled in: requests fail signature checks
    // (closed) rather than being verified against a placeholder anyone could read.
    this.slackSecret = new secretsmanager.Secret(this, 'SlackSecret', {
      secretName: SLACK_SECRET_NAME,
      description: 'Slack app credentials for metal-build: {"signingSecret","botToken"}. Fill in after deploy (docs/operator-guide.md "Deploy").',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ botToken: 'REPLACE-WITH-xoxb-TOKEN' }),
        generateStringKey: 'signingSecret',
        excludePunctuation: true,
        passwordLength: 32,
      },
    });
    Validations.of(this.slackSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Slack issues these credentials; they are rotated in the Slack app settings and pasted here, Secrets Manager cannot rotate them.',
    });
    if (settings.githubToken) {
      this.githubSecret = new secretsmanager.Secret(this, 'GithubToken', {
        secretName: GITHUB_SECRET_NAME,
        description: 'GitHub token (plain string) the build machine uses to clone a private repository. Fill in after deploy.',
        generateSecretString: { excludePunctuation: true, passwordLength: 40 },
      });
      Validations.of(this.githubSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'GitHub issues the token; it is rotated on GitHub and pasted here, Secrets Manager cannot rotate it.',
      });
    }

    // The key under which the launch derives each build's event token (events/event-token.ts).
    // Generated here and never seen by anyone: no machine and no other function can read it.
    this.eventTokenSecret = new secretsmanager.Secret(this, 'EventTokenKey', {
      secretName: EVENT_TOKEN_SECRET_NAME,
      description: "HMAC key of the build machines' event tokens (plain string). Generated; nothing to fill in.",
      generateSecretString: { excludePunctuation: true, passwordLength: 64 },
    });
    Validations.of(this.eventTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A rotation would need a rotation function for a key only two functions read; a launched build is checked against the hash its record keeps, so replacing the value by hand between builds is safe.',
    });

    this.bucket = settings.createArtifactBucket
      ? this.createArtifactBucket()
      : s3.Bucket.fromBucketName(this, 'Artifacts', settings.artifactBucketName ?? settings.config.artifactBucket);

    this.buildMachine = new BuildMachine(this, 'BuildMachine', {
      settings,
      bus: this.bus,
      bucket: this.bucket,
      githubSecret: this.githubSecret,
    });

    this.deadlineSchedules = new DeadlineSchedules(this, 'DeadlineSchedules', {
      groupName: settings.config.scheduleGroup,
      buildMachine: this.buildMachine,
    });

    const environment: Record<string, string> = {
      ...settings.knobs,
      BUILDS_TABLE: this.table.tableName,
      EVENT_BUS_NAME: this.bus.eventBusName,
      SNS_TOPIC_ARN: this.topic.topicArn,
      SLACK_SECRET_ARN: this.slackSecret.secretArn,
      ARTIFACT_BUCKET: this.bucket.bucketName,
      // The launch template and the cost estimate must agree on the disk.
      VOLUME_SIZE_GB: String(settings.config.volumeSizeGb),
      LAUNCH_TEMPLATE_ID: this.buildMachine.launchTemplate.launchTemplateId!,
      // The template's AMI: a self-test's root disk is sized from its snapshot (DescribeImages).
      BUILDER_IMAGE_ID: this.buildMachine.imageId,
      SUBNET_IDS: Fn.join(
        ',',
        this.buildMachine.vpc.publicSubnets.map((s) => s.subnetId),
      ),
      // Only the ARN: the launch function hands it to the machine, which alone may read it.
      ...(this.githubSecret && { GITHUB_SECRET_ARN: this.githubSecret.secretArn }),
      SCHEDULE_GROUP: settings.config.scheduleGroup,
    };
    const scheduling = {
      SCHEDULER_ROLE_ARN: this.deadlineSchedules.role.roleArn,
      SCHEDULE_DLQ_ARN: this.deadlineSchedules.deadLetterQueue.queueArn,
    };

    this.deadLetterQueues = Object.fromEntries(
      (Object.keys(RETRIES) as EventFunction[]).map((name) => [
        name,
        new sqs.Queue(this, `${pascal(name)}Dlq`, {
          queueName: `labapp-metal-build-${name}-dlq`,
          encryption: sqs.QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          retentionPeriod: Duration.days(14),
        }),
      ]),
    ) as Record<EventFunction, sqs.Queue>;

    const names = Object.keys(PLANS) as LambdaName[];
    this.roles = Object.fromEntries(
      names.map((name) => [
        name,
        new iam.Role(this, `${pascal(name)}Role`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description: `metal-build ${name} function`,
        }),
      ]),
    ) as Record<LambdaName, iam.Role>;

    this.functions = Object.fromEntries(
      names.map((name) => {
        const retries = name === 'bot' ? undefined : RETRIES[name];
        const fn = createFunction(
          this,
          pascal(name),
          {
            name,
            ...PLANS[name],
            role: this.roles[name],
            environment: {
              ...environment,
              ...(EVENT_TOKEN_FUNCTIONS.includes(name) && { EVENT_TOKEN_SECRET_ARN: this.eventTokenSecret.secretArn }),
              ...(SCHEDULE_KEEPERS.includes(name) && scheduling),
            },
            logRetention: settings.logRetentionDays,
            ...(name === 'watchdog' &&
              settings.watchdogReservedConcurrency !== undefined && {
                reservedConcurrency: settings.watchdogReservedConcurrency,
              }),
            ...(retries && {
              asyncFailure: {
                queue: this.deadLetterQueues[name as EventFunction],
                retryAttempts: retries.lambda,
                maxEventAge: retries.lambdaAge,
              },
            }),
          },
          props.code,
        );
        return [name, fn];
      }),
    ) as Record<LambdaName, lambda.Function>;

    this.grantPermissions();
    this.functionUrl = this.functions.bot.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.addRules();

    new Alarms(this, 'Alarms', {
      topic: this.topic,
      functions: this.functions,
      deadLetterQueues: { ...this.deadLetterQueues, 'deadline-schedules': this.deadlineSchedules.deadLetterQueue },
      watchdog: this.functions.watchdog,
    });

    new CfnOutput(this, 'SlackRequestUrl', {
      description: 'Paste into the Slack app: slash command /metal-build and Interactivity Request URL',
      value: Fn.join('', [this.functionUrl.url, 'slack/events']),
    });
    new CfnOutput(this, 'BotFunctionUrl', { description: 'The bot function URL', value: this.functionUrl.url });
    new CfnOutput(this, 'BuildsTableName', { value: this.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'BuildLogGroupPrefix', { description: 'Each build logs to <prefix><build-id>', value: BUILD_LOG_GROUP_PREFIX });
    new CfnOutput(this, 'SlackSecretArn', { description: 'Fill in signingSecret and botToken', value: this.slackSecret.secretArn });
    // npm run setup makes each of these read the Slack secret again: named from the stack, so a
    // function added here is never missed by a hand-kept list.
    new CfnOutput(this, 'FunctionNames', {
      description: 'Every function of the stack (comma list)',
      value: Fn.join(
        ',',
        Object.values(this.functions).map((fn) => fn.functionName),
      ),
    });
    new CfnOutput(this, 'ArtifactBucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'LaunchTemplateId', { value: this.buildMachine.launchTemplate.launchTemplateId! });
    if (this.githubSecret) new CfnOutput(this, 'GithubTokenSecretArn', { value: this.githubSecret.secretArn });
  }

  private createArtifactBucket(): s3.Bucket {
    // No fixed name: bucket names are global, and a generated one cannot collide with another
    // account's (the functions and the machine get it from the environment).
    const bucket = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [
        // Versioning keeps an overwritten or deleted object billed until its old version expires.
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(ARTIFACT_EXPIRY_DAYS), expiredObjectDeleteMarker: true },
        // Branch builds are for testing; releases/ is kept for good.
        { id: 'expire-branch-builds', prefix: 'builds/', expiration: Duration.days(ARTIFACT_EXPIRY_DAYS) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // Releases are the product: never deleted with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Writes come only from the build machine role; CloudTrail data events are the place for an access audit, not a second bucket of access logs.',
    });
    return bucket;
  }

  private grantPermissions(): void {
    const tableResources = [this.table.tableArn, ...INDEXES.map((index) => `${this.table.tableArn}/index/${index.name}`)];
    for (const [name, role] of Object.entries(this.roles) as Array<[LambdaName, iam.Role]>) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'BuildsTable', actions: TABLE_ACTIONS, resources: tableResources }));
      // Every function posts to the build's Slack thread.
      this.slackSecret.grantRead(role);
      if (name !== 'bot') this.topic.grantPublish(role);
      if (EVENT_TOKEN_FUNCTIONS.includes(name)) this.eventTokenSecret.grantRead(role);
    }
    this.roles.bot.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BotEventsOnly',
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: putEventsConditions(BOT_SOURCE, [DETAIL_TYPES.approved, DETAIL_TYPES.cancelRequested, DETAIL_TYPES.extended]),
      }),
    );
    // A freed slot goes to the queue's head, whose launch is asked for with `Build Approved`
    // (use-cases/slot-queue.ts): by the functions whose rows free slots, and only that event.
    for (const name of SLOT_FREEING_FUNCTIONS)
      this.roles[name].addToPolicy(
        new iam.PolicyStatement({
          sid: 'QueueHandOver',
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          conditions: putEventsConditions(BOT_SOURCE, [DETAIL_TYPES.approved]),
        }),
      );
    this.buildMachine.grantLaunch(this.roles.launch);
    // Launch terminates the machine it just started when the build was cancelled meanwhile, and
    // looks for a machine of the build an earlier delivery started (DescribeInstances by the
    // BuildID tag) before launching one. DescribeInstances cannot be scoped to resources or
    // tags: IAM allows it on "*" only, so the launch role can list every instance's metadata.
    this.buildMachine.grantTerminate(this.roles.launch, { describe: true });
    this.buildMachine.grantCapacityChecks(this.roles.launch);
    this.buildMachine.grantDeleteLooseVolumes(this.roles.watchdog);
    // Deadlines: set by the launch, moved by the deadline function, repaired by the watchdog,
    // removed by whoever learns the machine is gone (docs/design.md "Deadlines").
    for (const name of SCHEDULE_KEEPERS) this.deadlineSchedules.grantKeep(this.roles[name]);
    this.deadlineSchedules.grantList(this.roles.watchdog);
    this.deadlineSchedules.grantRemove(this.roles['instance-state']);
    this.buildMachine.grantTerminate(this.roles.watchdog, { describe: true });
    this.buildMachine.grantTerminate(this.roles.cancel, { describe: true });
    this.grantPublishReleases(this.roles.release);
    this.grantReadBuildLogs();
  }

  /** GetLogEvents on the build log groups (/labapp/metal-builds/<BuildID>) and on no other group. */
  private grantReadBuildLogs(): void {
    const buildLogGroups = this.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${BUILD_LOG_GROUP_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    for (const name of LOG_READERS) {
      this.roles[name].addToPolicy(new iam.PolicyStatement({ sid: 'ReadBuildLogs', actions: ['logs:GetLogEvents'], resources: [buildLogGroups] }));
      acknowledgeWildcards(
        this.roles[name],
        [buildLogGroups],
        'One log group per build, named by its build ID at run time; the role reads /labapp/metal-builds/ groups and no other.',
      );
    }
  }

  /**
   * The release function: it reads a build's files under builds/ and is the only role that may
   * write releases/ (the machine role only reads and lists it). CopyObject and UploadPartCopy
   * need s3:GetObject on the source and s3:PutObject on the target; HeadObject is s3:GetObject.
   * It reads back what it published (s3:GetObject on releases/) and deletes it when it was not
   * the build's bytes (s3:DeleteObject on releases/).
   */
  private grantPublishReleases(role: iam.Role): void {
    const buildObjects = this.bucket.arnForObjects('builds/*');
    const releaseObjects = this.bucket.arnForObjects('releases/*');
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadBuildArtifacts', actions: ['s3:GetObject'], resources: [buildObjects, releaseObjects] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishReleases',
        // AbortMultipartUpload: a failed multi-GB copy removes its parts instead of leaving them billed.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        resources: [releaseObjects],
      }),
    );
    acknowledgeWildcards(
      role,
      [buildObjects, releaseObjects],
      'Object keys contain the build ID or release version, known only at run time; the role reads builds/ and writes releases/, nothing else in the bucket.',
    );
  }

  private addRules(): void {
    const target = (name: EventFunction) =>
      new targets.LambdaFunction(this.functions[name], {
        deadLetterQueue: this.deadLetterQueues[name],
        retryAttempts: RETRIES[name].target,
        maxEventAge: RETRIES[name].targetAge,
      });
    // An EventBridge pattern as CDK's `eventPattern` takes it: CDK renames only its `detailType`
    // to `detail-type` when it renders the template and passes every other field (nested ones
    // too) as is.
    const cdkEventPattern = (pattern: EventPattern) =>
      Object.fromEntries(Object.entries(pattern).map(([field, value]) => [field === 'detail-type' ? 'detailType' : field, value])) as events.EventPattern;
    // domain/event-rules.ts: the same patterns the sandbox routes by. A rule on the default bus
    // (EC2 state changes, where AWS puts them) gets no eventBus.
    for (const rule of EVENT_RULES) {
      new events.Rule(this, rule.id, {
        ruleName: rule.name,
        ...(rule.bus === 'custom' ? { eventBus: this.bus } : {}),
        eventPattern: cdkEventPattern(rule.pattern),
        targets: [target(rule.target)],
      });
    }
    new events.Rule(this, WATCHDOG_SCHEDULE.id, {
      ruleName: WATCHDOG_SCHEDULE.name,
      schedule: events.Schedule.expression(WATCHDOG_SCHEDULE.expression),
      targets: [target(WATCHDOG_SCHEDULE.target)],
    });
  }
}

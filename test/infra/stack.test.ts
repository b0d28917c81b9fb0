import { App, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTableInput } from '../../adapters/aws/table-schema';
import { parseConfig } from '../../domain/config';
import { createApp } from '../../infra/app';
import { UBUNTU_2204_AMI_PARAMETER } from '../../infra/build-machine';
import { LAMBDA_ENTRIES, type LambdaName } from '../../infra/bundling';
import { NODE_RUNTIME, nodejsBundling } from '../../infra/functions';
import type { MetalBuildStack } from '../../infra/stack';

// Two in-process synths shared by every assertion: the defaults, and every option turned on.
// Functions get stub code here (their entry files are tested elsewhere); app.test.ts synthesizes
// the real app, bundles included, through the CDK CLI.

// CloudFormation schema validation adds ~20 s per synth; app.test.ts runs it once, on the real app.
process.env.CDK_VALIDATION = 'false';

const FULL_CONTEXT = {
  artifactBucket: 'hedgehog-lab-artifacts',
  watchdogReservedConcurrency: '1',
  githubToken: 'true',
  notificationEmail: 'platform@example.com',
  sshAllowedCidrs: '203.0.113.0/24,2001:db8:1234::/48',
  builderAmiId: 'ami-0123456789abcdef0',
  volumeSize: '800',
  maxConcurrentBuilds: '2',
};

interface Synth {
  app: App;
  stack: MetalBuildStack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }> };
}

function synth(context: Record<string, unknown>): Synth {
  const { app, stack } = createApp({ context, code: () => Code.fromInline('exports.handler = async () => {}') });
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as Synth['json'] };
}

let base: Synth;
let full: Synth;

beforeAll(() => {
  // No credentials, profile or region anywhere: synth must not need them.
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  process.env.AWS_CONFIG_FILE = '/nonexistent/config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
  base = synth({});
  full = synth(FULL_CONTEXT);
}, 120_000);

// ---- helpers: CloudFormation values as flat strings (`<Logical.Arn>`), as cdk-nag spells them ----

const logicalId = (s: Synth, construct: IConstruct) => s.stack.resolve(s.stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;

function flat(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(flat);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) return flattenCfnReference(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flat(v)]));
  }
  return value;
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

function statementsOf(s: Synth, role: iam.Role): Statement[] {
  const roleId = logicalId(s, role);
  return Object.values(s.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as Array<{ Ref: string }>).some((x) => x.Ref === roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: unknown[] }).Statement)
    .map((raw) => {
      const st = flat(raw) as Statement & { Action: string | string[]; Resource: string | string[] };
      return { ...st, Action: [st.Action].flat(), Resource: [st.Resource].flat() };
    });
}

const actionsOf = (statements: Statement[]) => statements.flatMap((st) => st.Action);
const withAction = (statements: Statement[], action: string) => statements.filter((st) => st.Action.includes(action));

function resourcesOfType(s: Synth, type: string) {
  return Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
}

const fnName = (name: LambdaName) => `labapp-metal-build-${name}`;
const NAMES = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
const EVENT_NAMES = NAMES.filter((n) => n !== 'bot');

function functionProps(s: Synth, name: LambdaName) {
  const found = resourcesOfType(s, 'AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === fnName(name));
  if (!found) throw new Error(`no function ${name}`);
  return { id: found[0], props: found[1].Properties };
}

// ---- offline, environment-agnostic ----

describe('synth', () => {
  it('needs no account, region, credentials or context lookup', () => {
    for (const s of [base, full]) {
      expect(Token.isUnresolved(s.stack.account)).toBe(true);
      expect(Token.isUnresolved(s.stack.region)).toBe(true);
      const assembly = s.app.synth();
      expect(assembly.manifest.missing ?? []).toEqual([]);
    }
  });

  it('resolves the Ubuntu 22.04 AMI through a CloudFormation parameter, or takes builderAmiId', () => {
    base.template.hasParameter('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: UBUNTU_2204_AMI_PARAMETER });
    const lt = flat(resourcesOfType(base, 'AWS::EC2::LaunchTemplate')[0]![1].Properties) as { LaunchTemplateData: { ImageId: string } };
    expect(lt.LaunchTemplateData.ImageId).toMatch(/^<SsmParameterValue.*Parameter>$/);

    expect(JSON.stringify(full.json)).not.toContain(UBUNTU_2204_AMI_PARAMETER);
    full.template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: 'ami-0123456789abcdef0' }) });
  });
});

// ---- table ----

describe('builds table', () => {
  it('is declared from adapters/aws/table-schema.ts: keys, GSIs, on-demand', () => {
    const expected = createTableInput();
    const table = resourcesOfType(base, 'AWS::DynamoDB::Table');
    expect(table).toHaveLength(1);
    const props = table[0]![1].Properties as Record<string, unknown>;
    expect(props.TableName).toBe(expected.TableName);
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.KeySchema).toEqual(expected.KeySchema);
    expect(new Set(props.AttributeDefinitions as unknown[])).toEqual(new Set(expected.AttributeDefinitions));
    expect(props.AttributeDefinitions).toHaveLength(expected.AttributeDefinitions.length);
    expect(props.GlobalSecondaryIndexes).toEqual(expected.GlobalSecondaryIndexes);
  });

  it('has point-in-time recovery, TTL on ExpirationTime, and outlives the stack', () => {
    base.template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ExpirationTime', Enabled: true },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

// ---- bus, rules, dead-letter queues ----

describe('events', () => {
  it('has the bus labapp-metal-builds', () => {
    base.template.resourceCountIs('AWS::Events::EventBus', 1);
    base.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'labapp-metal-builds' });
  });

  const rule = (s: Synth, name: string) => {
    const found = resourcesOfType(s, 'AWS::Events::Rule').find(([, r]) => r.Properties.Name === name);
    if (!found) throw new Error(`no rule ${name}`);
    return flat(found[1].Properties) as {
      EventPattern?: unknown;
      ScheduleExpression?: string;
      EventBusName?: string;
      Targets: Array<{ Arn: string; RetryPolicy?: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number }; DeadLetterConfig?: { Arn: string } }>;
    };
  };
  const bus = () => `<${logicalId(base, base.stack.bus)}>`;
  const fnArn = (name: LambdaName) => `<${logicalId(base, base.stack.functions[name])}.Arn>`;

  it.each([
    ['labapp-metal-build-approved', 'labapp.metal-build', 'Build Approved', 'launch'],
    ['labapp-metal-build-cancel-requested', 'labapp.metal-build', 'Build Cancel Requested', 'cancel'],
    ['labapp-metal-build-phase', 'labapp.metal-build.runner', 'Build Phase', 'build-phase'],
  ] as const)('%s: exactly source %s and detail-type %s on the bus, to %s', (name, source, detailType, target) => {
    const r = rule(base, name);
    expect(r.EventPattern).toEqual({ source: [source], 'detail-type': [detailType] });
    expect(r.EventBusName).toBe(bus());
    expect(r.Targets.map((t) => t.Arn)).toEqual([fnArn(target)]);
  });

  it("takes the runner's completed phases on the bus to release as well (build-phase gets them too)", () => {
    const r = rule(base, 'labapp-metal-build-release');
    expect(r.EventPattern).toEqual({ source: ['labapp.metal-build.runner'], 'detail-type': ['Build Phase'], detail: { phase: ['completed'] } });
    expect(r.EventBusName).toBe(bus());
    expect(r.Targets.map((t) => t.Arn)).toEqual([fnArn('release')]);
    expect(r.Targets[0]!.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 });
    const props = functionProps(base, 'release').props;
    expect(props.Timeout).toBe(900);
    expect(props.MemorySize).toBe(512);
  });

  it('takes EC2 state changes from the default bus to instance-state', () => {
    const r = rule(base, 'labapp-metal-build-instance-state');
    expect(r.EventPattern).toEqual({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] });
    expect(r.EventBusName).toBeUndefined();
    expect(r.Targets.map((t) => t.Arn)).toEqual([fnArn('instance-state')]);
  });

  it('runs the watchdog at rate(1 minute)', () => {
    const r = rule(base, 'labapp-metal-build-watchdog');
    expect(r.ScheduleExpression).toBe('rate(1 minute)');
    expect(r.Targets.map((t) => t.Arn)).toEqual([fnArn('watchdog')]);
  });

  it('gives every target a retry policy and its function’s SQS dead-letter queue, which also takes failed invocations', () => {
    const rules = resourcesOfType(base, 'AWS::Events::Rule');
    expect(rules).toHaveLength(7);
    for (const [, r] of rules) {
      for (const t of (flat(r.Properties) as ReturnType<typeof rule>).Targets) {
        expect(t.RetryPolicy?.MaximumRetryAttempts).toBeGreaterThan(0);
        expect(t.RetryPolicy?.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60);
        const name = EVENT_NAMES.find((n) => fnArn(n) === t.Arn)!;
        const queue = `<${logicalId(base, base.stack.deadLetterQueues[name as Exclude<LambdaName, 'bot'>])}.Arn>`;
        expect(t.DeadLetterConfig?.Arn).toBe(queue);
        // Lambda retries a failed asynchronous invocation itself, then sends it to the same queue.
        expect(flat(functionProps(base, name).props.DeadLetterConfig)).toEqual({ TargetArn: queue });
      }
    }
    // One per event function, and the deadline schedules' own.
    base.template.resourceCountIs('AWS::SQS::Queue', 8);
    base.template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    // SQS names are unique per account and region: two queues of one name would not deploy.
    const names = Object.values(base.template.findResources('AWS::SQS::Queue')).map((q) => (q as { Properties: { QueueName: string } }).Properties.QueueName);
    expect(new Set(names).size).toBe(8);
    base.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 7);
  });
});

// ---- functions ----

describe('functions', () => {
  it('use the newest Node.js runtime aws-cdk-lib offers, at least nodejs22.x', () => {
    const nodeVersions = Object.getOwnPropertyNames(Runtime)
      .map((key) => /^NODEJS_(\d+)_X$/.exec(key)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number);
    const newest = Math.max(...nodeVersions);
    expect(newest).toBeGreaterThanOrEqual(22);
    expect(NODE_RUNTIME.name).toBe(`nodejs${newest}.x`);
    base.template.resourceCountIs('AWS::Lambda::Function', NAMES.length);
    base.template.allResourcesProperties('AWS::Lambda::Function', { Runtime: `nodejs${newest}.x`, Architectures: ['arm64'] });
  });

  it('run with source maps, except the bot (its cold start; see RUNTIME_NODE_OPTIONS)', () => {
    for (const name of NAMES) {
      const env = (functionProps(base, name).props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.NODE_OPTIONS, name).toBe(name === 'bot' ? undefined : '--enable-source-maps');
    }
  });

  it('are bundled with infra/bundling.ts: CommonJS, the SDK inside, minified, source maps, no Docker', () => {
    expect(nodejsBundling()).toEqual({
      format: OutputFormat.CJS,
      target: 'node22',
      minify: true,
      sourceMap: true,
      externalModules: [],
      mainFields: ['module', 'main'],
      logLevel: 'warning',
      esbuildArgs: { '--legal-comments': 'none' },
      forceDockerBundling: false,
    });
  });

  it('log JSON to their own log group with a retention', () => {
    for (const name of NAMES) {
      const { props } = functionProps(base, name);
      const logging = flat(props.LoggingConfig) as { LogFormat: string; LogGroup: string };
      expect(logging.LogFormat).toBe('JSON');
      const group = base.json.Resources[logging.LogGroup.slice(1, -1)]!;
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.Properties).toMatchObject({ LogGroupName: `/aws/lambda/${fnName(name)}`, RetentionInDays: 30 });
    }
  });

  it('give the bot 1024 MB and a public Function URL (Slack signatures authenticate it)', () => {
    const { id, props } = functionProps(base, 'bot');
    expect(props.MemorySize).toBe(1024);
    base.template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [id, 'Arn'] } });
    base.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionUrlAuthType: 'NONE',
      Principal: '*',
      FunctionName: { 'Fn::GetAtt': [id, 'Arn'] },
    });
    base.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      InvokedViaFunctionUrl: true,
      Principal: '*',
      FunctionName: { 'Fn::GetAtt': [id, 'Arn'] },
    });
  });

  it('get an environment domain/config.ts accepts, with the stack’s resources in it', () => {
    for (const s of [base, full]) {
      for (const name of NAMES) {
        const env = (functionProps(s, name).props.Environment as { Variables: Record<string, unknown> }).Variables;
        for (const key of [
          'BUILDS_TABLE',
          'EVENT_BUS_NAME',
          'SNS_TOPIC_ARN',
          'SLACK_SECRET_ARN',
          'ARTIFACT_BUCKET',
          'LAUNCH_TEMPLATE_ID',
          'BUILDER_IMAGE_ID',
          'SUBNET_IDS',
          'VOLUME_SIZE_GB',
        ])
          expect(env[key], `${name} ${key}`).toBeDefined();
        const asText = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k}`]));
        expect(() => parseConfig(asText)).not.toThrow();
      }
    }
    const fullEnv = (functionProps(full, 'launch').props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(fullEnv).toMatchObject({ VOLUME_SIZE_GB: '800', MAX_CONCURRENT_BUILDS: '2' });
    expect(flat(fullEnv.GITHUB_SECRET_ARN)).toBe(`<${logicalId(full, full.stack.githubSecret!)}>`);
  });
});

// ---- secrets and notifications ----

describe('secrets and notifications', () => {
  it('create the Slack secret with the JSON keys signingSecret and botToken', () => {
    const secret = resourcesOfType(base, 'AWS::SecretsManager::Secret').filter(([, r]) => r.Properties.Name === 'labapp-metal-build/slack');
    expect(secret).toHaveLength(1);
    const generate = secret[0]![1].Properties.GenerateSecretString as { SecretStringTemplate: string; GenerateStringKey: string };
    const keys = [...Object.keys(JSON.parse(generate.SecretStringTemplate) as object), generate.GenerateStringKey];
    expect(keys.sort()).toEqual(['botToken', 'signingSecret']);
    expect(secret[0]![1].Properties.Name).toBe('labapp-metal-build/slack');
  });

  it('let every function read the Slack secret (all of them post to Slack), and only launch and build-phase the event-token key', () => {
    const slack = `<${logicalId(base, base.stack.slackSecret)}>`;
    const key = `<${logicalId(base, base.stack.eventTokenSecret)}>`;
    for (const name of NAMES) {
      const reads = withAction(statementsOf(base, base.stack.roles[name]), 'secretsmanager:GetSecretValue');
      expect(reads.flatMap((st) => st.Resource).sort(), name).toEqual(name === 'launch' || name === 'build-phase' ? [key, slack].sort() : [slack]);
    }
  });

  it('generate the event-token key (64 characters, nothing to fill in) and give its ARN to launch and build-phase only', () => {
    const [secret] = resourcesOfType(base, 'AWS::SecretsManager::Secret').filter(([, r]) => r.Properties.Name === 'labapp-metal-build/event-token-key');
    expect(secret![1].Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
    const key = `<${logicalId(base, base.stack.eventTokenSecret)}>`;
    for (const name of NAMES) {
      const env = (functionProps(base, name).props.Environment as { Variables: Record<string, unknown> }).Variables;
      if (name === 'launch' || name === 'build-phase') expect(flat(env.EVENT_TOKEN_SECRET_ARN), name).toBe(key);
      else expect(env.EVENT_TOKEN_SECRET_ARN, name).toBeUndefined();
    }
    // Nothing else may read it: not the machine role, not the other functions.
    const readers = Object.values(base.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(flat(r.Properties.PolicyDocument)).includes(key))
      .flatMap((r) => flat(r.Properties.Roles) as string[])
      .sort();
    expect(readers).toEqual([`<${logicalId(base, base.stack.roles['build-phase'])}>`, `<${logicalId(base, base.stack.roles.launch)}>`].sort());
  });

  it('let only the machine role read the optional GitHub token secret', () => {
    expect(base.stack.githubSecret).toBeUndefined();
    const github = `<${logicalId(full, full.stack.githubSecret!)}>`;
    const readers = Object.values(full.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(flat(r.Properties.PolicyDocument)).includes(github))
      .map((r) => flat(r.Properties.Roles));
    expect(readers).toEqual([[`<${logicalId(full, full.stack.buildMachine.role)}>`]]);
  });

  it('subscribe the notification email only when given', () => {
    base.template.resourceCountIs('AWS::SNS::Topic', 1);
    base.template.resourceCountIs('AWS::SNS::Subscription', 0);
    full.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'platform@example.com' });
  });
});

// ---- alarms ----

describe('alarms', () => {
  const topic = () => `<${logicalId(base, base.stack.topic)}>`;
  const alarms = () => resourcesOfType(base, 'AWS::CloudWatch::Alarm').map(([, r]) => flat(r.Properties) as Record<string, unknown>);

  it('tell SNS when any dead-letter queue is not empty', () => {
    for (const [name, queue] of Object.entries(base.stack.deadLetterQueues)) {
      const alarm = alarms().find(
        (a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Dimensions).includes(logicalId(base, queue)),
      );
      expect(alarm, name).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: [topic()] });
    }
  });

  it('tell SNS about errors in any function', () => {
    for (const name of NAMES) {
      const fn = `<${logicalId(base, base.stack.functions[name])}>`;
      const alarm = alarms().find((a) => a.MetricName === 'Errors' && JSON.stringify(a.Dimensions).includes(fn));
      expect(alarm, name).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: [topic()] });
    }
  });

  it('tell SNS when the watchdog has not been invoked for 5 minutes, missing data included', () => {
    const watchdog = `<${logicalId(base, base.stack.functions.watchdog)}>`;
    const alarm = alarms().find((a) => a.MetricName === 'Invocations');
    expect(alarm).toMatchObject({
      Dimensions: [{ Name: 'FunctionName', Value: watchdog }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topic()],
    });
  });
});

// ---- the build machine ----

describe('build machine', () => {
  it('lives in a VPC with public subnets in two AZs and no NAT gateway', () => {
    base.template.resourceCountIs('AWS::EC2::VPC', 1);
    base.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    base.template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    const subnets = resourcesOfType(base, 'AWS::EC2::Subnet').map(([, r]) => r.Properties);
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(subnet.MapPublicIpOnLaunch).toBe(true);
    expect(new Set(subnets.map((s) => JSON.stringify(s.AvailabilityZone))).size).toBe(2);
    base.template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  it('spans the zones named by availabilityZones, one public subnet in each', () => {
    const zoned = synth({ availabilityZones: 'us-east-1a,us-east-1c,us-east-1d' });
    const subnets = resourcesOfType(zoned, 'AWS::EC2::Subnet').map(([, r]) => r.Properties);
    expect(subnets.map((s) => s.AvailabilityZone).sort()).toEqual(['us-east-1a', 'us-east-1c', 'us-east-1d']);
  });

  it('allows no ingress by default', () => {
    base.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    for (const [, sg] of resourcesOfType(base, 'AWS::EC2::SecurityGroup')) expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('allows SSH only from sshAllowedCidrs', () => {
    const sg = resourcesOfType(full, 'AWS::EC2::SecurityGroup')[0]![1].Properties;
    expect(sg.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '203.0.113.0/24', IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }),
      expect.objectContaining({ CidrIpv6: '2001:db8:1234::/48', IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }),
    ]);
  });

  it('launches from a template: IMDSv2 with one hop, encrypted gp3 deleted on termination, terminate on shutdown, the instance profile', () => {
    const data = (s: Synth) =>
      (flat(resourcesOfType(s, 'AWS::EC2::LaunchTemplate')[0]![1].Properties) as { LaunchTemplateData: Record<string, unknown> }).LaunchTemplateData;
    const lt = data(base);
    expect(lt.MetadataOptions).toEqual({ HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(lt.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 500, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } },
    ]);
    expect(lt.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(lt.UserData).toBeUndefined();
    const profile = (lt.IamInstanceProfile as { Arn: string }).Arn.match(/^<(.+)\.Arn>$/)![1]!;
    expect(flat(base.json.Resources[profile]!.Properties.Roles)).toEqual([`<${logicalId(base, base.stack.buildMachine.role)}>`]);
    expect(lt.SecurityGroupIds).toEqual([`<${logicalId(base, base.stack.buildMachine.securityGroup)}.GroupId>`]);
    // Every machine carries Project=labapp and LaunchedBy=metal-build, the tags termination rights
    // are scoped by (the launch sets them too: events/launch/plan.ts launchTags).
    for (const type of ['instance', 'volume'])
      expect(lt.TagSpecifications).toContainEqual({
        ResourceType: type,
        Tags: expect.arrayContaining([
          { Key: 'Project', Value: 'labapp' },
          { Key: 'Purpose', Value: 'prewarmed-build' },
          { Key: 'LaunchedBy', Value: 'metal-build' },
        ]),
      });

    expect((data(full).BlockDeviceMappings as Array<{ Ebs: { VolumeSize: number } }>)[0]!.Ebs.VolumeSize).toBe(800);
  });
});

// ---- least privilege, role by role ----

describe('machine role', () => {
  const statements = (s: Synth) => statementsOf(s, s.stack.buildMachine.role);

  it('writes builds/ only, reads and lists releases/ only', () => {
    const s3Statements = (s: Synth) => statements(s).filter((st) => st.Action.some((a) => a.startsWith('s3:')));
    const bucket = `<${logicalId(base, base.stack.bucket)}.Arn>`;
    expect(s3Statements(base).map(({ Sid, Action, Resource, Condition }) => ({ Sid, Action, Resource, Condition }))).toEqual([
      { Sid: 'BuildArtifacts', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: [`${bucket}/builds/*`], Condition: undefined },
      { Sid: 'ReleaseLookup', Action: ['s3:GetObject'], Resource: [`${bucket}/releases/*`], Condition: undefined },
      { Sid: 'ReleaseListing', Action: ['s3:ListBucket'], Resource: [bucket], Condition: { StringLike: { 's3:prefix': ['releases/*'] } } },
    ]);
    expect(s3Statements(full).flatMap((st) => st.Resource)).toEqual([
      'arn:<AWS::Partition>:s3:::hedgehog-lab-artifacts/builds/*',
      'arn:<AWS::Partition>:s3:::hedgehog-lab-artifacts/releases/*',
      'arn:<AWS::Partition>:s3:::hedgehog-lab-artifacts',
    ]);
  });

  it('puts only Build Phase events from the runner source, on the bus only, both keys required', () => {
    expect(withAction(statements(base), 'events:PutEvents')).toEqual([
      expect.objectContaining({
        Resource: [`<${logicalId(base, base.stack.bus)}.Arn>`],
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': ['labapp.metal-build.runner'], 'events:detail-type': ['Build Phase'] },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      }),
    ]);
  });

  it('writes CloudWatch logs under /labapp/metal-builds/ only, retention included', () => {
    const logs = statements(base).filter((st) => st.Action.some((a) => a.startsWith('logs:')));
    expect(logs).toHaveLength(1);
    expect(logs[0]!.Action).toEqual(['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(logs[0]!.Resource).toEqual(['arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/labapp/metal-builds/*']);
  });

  it('has the Session Manager agent actions inline, no managed policy, no SSM parameter, nothing of EC2, DynamoDB or Slack', () => {
    const role = flat(base.json.Resources[logicalId(base, base.stack.buildMachine.role)]!.Properties) as Record<string, unknown>;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain('ec2.amazonaws.com');
    const ssm = statements(base).filter((st) => st.Action.some((a) => a.startsWith('ssm')));
    expect(ssm).toEqual([
      expect.objectContaining({
        Action: [
          'ssm:UpdateInstanceInformation',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        Resource: ['*'],
      }),
    ]);
    const actions = actionsOf(statements(full));
    expect(actions.filter((a) => /^(ec2|dynamodb|iam):|^ssm:Get/.test(a))).toEqual([]);
    expect(withAction(statements(full), 'secretsmanager:GetSecretValue').flatMap((st) => st.Resource)).toEqual([
      `<${logicalId(full, full.stack.githubSecret!)}>`,
    ]);
  });
});

describe('function roles', () => {
  const statements = (name: LambdaName) => statementsOf(base, base.stack.roles[name]);
  const ec2Arn = (resource: string) => `arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${resource}`;
  const tagged = { StringEquals: { 'aws:ResourceTag/Project': 'labapp', 'aws:ResourceTag/LaunchedBy': 'metal-build' } };

  it('use no wildcard action and no AWS managed policy', () => {
    for (const name of NAMES) {
      expect(
        actionsOf(statements(name)).filter((a) => a.includes('*')),
        name,
      ).toEqual([]);
      expect(base.json.Resources[logicalId(base, base.stack.roles[name])]!.Properties.ManagedPolicyArns, name).toBeUndefined();
    }
  });

  it('reach the table and its three indexes with the four calls the store makes', () => {
    const table = `<${logicalId(base, base.stack.table)}.Arn>`;
    for (const name of NAMES) {
      const st = statements(name).filter((x) => x.Action.some((a) => a.startsWith('dynamodb:')));
      expect(
        st.flatMap((x) => x.Resource),
        name,
      ).toEqual([table, `${table}/index/StatusIndex`, `${table}/index/InstanceIndex`, `${table}/index/MonthIndex`]);
      // What adapters/aws/dynamo-store.ts calls, nothing more: no Scan, no DeleteItem.
      expect(actionsOf(st).sort(), name).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    }
  });

  it('release: reads builds/* and what it published, writes and withdraws releases/* (the only role that may), no EC2, no bus', () => {
    const bucket = `<${logicalId(base, base.stack.bucket)}.Arn>`;
    const s3Of = (name: LambdaName) => statements(name).filter((x) => x.Action.some((a) => a.startsWith('s3:')));
    expect(s3Of('release').map(({ Sid, Action, Resource, Condition }) => ({ Sid, Action, Resource, Condition }))).toEqual([
      { Sid: 'ReadBuildArtifacts', Action: ['s3:GetObject'], Resource: [`${bucket}/builds/*`, `${bucket}/releases/*`], Condition: undefined },
      {
        Sid: 'PublishReleases',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        Resource: [`${bucket}/releases/*`],
        Condition: undefined,
      },
    ]);
    expect(new Set(actionsOf(statements('release')).map((a) => a.split(':')[0]))).toEqual(new Set(['logs', 'dynamodb', 'secretsmanager', 'sns', 'sqs', 's3']));
    // No other function role touches the bucket, and the machine role only reads and lists releases/.
    for (const name of NAMES.filter((n) => n !== 'release')) expect(s3Of(name), name).toEqual([]);
    const machineWrites = statementsOf(base, base.stack.buildMachine.role).filter((x) => x.Action.includes('s3:PutObject'));
    expect(machineWrites.flatMap((x) => x.Resource)).toEqual([`${bucket}/builds/*`]);
  });

  it('bot: the table, PutEvents of its own three events on the bus, its secret — no EC2, no Scheduler', () => {
    const st = statements('bot');
    expect(actionsOf(st).filter((a) => a.startsWith('ec2:') || a.startsWith('iam:') || a.startsWith('sns:') || a.startsWith('scheduler:'))).toEqual([]);
    expect(withAction(st, 'events:PutEvents')).toEqual([
      expect.objectContaining({
        Resource: [`<${logicalId(base, base.stack.bus)}.Arn>`],
        Condition: {
          'ForAllValues:StringEquals': {
            'events:source': ['labapp.metal-build'],
            'events:detail-type': ['Build Approved', 'Build Cancel Requested', 'Build Extended'],
          },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      }),
    ]);
    expect(new Set(actionsOf(st).map((a) => a.split(':')[0]))).toEqual(new Set(['logs', 'dynamodb', 'secretsmanager', 'events']));
  });

  it('launch: RunInstances only from this template with the configured types and the self-test type, named resources, tags at launch, PassRole on the machine role, DescribeInstances', () => {
    const st = statements('launch');
    const template = ec2Arn(`launch-template/<${logicalId(base, base.stack.buildMachine.launchTemplate)}>`);
    const run = withAction(st, 'ec2:RunInstances');
    expect(run).toHaveLength(3);
    expect(run[0]).toMatchObject({
      Resource: [ec2Arn('instance/*')],
      Condition: { ArnLike: { 'ec2:LaunchTemplate': template }, StringEquals: { 'ec2:InstanceType': ['c5n.metal', 'm5zn.metal', 't3.small'] } },
    });
    expect(run[1]).toMatchObject({
      Resource: [ec2Arn('volume/*'), ec2Arn('network-interface/*')],
      Condition: { ArnLike: { 'ec2:LaunchTemplate': template } },
    });
    const machine = base.stack.buildMachine;
    expect(run[2]!.Condition).toBeUndefined();
    expect(run[2]!.Resource).toEqual([
      template,
      ec2Arn(`security-group/<${logicalId(base, machine.securityGroup)}.GroupId>`),
      ...machine.vpc.publicSubnets.map((s) => ec2Arn(`subnet/<${logicalId(base, s)}>`)),
      expect.stringMatching(/^arn:<AWS::Partition>:ec2:<AWS::Region>::image\/<SsmParameterValue.*>$/),
    ]);
    expect(withAction(st, 'ec2:CreateTags')).toEqual([
      expect.objectContaining({
        Resource: [ec2Arn('instance/*'), ec2Arn('volume/*'), ec2Arn('network-interface/*')],
        Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    ]);
    expect(withAction(st, 'iam:PassRole')).toEqual([
      expect.objectContaining({
        Resource: [`<${logicalId(base, machine.role)}.Arn>`],
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
      // Its deadline schedule (the next test covers the role itself).
      expect.objectContaining({
        Resource: [`<${logicalId(base, base.stack.deadlineSchedules.role)}.Arn>`],
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    ]);
    expect(withAction(st, 'ec2:TerminateInstances')).toEqual([expect.objectContaining({ Resource: [ec2Arn('instance/*')], Condition: tagged })]);
    // Finding a machine an earlier delivery started: DescribeInstances has no resource-level permissions.
    expect(withAction(st, 'ec2:DescribeInstances')).toEqual([expect.objectContaining({ Resource: ['*'] })]);
    expect(
      actionsOf(st)
        .filter((a) => a.startsWith('ec2:'))
        .sort(),
    ).toEqual([
      'ec2:CreateTags',
      'ec2:DescribeImages',
      'ec2:DescribeInstanceTypeOfferings',
      'ec2:DescribeInstanceTypes',
      'ec2:DescribeInstances',
      'ec2:DescribeSubnets',
      'ec2:RunInstances',
      'ec2:RunInstances',
      'ec2:RunInstances',
      'ec2:TerminateInstances',
    ]);
  });

  it.each(['watchdog', 'cancel'] as const)('%s: TerminateInstances on Project=labapp, LaunchedBy=metal-build only, DescribeInstances', (name) => {
    const st = statements(name);
    expect(withAction(st, 'ec2:TerminateInstances')).toEqual([expect.objectContaining({ Resource: [ec2Arn('instance/*')], Condition: tagged })]);
    expect(withAction(st, 'ec2:DescribeInstances')).toEqual([expect.objectContaining({ Resource: ['*'] })]);
    // The watchdog also deletes loose volumes of the stack's launches and keeps deadline schedules.
    const more = name === 'watchdog' ? ['ec2:DeleteVolume', 'ec2:DescribeVolumes', 'iam:PassRole'] : [];
    expect(
      actionsOf(st)
        .filter((a) => a.startsWith('ec2:') || a.startsWith('iam:'))
        .sort(),
    ).toEqual(['ec2:DescribeInstances', 'ec2:TerminateInstances', ...more].sort());
    if (name === 'watchdog')
      expect(withAction(st, 'ec2:DeleteVolume')).toEqual([expect.objectContaining({ Resource: [ec2Arn('volume/*')], Condition: tagged })]);
  });

  it('deadline schedules: Scheduler may assume their role only for this account’s group; it terminates tagged machines and dead-letters, nothing else', () => {
    const schedules = base.stack.deadlineSchedules;
    base.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'labapp-metal-builds' });
    const role = resourcesOfType(base, 'AWS::IAM::Role').find(([id]) => id === logicalId(base, schedules.role))![1];
    const scheduleArn = 'arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/labapp-metal-builds/metal-build-*';
    expect(flat(role.Properties.AssumeRolePolicyDocument)).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' }, ArnLike: { 'aws:SourceArn': scheduleArn } },
        },
      ],
    });
    const st = statementsOf(base, schedules.role);
    expect(withAction(st, 'ec2:TerminateInstances')).toEqual([expect.objectContaining({ Resource: [ec2Arn('instance/*')], Condition: tagged })]);
    expect(new Set(actionsOf(st).map((a) => a.split(':')[0]))).toEqual(new Set(['ec2', 'sqs']));
    for (const name of ['launch', 'deadline', 'watchdog'] as const)
      expect(withAction(statements(name), 'scheduler:CreateSchedule')).toEqual([expect.objectContaining({ Resource: [scheduleArn] })]);
    expect(actionsOf(statements('instance-state')).filter((a) => a.startsWith('scheduler:'))).toEqual(['scheduler:DeleteSchedule']);
    for (const name of ['bot', 'cancel', 'build-phase'] as const) expect(actionsOf(statements(name)).filter((a) => a.startsWith('scheduler:'))).toEqual([]);
  });

  it.each([
    // events: only Build Approved, for the queue's head (the policy table proves which).
    ['instance-state', ['scheduler', 'events']],
    ['build-phase', []],
  ] as const)('%s: the table, its secret and the topic — no EC2; events only to hand a freed slot on', (name, more) => {
    expect(new Set(actionsOf(statements(name)).map((a) => a.split(':')[0]))).toEqual(new Set(['sqs', 'logs', 'dynamodb', 'secretsmanager', 'sns', ...more]));
  });

  it('never terminate without the build-machine tag condition, anywhere in the stack', () => {
    for (const [, r] of resourcesOfType(full, 'AWS::IAM::Policy'))
      for (const st of (flat(r.Properties.PolicyDocument) as { Statement: Statement[] }).Statement)
        if ([st.Action].flat().includes('ec2:TerminateInstances')) expect(st.Condition).toEqual(tagged);
  });
});

// ---- artifact bucket ----

describe('artifact bucket', () => {
  it('is imported by name only when artifactBucket names one', () => {
    full.template.resourceCountIs('AWS::S3::Bucket', 0);
    expect((functionProps(full, 'launch').props.Environment as { Variables: Record<string, unknown> }).Variables.ARTIFACT_BUCKET).toBe(
      'hedgehog-lab-artifacts',
    );
  });

  it('by default is created: encrypted, versioned, public access blocked, TLS only, builds/ and old versions expiring, retained', () => {
    base.template.resourceCountIs('AWS::S3::Bucket', 1);
    base.template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
            Match.objectLike({ Prefix: 'builds/', Status: 'Enabled', ExpirationInDays: 90 }),
          ]),
        },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    const rules = (
      resourcesOfType(base, 'AWS::S3::Bucket')[0]![1].Properties.LifecycleConfiguration as { Rules: Array<{ Prefix?: string; ExpirationInDays?: number }> }
    ).Rules;
    // releases/ is the product: no rule expires current objects outside builds/.
    expect(rules.filter((r) => r.ExpirationInDays !== undefined).map((r) => r.Prefix)).toEqual(['builds/']);
    base.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const bucket = `<${logicalId(base, base.stack.bucket)}>`;
    expect(flat((functionProps(base, 'launch').props.Environment as { Variables: Record<string, unknown> }).Variables.ARTIFACT_BUCKET)).toBe(bucket);
  });
});

// ---- notifications topic ----

describe('notification topic', () => {
  it('keeps TLS only and lets this account’s CloudWatch alarms publish', () => {
    const policies = resourcesOfType(base, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    const statements = (flat(policies[0]![1].Properties.PolicyDocument) as { Statement: Array<Record<string, unknown>> }).Statement;
    const topic = `<${logicalId(base, base.stack.topic)}>`;
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topic,
        Condition: {
          StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' },
          ArnLike: { 'aws:SourceArn': 'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*' },
        },
      }),
    ]);
  });
});

// ---- reserved concurrency ----

describe('reserved concurrency', () => {
  it('is reserved for no function by default, and for the watchdog only with watchdogReservedConcurrency', () => {
    for (const name of NAMES) expect(functionProps(base, name).props.ReservedConcurrentExecutions, name).toBeUndefined();
    for (const name of NAMES) expect(functionProps(full, name).props.ReservedConcurrentExecutions, name).toBe(name === 'watchdog' ? 1 : undefined);
  });
});

// ---- outputs ----

describe('outputs', () => {
  it('give the bot URL, table, bus, topic and build log group prefix', () => {
    const outputs = flat(base.template.toJSON().Outputs) as Record<string, { Value: string }>;
    expect(outputs.SlackRequestUrl!.Value).toBe(`<${logicalId(base, base.stack.functionUrl)}.FunctionUrl>slack/events`);
    expect(outputs.BotFunctionUrl!.Value).toBe(`<${logicalId(base, base.stack.functionUrl)}.FunctionUrl>`);
    expect(outputs.BuildsTableName!.Value).toBe(`<${logicalId(base, base.stack.table)}>`);
    expect(outputs.EventBusName!.Value).toBe(`<${logicalId(base, base.stack.bus)}>`);
    expect(outputs.NotificationTopicArn!.Value).toBe(`<${logicalId(base, base.stack.topic)}>`);
    expect(outputs.BuildLogGroupPrefix!.Value).toBe('/labapp/metal-builds/');
  });

  it('list every function of the stack, so npm run setup refreshes them all', () => {
    const outputs = flat(base.template.toJSON().Outputs) as Record<string, { Value: string }>;
    const resources = base.template.toJSON().Resources as Record<string, { Type: string }>;
    const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(NAMES.length);
    expect(outputs.FunctionNames!.Value.split(',').sort()).toEqual(functions.map(([id]) => `<${id}>`).sort());
  });
});

// ---- cdk-nag ----

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged, error or warning, with defaults and with every option', () => {
    for (const s of [base, full]) {
      const report = new AwsSolutionsChecks().validateScope(s.app);
      expect(report.violations.map((v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`)).toEqual([]);
    }
  });

  it('every acknowledgment carries a written reason', () => {
    const acknowledged: Array<[string, string]> = [];
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata)
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) acknowledged.push(...Object.entries(entry.data as Record<string, string>));
      c.node.children.forEach(visit);
    };
    visit(full.app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) expect(reason.length, id).toBeGreaterThan(40);
  });

  it('would report a wildcard nobody acknowledged (the check above can fail)', () => {
    const app = new App();
    const probe = new Stack(app, 'probe');
    new iam.Role(probe, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['ec2:TerminateInstances'], resources: ['*'] }),
    );
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-IAM5[Resource::*]');
  });
});

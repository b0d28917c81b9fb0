import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchTags } from '../../events/launch/plan';
import { createApp } from '../../infra/app';
import type { MetalBuildStack } from '../../infra/stack';

// stack.test.ts checks how the statements are written; this evaluates them. The synthesized
// policies, with their intrinsics resolved to concrete ARNs, go through @cloud-copilot/iam-simulate
// (AWS's evaluation logic and its authorization data: actions, resource types, condition key types),
// so a condition that reads right but evaluates wrong fails here. What the simulator cannot know —
// which context keys AWS actually puts in a given request — is written into each call below from
// AWS's documentation, and is the limit of what this proves.

process.env.CDK_VALIDATION = 'false';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const PARTITION = 'aws';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
type Json = Record<string, unknown>;

let stack: MetalBuildStack;
let resources: Record<string, Resource>;
let parameters: Record<string, { Type: string }>;

beforeAll(() => {
  // A type chosen beyond the default and its fallback: INSTANCE_TYPES is what the launch role may start.
  const app = createApp({
    code: () => Code.fromInline('exports.handler = async () => {}'),
    context: { instanceTypes: 'c5n.metal,m5zn.metal,c6i.metal', priceOverrides: '{"c6i.metal": 5.44}' },
  });
  stack = app.stack;
  const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource>; Parameters?: Record<string, { Type: string }> };
  resources = json.Resources;
  parameters = json.Parameters ?? {};
}, 120_000);

// ---- intrinsics → the values CloudFormation would give them in a fixed account and region ----

const logicalId = (construct: IConstruct) => stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;

/** A stand-in physical name: stable, lower-case, unique per logical ID. */
const physical = (id: string) => id.toLowerCase().slice(0, 40);

function nameOr(id: string, key: string): string {
  const value = resources[id]!.Properties[key];
  return typeof value === 'string' ? value : physical(id);
}

const NAME_PROPERTY: Record<string, string> = {
  'AWS::Events::EventBus': 'Name',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
};

function ref(id: string): string {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': ACCOUNT,
    'AWS::Region': REGION,
    'AWS::Partition': PARTITION,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (pseudo[id]) return pseudo[id];
  if (parameters[id]) {
    if (parameters[id].Type.includes('AWS::EC2::Image::Id')) return 'ami-0123456789abcdef0';
    throw new Error(`no stand-in for parameter ${id}`);
  }
  const resource = resources[id];
  if (!resource) throw new Error(`no resource ${id}`);
  switch (resource.Type) {
    case 'AWS::S3::Bucket':
      return nameOr(id, 'BucketName');
    case 'AWS::SNS::Topic':
      return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${nameOr(id, 'TopicName')}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${nameOr(id, 'Name')}-AbCdEf`;
    case 'AWS::EC2::LaunchTemplate':
      return 'lt-0123456789abcdef0';
    case 'AWS::EC2::Subnet':
      return `subnet-${physical(id).slice(0, 17)}`;
    default: {
      // These resources' Ref is their name.
      const nameProperty = NAME_PROPERTY[resource.Type];
      if (!nameProperty) throw new Error(`no stand-in for Ref of ${resource.Type} (${id})`);
      return nameOr(id, nameProperty);
    }
  }
}

function getAtt(id: string, attribute: string): string {
  const resource = resources[id];
  if (!resource) throw new Error(`no resource ${id}`);
  const arn = (service: string, rest: string, region = REGION, account = ACCOUNT) => `arn:${PARTITION}:${service}:${region}:${account}:${rest}`;
  const key = `${resource.Type}.${attribute}`;
  switch (key) {
    case 'AWS::S3::Bucket.Arn':
      return `arn:${PARTITION}:s3:::${ref(id)}`;
    case 'AWS::Events::EventBus.Arn':
      return arn('events', `event-bus/${ref(id)}`);
    case 'AWS::DynamoDB::Table.Arn':
      return arn('dynamodb', `table/${ref(id)}`);
    case 'AWS::IAM::Role.Arn':
      return arn('iam', `role/${physical(id)}`, '');
    case 'AWS::SQS::Queue.Arn':
      return arn('sqs', nameOr(id, 'QueueName'));
    case 'AWS::Logs::LogGroup.Arn':
      return arn('logs', `log-group:${ref(id)}:*`);
    case 'AWS::Lambda::Function.Arn':
      return arn('lambda', `function:${ref(id)}`);
    case 'AWS::EC2::SecurityGroup.GroupId':
      return `sg-${physical(id).slice(0, 17)}`;
    default:
      throw new Error(`no stand-in for Fn::GetAtt ${key} (${id})`);
  }
}

function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Json;
  const keys = Object.keys(object);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = object[key];
    if (key === 'Ref') return ref(arg as string);
    if (key === 'Fn::GetAtt') {
      const [id, attribute] = typeof arg === 'string' ? (arg.split('.') as [string, string]) : (arg as [string, string]);
      return getAtt(id, attribute);
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]];
      return (resolve(parts) as unknown[]).map(String).join(separator);
    }
    if (key === 'Fn::Sub') {
      const [template, variables = {}] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Json]);
      return template.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        if (name in variables) return String(resolve(variables[name]));
        const [id, attribute] = name.split('.') as [string, string?];
        return attribute ? getAtt(id, attribute) : ref(id);
      });
    }
    if (key.startsWith('Fn::')) throw new Error(`no resolver for ${key}`);
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolve(v)]));
}

// ---- the policies as AWS would hold them ----

function identityPolicies(role: IConstruct): Simulation['identityPolicies'] {
  const roleId = logicalId(role);
  const managed = resources[roleId]!.Properties.ManagedPolicyArns;
  // A managed policy's document is not in the template; evaluating without it would understate the role.
  if (managed !== undefined) throw new Error(`${roleId} has managed policies the simulation cannot see: ${JSON.stringify(managed)}`);
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as Array<{ Ref: string }>).some((x) => x.Ref === roleId))
    .map(([id, r]) => ({ name: id, policy: resolve(r.Properties.PolicyDocument) }));
}

function resourcePolicy(type: 'AWS::SNS::TopicPolicy' | 'AWS::S3::BucketPolicy'): unknown {
  const found = Object.values(resources).filter((r) => r.Type === type);
  expect(found).toHaveLength(1);
  return resolve(found[0]!.Properties.PolicyDocument);
}

const roleSession = (role: IConstruct) => `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${physical(logicalId(role))}/session`;

// ---- the calls ----

type Who = 'bot' | 'launch' | 'watchdog' | 'cancel' | 'release' | 'instance-state' | 'machine' | 'cloudwatch';
type Expected = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' | 'Denied';

interface Call {
  name: string;
  who: Who;
  action: string;
  resource: () => string;
  context?: () => Record<string, string | string[]>;
  resourcePolicy?: () => unknown;
  expected: Expected;
}

const bus = () => getAtt(logicalId(stack.bus), 'Arn');
const bucketArn = () => getAtt(logicalId(stack.bucket), 'Arn');
const topic = () => ref(logicalId(stack.topic));
const ec2 = (rest: string) => `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:${rest}`;
const tls = { 'aws:SecureTransport': 'true' };
// The tags the launch function really puts on a machine, so the grant and the launch cannot drift apart.
const buildMachineTags = Object.fromEntries(
  Object.entries(launchTags({ BuildID: 'build-20260101-0001', Requester: 'U0123ABCD' }, 3)).map(([k, v]) => [`aws:ResourceTag/${k}`, v]),
);
const launchContext = (instanceType: string) => ({
  'ec2:LaunchTemplate': ec2(`launch-template/${ref(logicalId(stack.buildMachine.launchTemplate))}`),
  'ec2:InstanceType': instanceType,
});
const alarmSource = (account: string) => ({
  ...tls,
  'aws:SourceAccount': account,
  'aws:SourceArn': `arn:${PARTITION}:cloudwatch:${REGION}:${account}:alarm:labapp-metal-build-watchdog-not-running`,
});
const phase = { 'events:source': ['labapp.metal-build.runner'], 'events:detail-type': ['Build Phase'] };

const CALLS: Call[] = [
  // EventBridge puts one value per entry into events:source and events:detail-type.
  {
    name: 'bot puts Build Approved',
    who: 'bot',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build'], 'events:detail-type': ['Build Approved'] }),
    expected: 'Allowed',
  },
  // The queue's hand-over: whoever frees a slot asks for the head's launch, and for nothing else.
  ...(['instance-state', 'watchdog', 'launch'] as const).map((who): Call => ({
    name: `${who} puts Build Approved for the queue's head`,
    who,
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build'], 'events:detail-type': ['Build Approved'] }),
    expected: 'Allowed',
  })),
  {
    name: 'instance-state puts Build Cancel Requested',
    who: 'instance-state',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build'], 'events:detail-type': ['Build Cancel Requested'] }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'cancel puts Build Approved',
    who: 'cancel',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build'], 'events:detail-type': ['Build Approved'] }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'bot puts Build Phase as the runner',
    who: 'bot',
    action: 'events:PutEvents',
    resource: bus,
    context: () => phase,
    expected: 'ImplicitlyDenied',
  },
  ...(
    [
      ['ec2:RunInstances', () => ec2('instance/i-0123456789abcdef0')],
      ['ec2:TerminateInstances', () => ec2('instance/i-0123456789abcdef0')],
      ['ec2:StopInstances', () => ec2('instance/i-0123456789abcdef0')],
      ['ec2:CreateTags', () => ec2('instance/i-0123456789abcdef0')],
      ['ec2:DescribeInstances', () => '*'],
    ] as const
  ).map(([action, resource]): Call => ({
    name: `bot calls ${action} on a build machine`,
    who: 'bot',
    action,
    resource,
    context: () => buildMachineTags,
    expected: 'ImplicitlyDenied',
  })),
  {
    name: 'machine puts Build Phase from the runner source',
    who: 'machine',
    action: 'events:PutEvents',
    resource: bus,
    context: () => phase,
    expected: 'Allowed',
  },
  {
    name: 'machine puts Build Approved as the bot',
    who: 'machine',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build'], 'events:detail-type': ['Build Approved'] }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine puts Build Approved from the runner source',
    who: 'machine',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build.runner'], 'events:detail-type': ['Build Approved'] }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine hides Build Approved behind a Build Phase entry in one call',
    who: 'machine',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({ 'events:source': ['labapp.metal-build.runner', 'labapp.metal-build'], 'events:detail-type': ['Build Phase', 'Build Approved'] }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine puts an event with no source key',
    who: 'machine',
    action: 'events:PutEvents',
    resource: bus,
    context: () => ({}),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine writes under releases/',
    who: 'machine',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine writes under builds/',
    who: 'machine',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/builds/build-1/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'machine writes under builds/ without TLS',
    who: 'machine',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/builds/build-1/x.ova`,
    context: () => ({ 'aws:SecureTransport': 'false' }),
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'ExplicitlyDenied',
  },
  {
    name: 'machine reads a release',
    who: 'machine',
    action: 's3:GetObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'machine lists releases/v1.2.3/',
    who: 'machine',
    action: 's3:ListBucket',
    resource: bucketArn,
    context: () => ({ ...tls, 's3:prefix': 'releases/v1.2.3/' }),
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'release writes under releases/',
    who: 'release',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'release aborts its multipart copy under releases/',
    who: 'release',
    action: 's3:AbortMultipartUpload',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'release deletes what it published under releases/',
    who: 'release',
    action: 's3:DeleteObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'release reads a release (the read-back of its own copy)',
    who: 'release',
    action: 's3:GetObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'release deletes under builds/',
    who: 'release',
    action: 's3:DeleteObject',
    resource: () => `${bucketArn()}/builds/build-1/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'ImplicitlyDenied',
  },
  {
    name: "release reads a build's OVA (CopySource, HeadObject)",
    who: 'release',
    action: 's3:GetObject',
    resource: () => `${bucketArn()}/builds/build-1/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'release writes under builds/',
    who: 'release',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/builds/build-1/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'release writes under releases/ without TLS',
    who: 'release',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => ({ 'aws:SecureTransport': 'false' }),
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'ExplicitlyDenied',
  },
  {
    name: 'bot writes under releases/',
    who: 'bot',
    action: 's3:PutObject',
    resource: () => `${bucketArn()}/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`,
    context: () => tls,
    resourcePolicy: () => resourcePolicy('AWS::S3::BucketPolicy'),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine reads an SSM parameter',
    who: 'machine',
    action: 'ssm:GetParameter',
    resource: () => `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter/prod/database-password`,
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'machine registers with Session Manager',
    who: 'machine',
    action: 'ssm:UpdateInstanceInformation',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    expected: 'Allowed',
  },
  {
    name: 'launch terminates an instance without the stack’s tags',
    who: 'launch',
    action: 'ec2:TerminateInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => ({ 'aws:ResourceTag/Name': 'production-db' }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'launch terminates an instance tagged Project=labapp only',
    who: 'launch',
    action: 'ec2:TerminateInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => ({ 'aws:ResourceTag/Project': 'labapp' }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'launch terminates a build machine (the tags launchTags sets)',
    who: 'launch',
    action: 'ec2:TerminateInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => buildMachineTags,
    expected: 'Allowed',
  },
  ...(['watchdog', 'cancel'] as const).map((who): Call => ({
    name: `${who} terminates an instance without the stack’s tags`,
    who,
    action: 'ec2:TerminateInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    expected: 'ImplicitlyDenied',
  })),
  {
    name: 'launch runs a c5n.metal from the template',
    who: 'launch',
    action: 'ec2:RunInstances',
    // RunInstances authorizes the instance it creates by ARN; the type is a key of that resource.
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => launchContext('c5n.metal'),
    expected: 'Allowed',
  },
  {
    name: 'launch runs the fallback m5zn.metal from the template',
    who: 'launch',
    action: 'ec2:RunInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => launchContext('m5zn.metal'),
    expected: 'Allowed',
  },
  {
    name: 'launch runs a type a request may choose (c6i.metal, in INSTANCE_TYPES)',
    who: 'launch',
    action: 'ec2:RunInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => launchContext('c6i.metal'),
    expected: 'Allowed',
  },
  {
    name: 'launch runs a type outside INSTANCE_TYPES (c7i.metal-24xl) from the template',
    who: 'launch',
    action: 'ec2:RunInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => launchContext('c7i.metal-24xl'),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'launch runs the self-test type (t3.small) from the template',
    who: 'launch',
    action: 'ec2:RunInstances',
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => launchContext('t3.small'),
    expected: 'Allowed',
  },
  {
    name: 'launch runs an unconfigured type (p5.48xlarge) from the template',
    who: 'launch',
    action: 'ec2:RunInstances',
    // RunInstances authorizes the instance it creates by ARN; the type is a key of that resource.
    resource: () => ec2('instance/i-0123456789abcdef0'),
    context: () => launchContext('p5.48xlarge'),
    expected: 'ImplicitlyDenied',
  },
  ...(
    [
      ['ec2:DescribeSubnets', () => '*'],
      ['ec2:DescribeInstanceTypeOfferings', () => '*'],
      ['ec2:DescribeInstanceTypes', () => '*'],
      ['ec2:DescribeImages', () => '*'],
      ['servicequotas:GetServiceQuota', () => `arn:aws:servicequotas:${REGION}:${ACCOUNT}:ec2/L-1216C47A`],
    ] as const
  ).flatMap(([action, resource]): Call[] => [
    { name: `launch reads capacity facts: ${action}`, who: 'launch', action, resource, expected: 'Allowed' },
    // Only the launch checks capacity; the watchdog and cancel never need to.
    { name: `watchdog may not ${action}`, who: 'watchdog', action, resource, expected: 'ImplicitlyDenied' },
  ]),
  {
    name: 'watchdog deletes a loose volume of a build machine (the tags launchTags sets)',
    who: 'watchdog',
    action: 'ec2:DeleteVolume',
    resource: () => ec2('volume/vol-0123456789abcdef0'),
    context: () => buildMachineTags,
    expected: 'Allowed',
  },
  {
    name: 'watchdog deletes a volume without the stack’s tags',
    who: 'watchdog',
    action: 'ec2:DeleteVolume',
    resource: () => ec2('volume/vol-0123456789abcdef0'),
    context: () => ({ 'aws:ResourceTag/Project': 'labapp' }),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'launch deletes a volume of a build machine',
    who: 'launch',
    action: 'ec2:DeleteVolume',
    resource: () => ec2('volume/vol-0123456789abcdef0'),
    context: () => buildMachineTags,
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'launch reads another quota (Lambda concurrency)',
    who: 'launch',
    action: 'servicequotas:GetServiceQuota',
    resource: () => `arn:aws:servicequotas:${REGION}:${ACCOUNT}:lambda/L-B99A9384`,
    expected: 'ImplicitlyDenied',
  },
  // The stream the runner writes: group /labapp/metal-builds/<BuildID>, stream = the instance ID.
  {
    name: 'bot reads a build machine’s log',
    who: 'bot',
    action: 'logs:GetLogEvents',
    resource: () => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/labapp/metal-builds/build-20261125-170052-a1b2:log-stream:i-0123456789abcdef0`,
    expected: 'Allowed',
  },
  {
    name: 'bot reads another log group (a Lambda function’s)',
    who: 'bot',
    action: 'logs:GetLogEvents',
    resource: () => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/labapp-metal-build-launch:log-stream:2026/11/25/[$LATEST]abc`,
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'bot writes into a build machine’s log',
    who: 'bot',
    action: 'logs:PutLogEvents',
    resource: () => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/labapp/metal-builds/build-20261125-170052-a1b2:log-stream:i-0123456789abcdef0`,
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'watchdog reads a build machine’s log (the warning’s newest lines)',
    who: 'watchdog',
    action: 'logs:GetLogEvents',
    resource: () => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/labapp/metal-builds/build-20261125-170052-a1b2:log-stream:i-0123456789abcdef0`,
    expected: 'Allowed',
  },
  {
    name: 'launch reads a build machine’s log',
    who: 'launch',
    action: 'logs:GetLogEvents',
    resource: () => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/labapp/metal-builds/build-20261125-170052-a1b2:log-stream:i-0123456789abcdef0`,
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'CloudWatch alarm of this account publishes to the topic',
    who: 'cloudwatch',
    action: 'sns:Publish',
    resource: topic,
    context: () => alarmSource(ACCOUNT),
    resourcePolicy: () => resourcePolicy('AWS::SNS::TopicPolicy'),
    expected: 'Allowed',
  },
  {
    name: 'CloudWatch alarm of another account publishes to the topic',
    who: 'cloudwatch',
    action: 'sns:Publish',
    resource: topic,
    context: () => alarmSource('210987654321'),
    resourcePolicy: () => resourcePolicy('AWS::SNS::TopicPolicy'),
    expected: 'ImplicitlyDenied',
  },
  {
    name: 'CloudWatch publishes to the topic without TLS',
    who: 'cloudwatch',
    action: 'sns:Publish',
    resource: topic,
    context: () => ({ ...alarmSource(ACCOUNT), 'aws:SecureTransport': 'false' }),
    resourcePolicy: () => resourcePolicy('AWS::SNS::TopicPolicy'),
    expected: 'ExplicitlyDenied',
  },
];

function simulation(call: Call): Simulation {
  const role = call.who === 'cloudwatch' ? undefined : call.who === 'machine' ? stack.buildMachine.role : stack.roles[call.who];
  return {
    request: {
      principal: role ? roleSession(role) : 'cloudwatch.amazonaws.com',
      action: call.action,
      resource: { resource: call.resource(), accountId: ACCOUNT },
      contextVariables: call.context?.() ?? {},
    },
    identityPolicies: role ? identityPolicies(role) : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(call.resourcePolicy && { resourcePolicy: call.resourcePolicy() }),
  };
}

describe('policy evaluation (iam-simulate)', () => {
  it.each(CALLS.map((c) => [c.name, c] as const))('%s', async (_name, call) => {
    const result = await runSimulation(simulation(call), {});
    if (result.resultType === 'error') throw new Error(`simulation rejected: ${JSON.stringify(result.errors)}`);
    expect(result.resultType).toBe('single');
    expect(result.overallResult).toBe(call.expected);
  });
});

import { ArnFormat, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DETAIL_TYPES, RUNNER_SOURCE } from '../domain/events';
import type { Settings } from './settings';
import { acknowledgeWildcards } from './wildcard-acknowledgement';
import { LAUNCHED_BY_TAG } from '../domain/machine-tags';
import { ROOT_DEVICE } from '../domain/root-device';

// Everything the bare-metal build machine is made of: its network, its firewall, its launch
// template and the one role it runs with. docs/design.md "The flow", "Events", "S3 layout".

/** Canonical's public parameter: resolved by CloudFormation at deploy, so synth needs no lookup. */
export const UBUNTU_2204_AMI_PARAMETER = '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id';

/** The runner streams each build's log to `<prefix><build-id>` (docs/design.md "S3 layout"). */
export const BUILD_LOG_GROUP_PREFIX = '/labapp/metal-builds/';

/** Every machine carries it (launch template and launch); termination rights are scoped by it. */
export const PROJECT_TAG = { key: 'Project', value: 'labapp' } as const;

/**
 * events/launch/plan.ts `launchTags` sets it on every machine. Project=labapp alone is on every
 * resource of the stack (and of anything else labapp runs); both together mark build machines.
 */
export const PURPOSE_TAG = { key: 'Purpose', value: 'prewarmed-build' } as const;

/** The tag condition every TerminateInstances grant carries: machines this stack launched (domain/machine-tags.ts). */
export const BUILD_MACHINE_TAG_CONDITION = {
  StringEquals: { [`aws:ResourceTag/${PROJECT_TAG.key}`]: PROJECT_TAG.value, [`aws:ResourceTag/${LAUNCHED_BY_TAG.key}`]: LAUNCHED_BY_TAG.value },
};

/**
 * PutEvents conditions for one sender. AWS's authorization data types events:source and
 * events:detail-type as multivalued (one value per entry of the call), so a single-valued
 * StringEquals is the wrong operator; ForAllValues checks every entry, and since ForAllValues is
 * true when the key is absent, Null makes both keys mandatory.
 */
export function putEventsConditions(source: string, detailTypes: string[]): Record<string, Record<string, string | string[]>> {
  return {
    'ForAllValues:StringEquals': { 'events:source': [source], 'events:detail-type': detailTypes },
    Null: { 'events:source': 'false', 'events:detail-type': 'false' },
  };
}

/**
 * What the Session Manager agent calls to register and open a session (AWS's minimal instance
 * policy for Session Manager). Not AmazonSSMManagedInstanceCore: it also grants ssm:GetParameter(s)
 * on every parameter of the account, to a machine that runs third-party build scripts.
 */
export const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

/** Ubuntu AMIs (and builder AMIs made from them) boot from /dev/sda1. */

export interface BuildMachineProps {
  settings: Settings;
  bus: events.IEventBus;
  bucket: s3.IBucket;
  githubSecret?: secretsmanager.ISecret;
}

export class BuildMachine extends Construct {
  readonly vpc: ec2.Vpc;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly imageId: string;
  /** The instance type and its fallbacks, the only ones the launch may start. */
  readonly instanceTypes: string[];

  constructor(scope: Construct, id: string, props: BuildMachineProps) {
    super(scope, id);
    const { settings } = props;
    const stack = Stack.of(this);
    // parseConfig checked that INSTANCE_TYPE and the fallbacks are among them.
    // The self-test's cheap type is launched too (docs/design.md "Self-test").
    this.instanceTypes = [...new Set([...settings.config.instanceTypes, settings.config.selftestInstanceType])];

    // Public subnets only: the machine reaches GitHub, S3, EventBridge and Session Manager through
    // the internet gateway with its own public IP. A NAT gateway would cost more per month than a
    // build and protect nothing the security group does not.
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: settings.logRetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
      // Not every zone offers c5n.metal or m5zn.metal: the launch skips subnets whose zone does
      // not (domain/launch-capacity.ts) and says so; -c availabilityZones picks zones that do.
      ...(settings.availabilityZones ? { availabilityZones: settings.availabilityZones } : { maxAzs: 2 }),
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: true }],
      // The default security group is used by nothing; restricting it would add a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
      // What a machine running third-party build scripts talked to, for an investigation afterwards.
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL } },
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'metal-build machines: no ingress (Session Manager), all egress (git, S3, apt, EventBridge)',
      allowAllOutbound: true,
    });
    for (const cidr of settings.sshAllowedCidrs) {
      const peer = cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
      this.securityGroup.addIngressRule(peer, ec2.Port.tcp(22), `SSH from ${cidr} (context sshAllowedCidrs)`);
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'metal-build machine: builds/ artifacts, release lookup, its own Build Phase events, its build log, Session Manager',
    });
    // The machine writes its own build only: releases/ is published by a function after the
    // handler checked the build's report (packer/runner.sh), so a build script cannot forge one.
    const buildObjects = props.bucket.arnForObjects('builds/*');
    const releaseObjects = props.bucket.arnForObjects('releases/*');
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BuildArtifacts',
        // AbortMultipartUpload: a failed multi-GB upload removes its parts instead of leaving them billed.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [buildObjects],
      }),
    );
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ReleaseLookup', actions: ['s3:GetObject'], resources: [releaseObjects] }));
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReleaseListing',
        // The runner refuses to build a version whose release exists (list-objects-v2 --prefix
        // releases/v<version>/); without ListBucket S3 would also answer a missing key with 403.
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['releases/*'] } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BuildPhaseEventsOnly',
        actions: ['events:PutEvents'],
        resources: [props.bus.eventBusArn],
        // The machine may only speak as the runner, and only say "Build Phase": it cannot forge an
        // approval or a cancel request.
        conditions: putEventsConditions(RUNNER_SOURCE, [DETAIL_TYPES.phase]),
      }),
    );
    const buildLogGroups = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${BUILD_LOG_GROUP_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BuildLogs',
        actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [buildLogGroups],
      }),
    );
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'SessionManager', actions: SESSION_MANAGER_ACTIONS, resources: ['*'] }));
    props.githubSecret?.grantRead(this.role);
    acknowledgeWildcards(
      this.role,
      [buildObjects, releaseObjects],
      'Object keys contain the build ID or release version, known only at run time; the role writes builds/ and reads releases/, nothing else in the bucket.',
    );
    acknowledgeWildcards(
      this.role,
      ['*'],
      'Session Manager: AWS documents its agent\'s actions (ssm:UpdateInstanceInformation, ssmmessages channels) with the resource "*" in its minimal instance policy; no ssm:GetParameter* or other SSM action.',
    );
    acknowledgeWildcards(
      this.role,
      [buildLogGroups],
      'One log group per build, named by its build ID at run time; the role reaches /labapp/metal-builds/ groups and no other.',
    );

    this.imageId = settings.builderAmiId ?? ec2.MachineImage.fromSsmParameter(UBUNTU_2204_AMI_PARAMETER).getImage(this).imageId;
    const machineImage: ec2.IMachineImage = {
      getImage: () => ({ imageId: this.imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }),
    };

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      launchTemplateName: 'labapp-metal-build',
      versionDescription: 'metal-build machine (the launch function sets type, subnet, tags and user data)',
      machineImage,
      role: this.role,
      securityGroup: this.securityGroup,
      // IMDSv2 only (a token per session), and one hop: processes on the machine reach the
      // instance's credentials, a container behind a network bridge on it does not.
      requireImdsv2: true,
      httpEndpoint: true,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: ROOT_DEVICE,
          volume: ec2.BlockDeviceVolume.ebs(settings.config.volumeSizeGb, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
      // `shutdown -h` at the end of the build (or at the lifetime limit) ends the bill.
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
    });
    // User data comes with each launch (it carries the build's parameters); the template has none.
    (this.launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate).addPropertyDeletionOverride('LaunchTemplateData.UserData');
    // The launch function names each machine after its build; this is the name until it does.
    Tags.of(this.launchTemplate).add('Name', 'labapp-metal-build');
    Tags.of(this.launchTemplate).add(PURPOSE_TAG.key, PURPOSE_TAG.value);
    Tags.of(this.launchTemplate).add(LAUNCHED_BY_TAG.key, LAUNCHED_BY_TAG.value);
  }

  /** RunInstances with this template only, tagging at launch only, passing this role only. */
  grantLaunch(role: iam.Role): void {
    const stack = Stack.of(this);
    const ec2Arn = (resource: string, name: string, account?: string) =>
      stack.formatArn({ service: 'ec2', resource, resourceName: name, ...(account !== undefined && { account }) });
    const templateArn = ec2Arn('launch-template', this.launchTemplate.launchTemplateId!);
    const created = ['instance', 'volume', 'network-interface'].map((r) => ec2Arn(r, '*'));
    const [instances, ...attached] = created;
    const fromTemplate = { ArnLike: { 'ec2:LaunchTemplate': templateArn } };
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunInstancesFromTheTemplateOnly',
        actions: ['ec2:RunInstances'],
        resources: [instances!],
        // The configured types only: a bug or a tampered environment cannot start a costlier machine.
        conditions: { ...fromTemplate, StringEquals: { 'ec2:InstanceType': this.instanceTypes } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunInstancesAttachedResources',
        actions: ['ec2:RunInstances'],
        resources: attached,
        conditions: fromTemplate,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunInstancesNamedResources',
        actions: ['ec2:RunInstances'],
        resources: [
          templateArn,
          ec2Arn('security-group', this.securityGroup.securityGroupId),
          ...this.vpc.publicSubnets.map((s) => ec2Arn('subnet', s.subnetId)),
          // AMIs are regional and have no account in their ARN.
          ec2Arn('image', this.imageId, ''),
        ],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagOnLaunchOnly',
        actions: ['ec2:CreateTags'],
        resources: created,
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassTheMachineRoleOnly',
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    acknowledgeWildcards(
      role,
      created,
      'RunInstances creates the instance, its volume and its network interface, whose IDs do not exist before the call; the ec2:LaunchTemplate condition (and ec2:CreateAction for tags) limits them to launches from this template.',
    );
  }

  /** TerminateInstances on machines this stack launched (Project=labapp, LaunchedBy=metal-build); DescribeInstances when the caller must find them. */
  grantTerminate(role: iam.Role, options: { describe: boolean }): void {
    const instances = Stack.of(this).formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TerminateBuildMachinesOnly',
        actions: ['ec2:TerminateInstances'],
        resources: [instances],
        conditions: BUILD_MACHINE_TAG_CONDITION,
      }),
    );
    acknowledgeWildcards(
      role,
      [instances],
      'Machines are launched per build, so their IDs are not known here; the aws:ResourceTag conditions Project = labapp and LaunchedBy = metal-build limit termination to machines this stack launched.',
    );
    if (!options.describe) return;
    role.addToPolicy(new iam.PolicyStatement({ sid: 'DescribeInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] }));
    acknowledgeWildcards(role, ['*'], 'ec2:DescribeInstances supports no resource-level permissions: its only resource is "*".');
  }

  /** The watchdog's cleanup of disks no machine uses: only volumes with this stack's launch tags. */
  grantDeleteLooseVolumes(role: iam.Role): void {
    const volumes = Stack.of(this).formatArn({ service: 'ec2', resource: 'volume', resourceName: '*' });
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'DeleteLooseVolumes', actions: ['ec2:DeleteVolume'], resources: [volumes], conditions: BUILD_MACHINE_TAG_CONDITION }),
    );
    acknowledgeWildcards(
      role,
      [volumes],
      'Volumes are created per launch, so their IDs are not known here; the aws:ResourceTag conditions Project = labapp and LaunchedBy = metal-build limit deletion to disks of this stack’s launches.',
    );
    role.addToPolicy(new iam.PolicyStatement({ sid: 'DescribeVolumes', actions: ['ec2:DescribeVolumes'], resources: ['*'] }));
  }

  /**
   * What the launch reads before RunInstances (domain/launch-capacity.ts): the subnets' zones,
   * which zones offer the types, the types' vCPUs, and the on-demand vCPU quota.
   */
  grantCapacityChecks(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadLaunchCapacity',
        // DescribeImages: the self-test's root volume is the builder AMI's snapshot size.
        actions: ['ec2:DescribeSubnets', 'ec2:DescribeInstanceTypeOfferings', 'ec2:DescribeInstanceTypes', 'ec2:DescribeImages'],
        resources: ['*'],
      }),
    );
    acknowledgeWildcards(
      role,
      ['*'],
      'ec2:DescribeSubnets, DescribeInstanceTypeOfferings, DescribeInstanceTypes and DescribeImages support no resource-level permissions: their only resource is "*".',
    );
    // The one quota the check reads (resource type `quota`: …:servicequotas:REGION:ACCOUNT:ec2/L-1216C47A).
    const stack = Stack.of(this);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadOnDemandVcpuQuota',
        actions: ['servicequotas:GetServiceQuota'],
        resources: [stack.formatArn({ service: 'servicequotas', resource: 'ec2', resourceName: 'L-1216C47A', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
      }),
    );
  }
}

// What an EC2 refusal of RunInstances means for the launch: the launch handler decides its next
// attempt by it and the EC2 adapter tells a refusal (a value) from a failure (thrown) by it.

export type RefusalKind = 'capacity' | 'unsupported' | 'quota' | 'rejected';

const CAPACITY_CODES = new Set(['InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientCapacity']);
const QUOTA_CODES = new Set(['VcpuLimitExceeded', 'InstanceLimitExceeded', 'MaxSpotInstanceCountExceeded']);
const UNSUPPORTED_CODES = new Set(['Unsupported']);
const UNSUPPORTED_TEXT = /not supported in your requested Availability Zone/i;
/**
 * The launch request itself is wrong (template, subnet, permissions, parameters). Another
 * subnet or type may still work (a subnet can be missing, a type can clash with the template),
 * so these are refusals like the others; if every attempt is refused the build fails at once
 * with EC2's words instead of waiting for the watchdog's "stuck" rule.
 */
const REJECTED_CODE =
  /^(UnauthorizedOperation|InvalidParameterValue|InvalidParameterCombination|InvalidParameter|InvalidLaunchTemplate(Id|Name)\..+|InvalidSubnetID\..+|InvalidAMIID\..+|InvalidUserData\..+|InvalidBlockDeviceMapping|InvalidSecurityGroupID\..+|InvalidGroup\..+|InvalidKeyPair\..+|InvalidInstanceType)$/;

/** What an EC2 error code means for the launch; undefined: not a refusal (throw, EventBridge retries). */
export function classifyRefusal(code: string, message: string): RefusalKind | undefined {
  if (CAPACITY_CODES.has(code)) return 'capacity';
  if (QUOTA_CODES.has(code)) return 'quota';
  if (UNSUPPORTED_CODES.has(code) || UNSUPPORTED_TEXT.test(message)) return 'unsupported';
  if (REJECTED_CODE.test(code)) return 'rejected';
  return undefined;
}

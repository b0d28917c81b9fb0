import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';

/**
 * Acknowledges cdk-nag's wildcard finding (AwsSolutions-IAM5) for exactly these resources on this
 * role, each finding by its own ID: a new wildcard elsewhere still fails the check.
 */
export function acknowledgeWildcards(role: iam.Role, resources: string[], reason: string): void {
  const stack = Stack.of(role);
  for (const resource of resources)
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`, reason });
}

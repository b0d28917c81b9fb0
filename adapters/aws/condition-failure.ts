import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB's answer to a conditional write whose condition did not hold: an expected outcome
 * (someone else's write came first), never a transient failure. `Item` is the stored item when
 * the write asked for it with ReturnValuesOnConditionCheckFailure (dynalite leaves it out).
 */
export function isConditionFailure(error: unknown): error is Error & { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

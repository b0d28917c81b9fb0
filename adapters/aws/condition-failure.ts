import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB's answer to a conditional write whose condition did not hold: an expected outcome
 * (someone else's write came first), never a transient failure. `Item` is the stored item when
 * the write asked for it with ReturnValuesOnConditionCheckFailure (dynalite leaves it out).
 */
export function isConditionFailure(error: unknown): error is Error & { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** One conditional UpdateItem: true when it landed, false when its condition failed; anything else throws. */
export async function conditionalUpdate(
  client: DynamoDBClient,
  tableName: string,
  input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>,
): Promise<boolean> {
  try {
    await client.send(new UpdateItemCommand({ TableName: tableName, ...input }));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

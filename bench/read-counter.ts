import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

// DynamoDB items read, counted on the client as the service bills them: a Query or Scan reads
// ScannedCount items (a filter drops items only after they were read), a GetItem one item.

export interface ReadCounter {
  items: number;
  requests: number;
  reset(): void;
}

interface ReadOutput {
  ScannedCount?: number;
  Count?: number;
}

export function countReads(client: DynamoDBClient): ReadCounter {
  const counter: ReadCounter = {
    items: 0,
    requests: 0,
    reset() {
      counter.items = 0;
      counter.requests = 0;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as ReadOutput;
      counter.requests++;
      switch (String(context.commandName)) {
        case 'QueryCommand':
        case 'ScanCommand':
          counter.items += output.ScannedCount ?? output.Count ?? 0;
          break;
        case 'GetItemCommand':
          counter.items += 1;
          break;
        case 'BatchGetItemCommand':
          throw new Error('bench: BatchGetItem is not counted; count it before using it');
        default:
          // Writes and the rest: a request, no items read.
          break;
      }
      return result;
    },
    { step: 'initialize', name: 'benchReadCounter' },
  );
  return counter;
}

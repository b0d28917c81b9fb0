// The one definition of the table: dynalite in tests and the sandbox creates it from this, and the
// CDK stack declares it from this. docs/design.md "Build record — DynamoDB".

export const TABLE_DEFAULT_NAME = 'labapp-metal-builds';
export const PARTITION_KEY = 'BuildID';
export const TTL_ATTRIBUTE = 'ExpirationTime';

export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey?: string;
  /** Projected besides the keys; every attribute when absent. */
  include?: readonly string[];
}

export const STATUS_INDEX: IndexDefinition = { name: 'StatusIndex', partitionKey: 'Status', sortKey: 'CreatedAt' };
export const INSTANCE_INDEX: IndexDefinition = { name: 'InstanceIndex', partitionKey: 'InstanceID' };
/**
 * The counted builds of a month (docs/design.md "Spend control"): sparse, only records with
 * CountedMonth are in it, and only what `costs` and the budget sum, so a month of 1,500 builds
 * is one page of a Query.
 */
export const MONTH_INDEX: IndexDefinition = {
  name: 'MonthIndex',
  partitionKey: 'CountedMonth',
  sortKey: PARTITION_KEY,
  include: ['CountedCost', 'Requester', 'BuildBranch', 'Status'],
};
export const INDEXES: readonly IndexDefinition[] = [STATUS_INDEX, INSTANCE_INDEX, MONTH_INDEX];

/** Every key attribute is a string. */
export const KEY_ATTRIBUTES = [PARTITION_KEY, 'Status', 'CreatedAt', 'InstanceID', 'CountedMonth'] as const;

/** A CreateTable input (on-demand) for the SDK or dynalite. */
export function createTableInput(tableName: string = TABLE_DEFAULT_NAME) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: KEY_ATTRIBUTES.map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: 'HASH' as const }],
    GlobalSecondaryIndexes: INDEXES.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        ...(index.sortKey ? [{ AttributeName: index.sortKey, KeyType: 'RANGE' as const }] : []),
      ],
      Projection: index.include ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.include] } : { ProjectionType: 'ALL' as const },
    })),
  };
}

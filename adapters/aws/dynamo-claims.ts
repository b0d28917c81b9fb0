import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ClaimKey, ClaimOptions, ClaimOutcome, Claims } from '../../domain/ports';
import { conditionalUpdate, isConditionFailure } from './condition-failure';
import { MONTH_PREFIX } from './dynamo-ledger';
import { APPLIED_OPS_ATTRIBUTE, Expression, type Written, getItem, toBuild, writeOnce } from './dynamo-store';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

// The Claims port on DynamoDB (docs/design.md "Claims: doing a thing once"): every once-only
// protocol over the items and attributes it has always used (docs/design.md "Build record —
// DynamoDB"). A claim is one conditional write; a claim whose answer was lost recognises itself
// by its write id (AppliedOps, adapters/aws/dynamo-store.ts) or by its `For`. Errors other than
// a failed condition are thrown unchanged.

export const REQUEST_PREFIX = '#request#';
export const STRAY_PREFIX = '#stray#';
export const CLICK_PREFIX = '#click#';
/** `#release#vX.Y.Z`: which build publishes that version (no TTL: a release is for good). */
export const RELEASE_PREFIX = '#release#v';
/** `#github#delivery#<X-GitHub-Delivery>` and `#github#tag#<tag>@<commit>`. */
export const GITHUB_PREFIX = '#github#';
/** GitHub keeps a delivery for redelivery about this long; a tag at a commit is claimed for good. */
const GITHUB_DELIVERY_TTL_SECONDS = 30 * 24 * 3600;
/** A stray machine's marker outlives any machine: EC2 forgets a terminated instance within hours. */
const STRAY_TTL_SECONDS = 7 * 24 * 3600;
const CLAIM_TTL_SECONDS = 24 * 3600;

type Key<K extends ClaimKey['kind']> = Extract<ClaimKey, { kind: K }>;

export class DynamoClaims implements Claims {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    /** One id per write, so a retried write can recognise itself; injectable for replayable tests. */
    private readonly newOpId: () => string = randomUUID,
  ) {}

  claim(key: ClaimKey, now: Date, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    switch (key.kind) {
      case 'request':
        return this.claimRequest(`${REQUEST_PREFIX}${key.request}`, key.buildId, now, 1);
      case 'click':
        return this.claimClick(key, now);
      case 'mail':
        return this.claimMail(key, now, options.staleBefore ?? now.toISOString());
      case 'direct-message':
        return this.claimDirectMessage(key);
      case 'stray':
        return this.markStray(key, now);
      case 'release':
        return this.claimRelease(key, now);
      case 'budget-warning':
        return this.claimWarning(key, now);
      case 'github':
        return this.claimGithub(key, now);
    }
  }

  async complete(key: ClaimKey, now: Date): Promise<void> {
    if (key.kind === 'mail') await this.markMailed(key);
    else if (key.kind === 'release') await this.markReleased(key, now);
  }

  async giveBack(key: ClaimKey): Promise<void> {
    switch (key.kind) {
      case 'mail':
        return this.releaseMail(key);
      case 'direct-message':
        return this.releaseDirectMessage(key);
      case 'stray':
        return this.releaseStray(key);
      case 'release':
        return this.giveBackRelease(key);
      case 'budget-warning':
        return this.releaseWarning(key);
      case 'github':
        return this.giveBackGithub(key);
      case 'request':
      case 'click':
        return;
    }
  }

  private key(id: string): Record<string, AttributeValue> {
    return { [PARTITION_KEY]: { S: id } };
  }

  private writeOnce(id: string, op: string, send: () => Promise<{ Attributes?: Record<string, AttributeValue> }>): Promise<Written> {
    return writeOnce(this.client, this.tableName, id, op, send);
  }

  // ---- #request# -----------------------------------------------------------------------------

  private async claimRequest(id: string, buildId: string, now: Date, attempt: number): Promise<ClaimOutcome> {
    const x = new Expression();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            [PARTITION_KEY]: id,
            For: buildId,
            [TTL_ATTRIBUTE]: Math.floor(now.getTime() / 1000) + CLAIM_TTL_SECONDS,
          }),
          ConditionExpression: `attribute_not_exists(${x.name(PARTITION_KEY)})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = error.Item ?? (await getItem(this.client, this.tableName, id));
      const holder = item ? (unmarshall(item) as { For?: string }).For : undefined;
      // The claim expired between the write and the read: it is free again.
      if (holder === undefined && attempt === 1) return this.claimRequest(id, buildId, now, 2);
      // Our own claim seen again (an SDK retry of a write that had landed) is still ours.
      if (holder === buildId) return { claimed: true };
      return { claimed: false, holder: holder ?? '' };
    }
  }

  // ---- #click# and #stray#: put once, with the write id ----------------------------------------

  private async claimClick(key: Key<'click'>, now: Date): Promise<ClaimOutcome> {
    // The write id, not the BuildID, tells this call's own write from a replay's: both name the build.
    const written = await this.putOnce(`${CLICK_PREFIX}${key.click}`, { For: key.buildId, At: now.toISOString() }, now, CLAIM_TTL_SECONDS);
    return written.landed ? { claimed: true } : { claimed: false };
  }

  /**
   * A bookkeeping item put only when absent (or when `orWhen` names an attribute that is true),
   * with the write id, so a put retried after a lost answer recognises itself.
   */
  private putOnce(id: string, fields: Record<string, unknown>, now: Date, ttlSeconds: number, orWhen?: string): Promise<Written> {
    const x = new Expression();
    const op = this.newOpId();
    const absent = `attribute_not_exists(${x.name(PARTITION_KEY)})`;
    return this.writeOnce(id, op, () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...marshall({ [PARTITION_KEY]: id, ...fields, [TTL_ATTRIBUTE]: Math.floor(now.getTime() / 1000) + ttlSeconds }),
            [APPLIED_OPS_ATTRIBUTE]: { SS: [op] },
          },
          ConditionExpression: orWhen === undefined ? absent : `${absent} OR ${x.name(orWhen)} = ${x.value(true)}`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      ),
    );
  }

  private async markStray(key: Key<'stray'>, now: Date): Promise<ClaimOutcome> {
    const written = await this.putOnce(`${STRAY_PREFIX}${key.instanceId}`, { At: now.toISOString() }, now, STRAY_TTL_SECONDS, 'Untold');
    if (written.landed) return { claimed: true };
    const since = written.item ? (unmarshall(written.item) as { At?: string }).At : undefined;
    return { claimed: false, since: since ?? now.toISOString() };
  }

  private async releaseStray(key: Key<'stray'>): Promise<void> {
    // Marked untold rather than deleted: the functions' table permissions hold no DeleteItem.
    const x = new Expression();
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(`${STRAY_PREFIX}${key.instanceId}`),
        UpdateExpression: `SET ${x.name('Untold')} = ${x.value(true)}`,
        ...x.parts(),
      }),
    );
  }

  // ---- #github# -------------------------------------------------------------------------------

  private async claimGithub(key: Key<'github'>, now: Date): Promise<ClaimOutcome> {
    const x = new Expression();
    const op = this.newOpId();
    const id = `${GITHUB_PREFIX}${key.what}#${key.id}`;
    const ttl = key.what === 'delivery' ? { [TTL_ATTRIBUTE]: Math.floor(now.getTime() / 1000) + GITHUB_DELIVERY_TTL_SECONDS } : {};
    const written = await this.writeOnce(id, op, () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...marshall({ [PARTITION_KEY]: id, For: key.delivery, At: now.toISOString(), ...ttl }), [APPLIED_OPS_ATTRIBUTE]: { SS: [op] } },
          ConditionExpression: `attribute_not_exists(${x.name(PARTITION_KEY)}) OR ${x.name('Free')} = ${x.value(true)}`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      ),
    );
    if (written.landed) return { claimed: true };
    const held = written.item ? (unmarshall(written.item) as { For?: string; At?: string }) : undefined;
    return { claimed: false, ...(held?.For !== undefined && { holder: held.For }), ...(held?.At !== undefined && { since: held.At }) };
  }

  private async giveBackGithub(key: Key<'github'>): Promise<void> {
    const x = new Expression();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${GITHUB_PREFIX}${key.what}#${key.id}`),
          UpdateExpression: `SET ${x.name('Free')} = ${x.value(true)}`,
          ConditionExpression: `${x.name('For')} = ${x.value(key.delivery)}`,
          ...x.parts(),
        }),
      );
    } catch (error) {
      // Held by another delivery, or never written: nothing of ours to give back.
      if (!isConditionFailure(error)) throw error;
    }
  }

  // ---- #release# -------------------------------------------------------------------------------

  private async claimRelease({ version, buildId }: Key<'release'>, now: Date): Promise<ClaimOutcome> {
    const id = `${RELEASE_PREFIX}${version}`;
    for (let attempt = 1; ; attempt++) {
      const x = new Expression();
      const op = this.newOpId();
      const written = await this.writeOnce(id, op, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: { ...marshall({ [PARTITION_KEY]: id, For: buildId, ClaimedAt: now.toISOString() }), [APPLIED_OPS_ATTRIBUTE]: { SS: [op] } },
            // Free: given back by a holder whose copy was not its build's bytes (giveBack).
            ConditionExpression: `attribute_not_exists(${x.name(PARTITION_KEY)}) OR ${x.name('Free')} = ${x.value(true)}`,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ...x.parts(),
          }),
        ),
      );
      if (written.landed) return { claimed: true };
      const held = written.item ? (unmarshall(written.item) as { For?: string; PublishedAt?: string }) : undefined;
      if (held?.For !== undefined) {
        const completedAt = held.PublishedAt !== undefined ? { completedAt: held.PublishedAt } : {};
        // The same build again (a redelivery continuing its copy) still holds the version.
        return held.For === buildId ? { claimed: true, ...completedAt } : { claimed: false, holder: held.For, ...completedAt };
      }
      // No DeleteItem exists for this item, so a failed condition with nothing to read is a
      // read that did not see the put yet: once more, then it is an error.
      if (attempt >= 2) throw new Error(`release claim of v${version}: the condition failed but ${id} cannot be read`);
    }
  }

  private async markReleased({ version, buildId }: Key<'release'>, now: Date): Promise<void> {
    const x = new Expression();
    const published = x.name('PublishedAt');
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${RELEASE_PREFIX}${version}`),
          // The first PublishedAt stays: a redelivery that copies again does not move it.
          UpdateExpression: `SET ${published} = if_not_exists(${published}, ${x.value(now.toISOString())})`,
          ConditionExpression: `${x.name('For')} = ${x.value(buildId)}`,
          ...x.parts(),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new Error(`v${version} is not claimed by ${buildId}: its release cannot be marked published`, { cause: error });
    }
  }

  private async giveBackRelease({ version, buildId }: Key<'release'>): Promise<void> {
    const x = new Expression();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${RELEASE_PREFIX}${version}`),
          UpdateExpression: `SET ${x.name('Free')} = ${x.value(true)}`,
          ConditionExpression: `${x.name('For')} = ${x.value(buildId)} AND attribute_not_exists(${x.name('PublishedAt')})`,
          ...x.parts(),
        }),
      );
    } catch (error) {
      // Already given back, or published (then nothing is given back), or held by another build.
      if (!isConditionFailure(error)) throw error;
    }
  }

  // ---- DirectMessages on the record ------------------------------------------------------------

  private async claimDirectMessage({ buildId, message }: Key<'direct-message'>): Promise<ClaimOutcome> {
    const x = new Expression();
    const sent = x.name('DirectMessages');
    const op = this.newOpId();
    const written = await this.writeOnce(buildId, op, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(buildId),
          UpdateExpression: `ADD ${sent} ${x.value(new Set([message]))}, ${x.name(APPLIED_OPS_ATTRIBUTE)} ${x.value(new Set([op]))}`,
          ConditionExpression: `attribute_exists(${x.name(PARTITION_KEY)}) AND NOT contains(${sent}, ${x.value(message)})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      ),
    );
    return written.landed ? { claimed: true } : { claimed: false };
  }

  private async releaseDirectMessage({ buildId, message }: Key<'direct-message'>): Promise<void> {
    const x = new Expression();
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(buildId),
        UpdateExpression: `DELETE ${x.name('DirectMessages')} ${x.value(new Set([message]))}`,
        ConditionExpression: `attribute_exists(${x.name(PARTITION_KEY)})`,
        ...x.parts(),
      }),
    );
  }

  // ---- MailClaim / MailSent on the record --------------------------------------------------------

  private async claimMail({ buildId, notice }: Key<'mail'>, now: Date, staleBefore: string): Promise<ClaimOutcome> {
    const x = new Expression();
    const sent = x.name('MailSent');
    const claim = x.name('MailClaim');
    const since = x.name('MailClaimedAt');
    const op = this.newOpId();
    const written = await this.writeOnce(buildId, op, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(buildId),
          UpdateExpression: `SET ${claim} = ${x.value(notice)}, ${since} = ${x.value(now.toISOString())} ADD ${x.name(APPLIED_OPS_ATTRIBUTE)} ${x.value(new Set([op]))}`,
          ConditionExpression:
            `attribute_exists(${x.name(PARTITION_KEY)}) AND (attribute_not_exists(${sent}) OR NOT contains(${sent}, ${x.value(notice)})) ` +
            `AND (attribute_not_exists(${claim}) OR ${since} < ${x.value(staleBefore)})`,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      ),
    );
    if (written.landed) return { claimed: true };
    return written.item ? { claimed: false, build: toBuild(written.item) } : { claimed: false };
  }

  private async markMailed({ buildId, notice }: Key<'mail'>): Promise<void> {
    const x = new Expression();
    const sent = `ADD ${x.name('MailSent')} ${x.value(new Set([notice]))}`;
    try {
      // One write: the notice recorded and its claim cleared, while the claim is still this notice's.
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(buildId),
          UpdateExpression: `${sent} REMOVE ${x.name('MailClaim')}, ${x.name('MailClaimedAt')}`,
          ConditionExpression: `${x.name('MailClaim')} = ${x.value(notice)}`,
          ...x.parts(),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The claim was taken over (it had gone stale) or is gone: record the notice, leave the claim.
      const y = new Expression();
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(buildId),
          UpdateExpression: `ADD ${y.name('MailSent')} ${y.value(new Set([notice]))}`,
          ConditionExpression: `attribute_exists(${y.name(PARTITION_KEY)})`,
          ...y.parts(),
        }),
      );
    }
  }

  private async releaseMail({ buildId, notice }: Key<'mail'>): Promise<void> {
    const x = new Expression();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(buildId),
          UpdateExpression: `REMOVE ${x.name('MailClaim')}, ${x.name('MailClaimedAt')}`,
          ConditionExpression: `${x.name('MailClaim')} = ${x.value(notice)}`,
          ...x.parts(),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  // ---- BudgetWarnedAt / BudgetWarnedFor on #month# ---------------------------------------------

  private async claimWarning({ month, buildId }: Key<'budget-warning'>, now: Date): Promise<ClaimOutcome> {
    const landed = await this.conditional({
      Key: this.key(`${MONTH_PREFIX}${month}`),
      UpdateExpression: 'SET #at = :at, #for = :for',
      ConditionExpression: 'attribute_not_exists(#at)',
      ExpressionAttributeNames: { '#at': 'BudgetWarnedAt', '#for': 'BudgetWarnedFor' },
      ExpressionAttributeValues: marshall({ ':at': now.toISOString(), ':for': buildId }),
    });
    return landed ? { claimed: true } : { claimed: false };
  }

  private async releaseWarning({ month, buildId }: Key<'budget-warning'>): Promise<void> {
    await this.conditional({
      Key: this.key(`${MONTH_PREFIX}${month}`),
      UpdateExpression: 'REMOVE #at, #for',
      ConditionExpression: '#for = :for',
      ExpressionAttributeNames: { '#at': 'BudgetWarnedAt', '#for': 'BudgetWarnedFor' },
      ExpressionAttributeValues: marshall({ ':for': buildId }),
    });
  }

  private conditional(input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>): Promise<boolean> {
    return conditionalUpdate(this.client, this.tableName, input);
  }
}

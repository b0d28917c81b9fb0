import type { EventBridgeClient, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BOT_SOURCE } from '../../domain/event-names';
import type { Bus, BusEvent } from '../../domain/ports';

// The Bus port on EventBridge. PutEvents answers 200 even when it refuses an entry, so the
// per-entry result is checked: an event silently not put would leave a build approved forever.

export class BusPutError extends Error {
  constructor(
    readonly detailType: string,
    /** The entry's ErrorCode, or the SDK error's name when the call itself failed. */
    readonly code: string,
    detail: string,
    options: { cause: unknown },
  ) {
    super(`PutEvents ${detailType} failed: ${code}${detail ? ` (${detail})` : ''}`, options);
    this.name = 'BusPutError';
  }
}

export class EventBridgeBus implements Bus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async put(event: BusEvent): Promise<void> {
    let out;
    try {
      out = await this.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.busName,
              Source: BOT_SOURCE,
              DetailType: event.detailType,
              Detail: JSON.stringify(event.detail),
            },
          ],
        }),
      );
    } catch (error) {
      const code = error instanceof Error ? error.name : 'Error';
      throw new BusPutError(event.detailType, code, error instanceof Error ? error.message : String(error), { cause: error });
    }
    if ((out.FailedEntryCount ?? 0) > 0) {
      const failed: PutEventsResultEntry = out.Entries?.find((e) => e.ErrorCode) ?? {};
      throw new BusPutError(event.detailType, failed.ErrorCode ?? 'UnknownError', failed.ErrorMessage ?? '', {
        cause: failed,
      });
    }
  }
}

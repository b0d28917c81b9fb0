// What an events handler's failure asks of EventBridge, decided once by the entry helper
// (events/entry.ts). Any other error is transient (an AWS call that failed): it propagates and
// EventBridge delivers the event again, then its dead-letter queue takes it (alarmed).

/** The event came too early (a phase before the record it follows): deliver it again, later. */
export class RedeliverLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedeliverLater';
  }
}

/** Nothing a redelivery could change (a row the table has no answer for): logged with the BuildID and dropped. */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

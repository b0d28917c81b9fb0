import type { Clock, Notification, Notifier } from '../core/ports';

// SNS, locally: what would be e-mailed to the topic's subscribers lands in a log the page and
// the terminal show. Subjects carry the severity as SNS subjects do ("[OK] …").

export interface SnsEntry extends Notification {
  at: string;
}

export class LogNotifier implements Notifier {
  readonly entries: SnsEntry[] = [];
  private readonly listeners: Array<(entry: SnsEntry) => void> = [];

  constructor(private readonly clock: Clock) {}

  onNotify(listener: (entry: SnsEntry) => void): void {
    this.listeners.push(listener);
  }

  async notify(notification: Notification): Promise<void> {
    const entry: SnsEntry = { at: this.clock.now().toISOString(), ...notification };
    this.entries.push(entry);
    for (const listener of this.listeners) listener(entry);
  }
}

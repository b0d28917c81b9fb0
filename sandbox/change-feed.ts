// Everything the page shows that may have changed (a Slack post, a mail, a machine, a delivery)
// is announced here; the page's live-update stream listens.

export class ChangeFeed {
  private readonly listeners = new Set<() => void>();

  readonly changed = (): void => {
    for (const listener of this.listeners) listener();
  };

  readonly onChange = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

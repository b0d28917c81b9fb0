// What the sandbox started, to be closed again: on `close`, and when starting fails halfway.

type Step = () => Promise<void> | void;

export class Teardown {
  private readonly steps: Step[] = [];

  add(step: Step): void {
    this.steps.push(step);
  }

  /** Last started, first closed: each part is closed while what it uses still runs. */
  async close(): Promise<void> {
    for (const step of this.steps.reverse()) await step();
  }
}

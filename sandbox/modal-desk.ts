import type { SlackView } from '../stand-ins/slack-api';
import { newTriggerId } from '../stand-ins/slack-request';

// Which modal each person has open. Slack knows whose a views.open is by its trigger_id, which it
// gave out with that person's command or click; the sandbox gives them out here, so a modal the
// bot opens is shown to the one who acted. A submission's `update` replaces the view in place
// (same id), `clear` or a close removes the person's modals.

export class ModalDesk {
  private readonly owners = new Map<string, string>();
  private readonly closed = new Set<string>();
  private readonly updated = new Map<string, SlackView>();

  constructor(
    private readonly modals: () => SlackView[],
    private readonly changed: () => void,
  ) {}

  /** A trigger_id for `user`'s command or click: a modal opened with it is theirs. */
  trigger(user: string): string {
    const id = newTriggerId();
    this.owners.set(id, user);
    return id;
  }

  /** The modal `user` sees: the newest one opened for them and not closed. */
  open(user: string): SlackView | undefined {
    const mine = this.modals().filter((v) => v.triggerId !== undefined && this.owners.get(v.triggerId) === user && !this.closed.has(v.id));
    const top = mine.at(-1);
    return top && (this.updated.get(top.id) ?? top);
  }

  update(viewId: string, view: SlackView): void {
    this.updated.set(viewId, view);
    this.changed();
  }

  /** Every modal of `user` closed (Cancel, a submission's plain ack, `clear`). */
  close(user: string): void {
    for (let view = this.open(user); view; view = this.open(user)) this.closed.add(view.id);
    this.changed();
  }
}

import type { Ec2StandIn } from '../stand-ins/ec2';
import type { Outcome } from './runner';

// What the simulated build does, as chosen on the page (or SANDBOX_OUTCOME): the runner reads it
// at each step, and EC2 follows it for `no-capacity`.

export class OutcomeSwitch {
  private lift: (() => void) | undefined;

  constructor(
    private outcome: Outcome,
    private readonly ec2: Pick<Ec2StandIn, 'refuse'>,
    private readonly instanceType: string,
  ) {
    this.apply();
  }

  readonly current = (): Outcome => this.outcome;

  set(next: Outcome): void {
    this.outcome = next;
    this.apply();
  }

  // The `no-capacity` outcome: EC2 refuses INSTANCE_TYPE while it is chosen.
  private apply(): void {
    if (this.outcome === 'no-capacity') this.lift ??= this.ec2.refuse({ instanceType: this.instanceType, code: 'InsufficientInstanceCapacity' });
    else {
      this.lift?.();
      this.lift = undefined;
    }
  }
}

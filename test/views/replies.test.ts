import { describe, expect, it } from 'vitest';
import { notAnApprover, notRequesterOrApprover } from '../../views/replies';
import { aBuild } from '../../stand-ins/build-fixture';

// The refusals that name approvers, with 210 of them and unreadable groups: the names are
// shortened like every other name list ("… and 200 more"), wherever they appear in the reply.

const names = {
  userIds: Array.from({ length: 210 }, (_, i) => `U0A${String(i).padStart(8, '0')}`),
  groupIds: Array.from({ length: 12 }, (_, i) => `S0G${String(i).padStart(8, '0')}`),
  groupsUnread: true,
};

describe('refusals naming approvers', () => {
  it('name ten approvers and ten groups, then how many more, also where the groups could not be read', () => {
    for (const reply of [notAnApprover('approve', names), notRequesterOrApprover('cancel', aBuild(), names)]) {
      expect(reply.match(/<@U0A/g)).toHaveLength(20);
      expect(reply).toContain('and 200 more');
      expect(reply).toContain('<!subteam^S0G00000009> and 2 more could not be read from Slack just now');
      expect(reply.length).toBeLessThan(3000);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { APPROVER_CACHE_MS, createApproverDirectory } from '../../bot/approvers';
import { ChatError } from '../../domain/ports';
import { memoryLogger } from '../../stand-ins/memory-logger';

// bot/approvers.ts on its own: a chat that answers from a table (or fails as told) and a clock
// the case moves. The handler-level cases are in user-groups.test.ts.

const START = new Date('2026-03-02T10:00:00Z');

function directory(settings: { approverIds?: string[]; approverGroupIds?: string[]; allowSelfApproval?: boolean }) {
  const groups = new Map<string, string[]>();
  const failures: unknown[] = [];
  const asked: string[] = [];
  const clock = { at: START, now: () => clock.at };
  const chat = {
    userGroupMembers: async (id: string) => {
      asked.push(id);
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      const users = groups.get(id);
      if (!users) throw new ChatError('no_such_subteam', 'usergroups.users.list');
      return [...users];
    },
  };
  const config = { approverIds: [], approverGroupIds: [], allowSelfApproval: false, ...settings };
  return { approvers: createApproverDirectory(chat, config, clock), groups, failures, asked, clock, log: memoryLogger() };
}

describe('createApproverDirectory', () => {
  it('without groups: APPROVER_IDS as they are, anyone when it is empty, and no Slack call', async () => {
    const named = directory({ approverIds: ['U1'] });
    expect(await named.approvers.rules(named.log)).toMatchObject({ approverIds: ['U1'], anyone: false });
    const open = directory({ allowSelfApproval: true });
    expect(await open.approvers.rules(open.log)).toMatchObject({ approverIds: [], anyone: true, allowSelfApproval: true });
    expect([...named.asked, ...open.asked]).toEqual([]);
  });

  it('with groups: the union of APPROVER_IDS and every group, each person once, never anyone', async () => {
    const d = directory({ approverIds: ['U1'], approverGroupIds: ['S1', 'S2'] });
    d.groups.set('S1', ['U2', 'U1']);
    d.groups.set('S2', ['U3', 'U2']);
    const rules = await d.approvers.rules(d.log);
    expect([...rules.approverIds].sort()).toEqual(['U1', 'U2', 'U3']);
    expect(rules).toMatchObject({ anyone: false, named: { userIds: ['U1'], groupIds: ['S1', 'S2'], groupsUnread: false } });

    const empty = directory({ approverGroupIds: ['S1'] });
    empty.groups.set('S1', []);
    expect(await empty.approvers.rules(empty.log)).toMatchObject({ approverIds: [], anyone: false });
  });

  it('keeps what it read for 5 minutes by the injected clock, then reads again', async () => {
    const d = directory({ approverGroupIds: ['S1'] });
    d.groups.set('S1', ['U2']);
    await d.approvers.rules(d.log);
    d.groups.set('S1', []);
    d.clock.at = new Date(START.getTime() + APPROVER_CACHE_MS - 1);
    expect((await d.approvers.rules(d.log)).approverIds).toEqual(['U2']);
    d.clock.at = new Date(START.getTime() + APPROVER_CACHE_MS);
    expect((await d.approvers.rules(d.log)).approverIds).toEqual([]);
    expect(d.asked).toEqual(['S1', 'S1']);
  });

  it('decisions at the same moment share one read', async () => {
    const d = directory({ approverGroupIds: ['S1'] });
    d.groups.set('S1', ['U2']);
    const all = await Promise.all([d.approvers.rules(d.log), d.approvers.rules(d.log), d.approvers.rules(d.log)]);
    expect(all.map((r) => r.approverIds)).toEqual([['U2'], ['U2'], ['U2']]);
    expect(d.asked).toEqual(['S1']);
  });

  it('a network failure: warned with the group, APPROVER_IDS only for this decision, read again at the next', async () => {
    const d = directory({ approverIds: ['U1'], approverGroupIds: ['S1'] });
    d.groups.set('S1', ['U2']);
    d.failures.push(new ChatError('request_failed', 'usergroups.users.list'));
    expect(await d.approvers.rules(d.log)).toMatchObject({ approverIds: ['U1'], anyone: false, named: { groupsUnread: true } });
    expect(d.log.lines).toEqual([
      expect.objectContaining({ level: 'WARN', code: 'request_failed', groupId: 'S1', message: 'approver group lookup failed; only APPROVER_IDS may approve' }),
    ]);
    expect((await d.approvers.rules(d.log)).approverIds).toEqual(['U1', 'U2']);
    expect(d.asked).toEqual(['S1', 'S1']);
  });

  it('one group of two failing falls back for the whole decision; a thrown non-Slack error too', async () => {
    const d = directory({ approverGroupIds: ['S1', 'S2'] });
    d.groups.set('S1', ['U2']);
    d.failures.push(new TypeError('fetch failed'));
    expect(await d.approvers.rules(d.log)).toMatchObject({ approverIds: [], anyone: false, named: { groupsUnread: true } });
    expect(d.log.lines).toContainEqual(expect.objectContaining({ level: 'WARN', code: 'unexpected_error', error: 'fetch failed' }));
    expect(d.log.lines).toContainEqual(expect.objectContaining({ level: 'ERROR', code: 'no_such_subteam', groupId: 'S2' }));
  });
});

import { describe, expect, it } from 'vitest';
import { checkBranch, parseCommand, unescapeSlack, USAGE } from '../../domain/command';

// `/metal-build` text as Slack sends it (already `&amp; &lt; &gt;`-escaped). Every class of bad
// argument is refused with the exact problem named; the bot adds USAGE to the reply.

const ID = 'build-20261125-170052-a1b2';
const ALPHABET = 'allowed are letters, digits, ".", "_", "/" and "-"';
const COMMIT_RULE = 'a commit is 7 to 40 hexadecimal characters';

function problemOf(text: string): string {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`${JSON.stringify(text)} was accepted as ${JSON.stringify(r.command)}`);
  return r.problem;
}

const NOT_A_COMMIT = ' is not a commit (7–40 hex characters) nor `type=`/`hours=`; branch names cannot contain spaces';

describe('branch and commit: refused with the exact problem', () => {
  it.each([
    ['quote', `main"x`, `branch "main\\"x" contains the character "\\""; ${ALPHABET}`],
    ['single quote', `main'x`, `branch "main'x" contains the character "'"; ${ALPHABET}`],
    ['command substitution', 'main$(id)', `branch "main$(id)" contains the character "$"; ${ALPHABET}`],
    ['backticks', 'main`id`', `branch "main\`id\`" contains the character "\`"; ${ALPHABET}`],
    ['semicolon', 'main;reboot', `branch "main;reboot" contains the character ";"; ${ALPHABET}`],
    ['ampersand', 'a&b', `branch "a&b" contains the character "&"; ${ALPHABET}`],
    ['pipe', 'a|b', `branch "a|b" contains the character "|"; ${ALPHABET}`],
    ['newline', 'main\nabc1234', `branch "main\\nabc1234" contains a newline; ${ALPHABET}`],
    ['&& as Slack escapes it', 'main&amp;&amp;rm', `branch "main&&rm" contains the character "&"; ${ALPHABET}`],
    ['< as Slack escapes it', '&lt;x', `branch "<x" contains the character "<"; ${ALPHABET}`],
    ['> as Slack escapes it', 'x&gt;y', `branch "x>y" contains the character ">"; ${ALPHABET}`],
    ['a non-breaking space inside', 'a\u00a0b', `branch "a\u00a0b": "\u00a0" (U+00A0) is not ASCII; ${ALPHABET} (ASCII only)`],
    ['a Cyrillic look-alike', 'm\u0430in', `branch "m\u0430in": "\u0430" (U+0430) is not ASCII; ${ALPHABET} (ASCII only)`],
    ['an emoji', 'fix-🔥', `branch "fix-🔥": "🔥" (U+1F525) is not ASCII; ${ALPHABET} (ASCII only)`],
    ['path traversal', '../x', 'branch "../x" contains ".."'],
    ['leading dash (an unknown subcommand)', '-x', 'unknown subcommand "-x"'],
    ['two dots', 'a..b', 'branch "a..b" contains ".."'],
    ['.lock ending', 'x.lock', 'branch "x.lock" ends with ".lock"'],
    ['.lock part', 'x.lock/y', 'a part of branch "x.lock/y" ends with ".lock"'],
    ['reflog syntax', 'main@{1}', 'branch "main@{1}" contains "@{"'],
    ['trailing slash', 'feature/', 'branch "feature/" ends with "/"'],
    ['trailing dot', 'feature.', 'branch "feature." ends with "."'],
    ['double slash', 'a//b', 'branch "a//b" contains "//"'],
    ['leading dot', '.x', 'branch ".x" must start with a letter or digit'],
    ['hidden part', 'a/.b', 'a part of branch "a/.b" starts with "."'],
    ['201 characters', 'a'.repeat(201), 'branch name is 201 characters long; the limit is 200'],
    ['6 hex commit', 'main abc123', `commit "abc123" is 6 characters long; ${COMMIT_RULE}`],
    ['41 hex commit', `main ${'a'.repeat(41)}`, `commit "${'a'.repeat(41)}" is 41 characters long; ${COMMIT_RULE}`],
    ['non-hex commit', 'main abcdefg', `\`abcdefg\`${NOT_A_COMMIT}`],
    ['shell in the commit', 'main $(id)', `\`$(id)\`${NOT_A_COMMIT}`],
    ['a branch typed with a space', 'fix typo', `\`typo\`${NOT_A_COMMIT}`],
    ['angle brackets and an ampersand, escaped once (as Slack sends them)', 'fix &lt;b&gt;&amp;', `\`&lt;b&gt;&amp;\`${NOT_A_COMMIT}`],
    ['a backtick and a newline, as look-alike and escape', 'fix a`b\nc', `\`aˋb\\nc\`${NOT_A_COMMIT}`],
    ['a third argument', 'main abc1234 extra', 'too many arguments: after the branch come one optional commit, `type=` and `hours=`; "extra" is one too many'],
  ])('%s', (_name, text, problem) => {
    expect(problemOf(text)).toBe(problem);
  });

  it('allows exactly 200 characters', () => {
    expect(checkBranch('a'.repeat(200))).toBeUndefined();
    expect(parseCommand('a'.repeat(200))).toEqual({ ok: true, command: { kind: 'build', branch: 'a'.repeat(200) } });
  });

  it('shortens a long bad branch in the message', () => {
    expect(problemOf(`${'a'.repeat(100)};`)).toBe(`branch "${'a'.repeat(60)}…" contains the character ";"; ${ALPHABET}`);
  });
});

describe('which refusals carry the full usage', () => {
  it('only an unknown subcommand and `help` with arguments; every other refusal is one line', () => {
    expect(parseCommand('--help')).toEqual({ ok: false, problem: 'unknown subcommand "--help"', usage: true });
    expect(parseCommand('help me')).toEqual({ ok: false, problem: '`help` takes no arguments', usage: true });
    for (const text of ['main;x', 'main xyz1234', 'cancel', 'status build-x', 'main abc1234 extra']) {
      const parsed = parseCommand(text);
      expect(parsed.ok).toBe(false);
      expect('usage' in parsed).toBe(false);
    }
  });

  it('checkBranch still names a leading dash for callers other than the parser', () => {
    expect(checkBranch('-x')).toBe('branch "-x" starts with "-"');
  });
});

describe('builds accepted', () => {
  it.each([
    ['main abc1234', { kind: 'build', branch: 'main', commit: 'abc1234' }],
    ['feature/x-1.2 ABCDEF1', { kind: 'build', branch: 'feature/x-1.2', commit: 'abcdef1' }],
    ['release/v1.2.3', { kind: 'build', branch: 'release/v1.2.3' }],
    [`  main\t${'f'.repeat(40)}  `, { kind: 'build', branch: 'main', commit: 'f'.repeat(40) }],
    ['user_name/fix_1', { kind: 'build', branch: 'user_name/fix_1' }],
  ])('%j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });
});

describe('subcommands', () => {
  it.each([
    ['status', { kind: 'status' }],
    [`status ${ID}`, { kind: 'status', buildId: ID }],
    ['list', { kind: 'list' }],
    [`cancel ${ID}`, { kind: 'cancel', buildId: ID }],
    [`logs ${ID}`, { kind: 'logs', buildId: ID, lines: 40 }],
    [`logs ${ID} 1`, { kind: 'logs', buildId: ID, lines: 1 }],
    [`logs ${ID} 200`, { kind: 'logs', buildId: ID, lines: 200 }],
    ['help', { kind: 'help' }],
    ['', { kind: 'help' }],
    ['   ', { kind: 'help' }],
  ])('%j is understood', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['status build-1', '"build-1" is not a build ID (they look like build-20261125-170052-a1b2)'],
    [`status ${ID} ${ID}`, '`status` takes at most one build ID'],
    ['list 10', '`list` takes no arguments'],
    ['cancel', '`cancel` needs a build ID'],
    ['cancel main', '"main" is not a build ID (they look like build-20261125-170052-a1b2)'],
    [`cancel ${ID.toUpperCase()}`, `"${ID.toUpperCase()}" is not a build ID (they look like build-20261125-170052-a1b2)`],
    [`cancel ${ID} now`, '`cancel` takes one build ID'],
    ['help me', '`help` takes no arguments'],
    ['logs', '`logs` needs a build ID'],
    ['logs main', '"main" is not a build ID (they look like build-20261125-170052-a1b2)'],
    [`logs ${ID} 201`, '"201" is not a number of lines from 1 to 200'],
    [`logs ${ID} 0`, '"0" is not a number of lines from 1 to 200'],
    [`logs ${ID} -5`, '"-5" is not a number of lines from 1 to 200'],
    [`logs ${ID} all`, '"all" is not a number of lines from 1 to 200'],
    [`logs ${ID} 10 more`, '`logs` takes one build ID and at most a number of lines'],
  ])('%j is refused', (text, problem) => {
    expect(problemOf(text)).toBe(problem);
  });

  it('usage names every subcommand', () => {
    for (const word of ['<branch> [commit]', 'status [build-id]', 'list', 'cancel <build-id>', 'logs <build-id> [lines]', 'help'])
      expect(USAGE).toContain(`/metal-build ${word}`);
  });
});

describe('unescapeSlack', () => {
  it('undoes exactly Slack’s three escapes, &amp; last', () => {
    expect(unescapeSlack('a &amp;&amp; b &lt;c&gt;')).toBe('a && b <c>');
    // A literal "&lt;" typed by the user arrives as "&amp;lt;" and must stay "&lt;".
    expect(unescapeSlack('&amp;lt;')).toBe('&lt;');
  });
});

describe('type= and hours=: any order after the branch, form checked here', () => {
  it.each([
    ['main type=m5zn.metal', { type: 'm5zn.metal' }],
    ['main hours=2', { hours: 2 }],
    ['main abc1234 type=c5n.metal hours=1', { commit: 'abc1234', type: 'c5n.metal', hours: 1 }],
    ['main hours=1 ABC1234 type=c5n.metal', { commit: 'abc1234', type: 'c5n.metal', hours: 1 }],
    ['main hours=3 type=m5zn.metal', { type: 'm5zn.metal', hours: 3 }],
  ])('%s', (text, words) => {
    expect(parseCommand(text)).toEqual({ ok: true, command: { kind: 'build', branch: 'main', ...words } });
  });

  it.each([
    ['main type=m5zn.metal type=c5n.metal', '`type=` is given twice'],
    ['main hours=1 hours=2', '`hours=` is given twice'],
    ['main hours=1.5', 'hours="1.5" is not a whole number of hours (e.g. hours=2)'],
    ['main hours=', 'hours="" is not a whole number of hours (e.g. hours=2)'],
    ['main hours=-1', 'hours="-1" is not a whole number of hours (e.g. hours=2)'],
    ['main type=', 'type="" is not an instance type (they look like c5n.metal)'],
    ['main type=$(id)', 'type="$(id)" is not an instance type (they look like c5n.metal)'],
    ['main type=C5N.METAL', 'type="C5N.METAL" is not an instance type (they look like c5n.metal)'],
    ['main size=large', 'unknown word "size=large": after the branch come an optional commit, `type=<instance type>` and `hours=<limit>`'],
    ['main =1', 'unknown word "=1": after the branch come an optional commit, `type=<instance type>` and `hours=<limit>`'],
  ])('%s is refused', (text, problem) => {
    expect(problemOf(text)).toBe(problem);
  });

  it('new opens the dialog and takes no arguments', () => {
    expect(parseCommand('new')).toEqual({ ok: true, command: { kind: 'new' } });
    expect(parseCommand('new main')).toEqual({ ok: false, problem: '`new` takes no arguments: the dialog asks for the branch' });
    expect(USAGE).toContain('`/metal-build new`');
  });

  it("HEAD is never a build's branch: it is the self-test's (and how `costs` tells one from a build)", () => {
    expect(parseCommand('HEAD')).toEqual({ ok: false, problem: expect.stringContaining('`/metal-build selftest`') });
    expect(parseCommand('HEADS').ok).toBe(true);
  });

  it('selftest is a command of its own and takes no arguments', () => {
    expect(parseCommand('selftest')).toEqual({ ok: true, command: { kind: 'selftest' } });
    expect(parseCommand('selftest now')).toEqual({ ok: false, problem: '`selftest` takes no arguments' });
    expect(USAGE).toContain('`/metal-build selftest`');
  });
});

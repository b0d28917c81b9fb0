import { isBuildId } from './build-id';
import { SELFTEST_BRANCH } from './build-kind';

// `/metal-build` argument parsing. Branch names are checked stricter than git on purpose: they
// travel into user data and a shell on the build machine, so only a safe alphabet is let in.

export const BRANCH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
export const COMMIT_PATTERN = /^[0-9a-fA-F]{7,40}$/;

export type Command =
  /** `type`/`hours`: the request's choice, checked here for form only (domain/build-choice.ts checks it against the settings). */
  | { kind: 'build'; branch: string; commit?: string; type?: string; hours?: number }
  | { kind: 'status'; buildId?: string }
  | { kind: 'list' }
  | { kind: 'cancel'; buildId: string }
  /** `month` is YYYY-MM (UTC); absent means this month. */
  | { kind: 'costs'; month?: string }
  | { kind: 'rebuild'; buildId: string }
  /** The newest `lines` lines of the build's log (LOG_LINES_DEFAULT unless given, at most LOG_LINES_MAX). */
  | { kind: 'logs'; buildId: string; lines: number }
  /** `/metal-build new`: the New build dialog (bot/new-build.ts). */
  | { kind: 'new' }
  /** `/metal-build selftest`: an approver proves the loop on a small machine (docs/design.md "Self-test"). */
  | { kind: 'selftest' }
  | { kind: 'help' };

/** `/metal-build logs <build-id> [lines]`: how many lines unless given, and the most one may ask for. */
export const LOG_LINES_DEFAULT = 40;
export const LOG_LINES_MAX = 200;

/**
 * A refusal: the one-line problem; `usage` when the words were no command at all (an unknown
 * subcommand such as `--help`, or `help` with arguments): then the answer carries the full usage.
 */
/** Words that are commands, never branch names. */
export const COMMAND_WORDS = ['status', 'list', 'cancel', 'rebuild', 'logs', 'costs', 'help', 'new', 'selftest'] as const;

export type ParsedCommand = { ok: true; command: Command } | { ok: false; problem: string; usage?: boolean };

export const USAGE = [
  '`/metal-build <branch> [commit] [type=<instance type>] [hours=<limit>]` — request a build (e.g. `/metal-build main abc1234 hours=2`)',
  '`/metal-build new` — the New build dialog: branch, commit, machine and limit picked from lists',
  '`/metal-build status [build-id]` — one build, or the active ones',
  '`/metal-build list` — recent builds',
  '`/metal-build cancel <build-id>` — cancel a build (requester or an approver)',
  '`/metal-build rebuild <build-id>` — request the same branch and commit again',
  `\`/metal-build logs <build-id> [lines]\` — the newest lines of the build's log (${LOG_LINES_DEFAULT} unless given, at most ${LOG_LINES_MAX})`,
  '`/metal-build costs [YYYY-MM]` — what builds cost this month (or that one), and the budget',
  '`/metal-build selftest` — approvers: prove launch, role, user data, events, logs, S3 and the schedule on a small machine, for under a cent',
  '`/metal-build help` — this help',
  `The words ${COMMAND_WORDS.map((w) => `\`${w}\``).join(', ')} are commands, never branch names.`,
].join('\n');

/** Slack escapes these three in command text; everything else arrives as typed. */
export function unescapeSlack(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

const show = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/**
 * A word echoed as typed, in inline code: only what mrkdwn needs escaped once (Slack's own three,
 * which unescapeSlack turned back), a backtick as a look-alike, a control character as its escape.
 */
const quoted = (word: string) => {
  const cut = word.length > 60 ? `${word.slice(0, 60)}…` : word;
  const plain = [...cut].map((c) => (c < ' ' ? JSON.stringify(c).slice(1, -1) : c === '`' ? 'ˋ' : c)).join('');
  return `\`${plain.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')}\``;
};

export function checkBranch(branch: string): string | undefined {
  if (branch === SELFTEST_BRANCH)
    return `"${SELFTEST_BRANCH}" is not a branch name: name the branch (or run \`/metal-build selftest\`, which checks the repository's HEAD)`;
  if (branch.length > 200) return `branch name is ${branch.length} characters long; the limit is 200`;
  if (branch.startsWith('-')) return `branch ${show(branch)} starts with "-"`;
  // Named before the alphabet check: "@" alone is refused too, but "@{" is the exact problem.
  if (branch.includes('@{')) return `branch ${show(branch)} contains "@{"`;
  const bad = [...branch].find((c) => !/[A-Za-z0-9._/-]/.test(c));
  if (bad !== undefined) {
    const allowed = 'allowed are letters, digits, ".", "_", "/" and "-"';
    // Outside ASCII a look-alike (Cyrillic "а", a no-break space) reads like an allowed
    // character: it is named by its code point.
    const point = bad.codePointAt(0) ?? 0;
    if (point > 0x7e)
      return `branch ${show(branch)}: ${JSON.stringify(bad)} (U+${point.toString(16).toUpperCase().padStart(4, '0')}) is not ASCII; ${allowed} (ASCII only)`;
    const name = bad === '\n' ? 'a newline' : /\s/.test(bad) ? 'white space' : `the character ${JSON.stringify(bad)}`;
    return `branch ${show(branch)} contains ${name}; ${allowed}`;
  }
  // ".." before the first-character rule: for "../x" the traversal is the problem worth naming.
  if (branch.includes('..')) return `branch ${show(branch)} contains ".."`;
  if (!BRANCH_PATTERN.test(branch)) return `branch ${show(branch)} must start with a letter or digit`;
  if (branch.includes('//')) return `branch ${show(branch)} contains "//"`;
  if (branch.endsWith('/')) return `branch ${show(branch)} ends with "/"`;
  if (branch.endsWith('.')) return `branch ${show(branch)} ends with "."`;
  if (branch.endsWith('.lock')) return `branch ${show(branch)} ends with ".lock"`;
  const parts = branch.split('/');
  if (parts.some((part) => part.startsWith('.'))) return `a part of branch ${show(branch)} starts with "."`;
  if (parts.some((part) => part.endsWith('.lock'))) return `a part of branch ${show(branch)} ends with ".lock"`;
  return undefined;
}

export function checkCommit(commit: string): string | undefined {
  if (COMMIT_PATTERN.test(commit)) return undefined;
  const bad = [...commit].find((c) => !/[0-9a-fA-F]/.test(c));
  if (bad !== undefined) return `commit ${show(commit)} contains ${JSON.stringify(bad)}, which is not hexadecimal; a commit is 7 to 40 hexadecimal characters`;
  return `commit ${show(commit)} is ${commit.length} characters long; a commit is 7 to 40 hexadecimal characters`;
}

/** YYYY-MM, a real month of a plausible year. */
export const MONTH_PATTERN = /^(20\d\d)-(0[1-9]|1[0-2])$/;

export function parseCommand(rawText: string): ParsedCommand {
  const text = unescapeSlack(rawText);
  // Split on spaces and tabs only: a newline inside an argument must be seen and refused.
  const args = text.split(/[ \t]+/).filter((a) => a.length > 0);
  const [first, ...rest] = args;
  if (first === undefined || first === 'help') {
    if (rest.length > 0) return { ok: false, problem: '`help` takes no arguments', usage: true };
    return { ok: true, command: { kind: 'help' } };
  }
  const fail = (problem: string): ParsedCommand => ({ ok: false, problem });
  switch (first) {
    case 'status': {
      if (rest.length > 1) return fail('`status` takes at most one build ID');
      const [id] = rest;
      if (id === undefined) return { ok: true, command: { kind: 'status' } };
      if (!isBuildId(id)) return fail(`${show(id)} is not a build ID (they look like build-20261125-170052-a1b2)`);
      return { ok: true, command: { kind: 'status', buildId: id } };
    }
    case 'new':
      if (rest.length > 0) return fail('`new` takes no arguments: the dialog asks for the branch');
      return { ok: true, command: { kind: 'new' } };
    case 'selftest':
      if (rest.length > 0) return fail('`selftest` takes no arguments');
      return { ok: true, command: { kind: 'selftest' } };
    case 'list':
      if (rest.length > 0) return fail('`list` takes no arguments');
      return { ok: true, command: { kind: 'list' } };
    case 'cancel': {
      const [id] = rest;
      if (id === undefined) return fail('`cancel` needs a build ID');
      if (rest.length > 1) return fail('`cancel` takes one build ID');
      if (!isBuildId(id)) return fail(`${show(id)} is not a build ID (they look like build-20261125-170052-a1b2)`);
      return { ok: true, command: { kind: 'cancel', buildId: id } };
    }
    case 'rebuild': {
      const [id] = rest;
      if (id === undefined) return fail('`rebuild` needs a build ID');
      if (rest.length > 1) return fail('`rebuild` takes one build ID');
      if (!isBuildId(id)) return fail(`${show(id)} is not a build ID (they look like build-20261125-170052-a1b2)`);
      return { ok: true, command: { kind: 'rebuild', buildId: id } };
    }
    case 'logs': {
      const [id, count] = rest;
      if (id === undefined) return fail('`logs` needs a build ID');
      if (rest.length > 2) return fail('`logs` takes one build ID and at most a number of lines');
      if (!isBuildId(id)) return fail(`${show(id)} is not a build ID (they look like build-20261125-170052-a1b2)`);
      if (count === undefined) return { ok: true, command: { kind: 'logs', buildId: id, lines: LOG_LINES_DEFAULT } };
      const lines = /^[0-9]{1,4}$/.test(count) ? Number(count) : Number.NaN;
      if (!(lines >= 1 && lines <= LOG_LINES_MAX)) return fail(`${show(count)} is not a number of lines from 1 to ${LOG_LINES_MAX}`);
      return { ok: true, command: { kind: 'logs', buildId: id, lines } };
    }
    case 'costs': {
      if (rest.length > 1) return fail('`costs` takes at most one month (YYYY-MM)');
      const [month] = rest;
      if (month === undefined) return { ok: true, command: { kind: 'costs' } };
      if (!MONTH_PATTERN.test(month)) return fail(`${show(month)} is not a month; write it as YYYY-MM, e.g. 2026-11`);
      return { ok: true, command: { kind: 'costs', month } };
    }
  }
  // `--help`, `-h`: no branch starts with "-", so this was meant as a subcommand we do not have.
  if (first.startsWith('-')) return { ok: false, problem: `unknown subcommand ${show(first)}`, usage: true };
  const branchProblem = checkBranch(first);
  if (branchProblem) return fail(branchProblem);
  return buildWords(first, rest);
}

/** An instance type's form (family.size); whether this bot launches it is the settings' word. */
const INSTANCE_TYPE_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}\.[a-z0-9][a-z0-9-]{0,30}$/;

/** After the branch: an optional commit and the `type=`/`hours=` words, in any order, each at most once. */
function buildWords(branch: string, words: readonly string[]): ParsedCommand {
  const fail = (problem: string): ParsedCommand => ({ ok: false, problem });
  const command: Extract<Command, { kind: 'build' }> = { kind: 'build', branch };
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      if (command.commit !== undefined)
        return fail(`too many arguments: after the branch come one optional commit, \`type=\` and \`hours=\`; ${show(word)} is one too many`);
      // Not hexadecimal at all: most likely a branch name typed with a space ("fix typo").
      if (!/^[0-9a-fA-F]+$/.test(word))
        return fail(`${quoted(word)} is not a commit (7–40 hex characters) nor \`type=\`/\`hours=\`; branch names cannot contain spaces`);
      const commitProblem = checkCommit(word);
      if (commitProblem) return fail(commitProblem);
      command.commit = word.toLowerCase();
      continue;
    }
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (key === 'type') {
      if (command.type !== undefined) return fail('`type=` is given twice');
      if (!INSTANCE_TYPE_PATTERN.test(value)) return fail(`type=${show(value)} is not an instance type (they look like c5n.metal)`);
      command.type = value;
    } else if (key === 'hours') {
      if (command.hours !== undefined) return fail('`hours=` is given twice');
      if (!/^[0-9]{1,6}$/.test(value)) return fail(`hours=${show(value)} is not a whole number of hours (e.g. hours=2)`);
      command.hours = Number(value);
    } else return fail(`unknown word ${show(word)}: after the branch come an optional commit, \`type=<instance type>\` and \`hours=<limit>\``);
  }
  return { ok: true, command };
}

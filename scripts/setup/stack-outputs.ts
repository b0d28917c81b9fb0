import * as z from 'zod/mini';

// What `cdk deploy --outputs-file` wrote for the stack: the set-up's only source for the Function
// URL, the secret and the function names, so nothing is typed in by hand.

export interface StackOutputs {
  slackRequestUrl: string;
  slackSecretArn: string;
  functionNames: string[];
}

const OUTPUTS = z.object({
  SlackRequestUrl: z.string().check(z.regex(/^https:\/\/[^\s/]+\/slack\/events$/)),
  SlackSecretArn: z.string().check(z.regex(/^arn:aws[a-z-]*:secretsmanager:/)),
  FunctionNames: z.string().check(z.minLength(1)),
});

export type OutputsRead = { ok: true; outputs: StackOutputs } | { ok: false; problem: string };

/** The stack's outputs from the file's object (`{ "<stack>": { "<output>": "<value>" } }`). */
export function parseStackOutputs(file: unknown, stackName: string): OutputsRead {
  const stack = (file as Record<string, unknown> | null)?.[stackName];
  const parsed = OUTPUTS.safeParse(stack);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? stackName)))];
    return { ok: false, problem: `the deploy's outputs lack or garble ${fields.join(', ')} of ${stackName}` };
  }
  return {
    ok: true,
    outputs: {
      slackRequestUrl: parsed.data.SlackRequestUrl,
      slackSecretArn: parsed.data.SlackSecretArn,
      functionNames: parsed.data.FunctionNames.split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
    },
  };
}

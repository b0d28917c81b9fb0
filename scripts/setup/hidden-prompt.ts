// A question on the terminal whose answer is not echoed: the Slack credentials must not end up
// in the scrollback or a screen share.

export function askHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  return new Promise((resolve) => {
    stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let answer = '';
    const done = (value: string) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(answer);
        // Ctrl-C: stop the set-up as a shell would.
        if (char === '\u0003') {
          stdin.setRawMode(false);
          process.exit(130);
        }
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on('data', onData);
  });
}

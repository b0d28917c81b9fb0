// bot/manifest.yml is the template; the set-up fills in the stack's Function URL, so nobody pastes
// it in by hand (twice: the slash command and interactivity).

export const MANIFEST_PLACEHOLDER = 'https://<function-url>/slack/events';

export type ManifestRender = { ok: true; text: string } | { ok: false; problem: string };

/**
 * The template with `requestUrl` in place of every placeholder URL. Comment lines that tell a
 * person to replace the placeholder go: in the rendered manifest there is nothing left to replace.
 */
export function renderManifest(template: string, requestUrl: string): ManifestRender {
  if (!template.includes(MANIFEST_PLACEHOLDER)) return { ok: false, problem: `bot/manifest.yml no longer holds ${MANIFEST_PLACEHOLDER}` };
  const lines = template.split('\n').filter((line) => !(line.trimStart().startsWith('#') && line.includes('<function-url>')));
  const rendered = lines.join('\n').replaceAll(MANIFEST_PLACEHOLDER, requestUrl);
  // The first line names the file; the second says this copy is ready to paste.
  const [first = '', ...rest] = rendered.split('\n');
  return { ok: true, text: [first, "# Rendered by `npm run setup` with this stack's Function URL: paste it as it is.", ...rest].join('\n') };
}

import { describe, expect, it } from 'vitest';
import { releaseMissingFilesMessage, releaseRefusedMessage, releasedMessage } from '../../views/release-messages';

// The release function's thread replies.

const at = { version: '1.4.0', bucket: 'hedgehog-lab-artifacts' };
const OVA = 'builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-1.4.0.ova';

describe('releasedMessage', () => {
  it('gives the released URI and a command to download it', () => {
    expect(releasedMessage(at, 'releases/v1.4.0/hedgehog-lab-prewarmed-1.4.0.ova')).toBe(
      '📦 Released v1.4.0: `s3://hedgehog-lab-artifacts/releases/v1.4.0/hedgehog-lab-prewarmed-1.4.0.ova`\n' +
        'Download: `aws s3 cp "s3://hedgehog-lab-artifacts/releases/v1.4.0/hedgehog-lab-prewarmed-1.4.0.ova" .`',
    );
  });

  it('offers no command for a key a shell could expand, and shows the key inert', () => {
    const text = releasedMessage(at, 'releases/v1.4.0/<!channel>`$(reboot)`.ova');
    expect(text).toBe('📦 Released v1.4.0: `s3://hedgehog-lab-artifacts/releases/v1.4.0/&lt;!channel&gt;ˋ$(reboot)ˋ.ova`');
    expect(text).not.toContain('<!channel>');
  });
});

describe('releaseRefusedMessage', () => {
  it('names the holder, whether it published or is still copying, and where this OVA stays', () => {
    const stays = "this build's OVA stays at `s3://hedgehog-lab-artifacts/builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-1.4.0.ova`.";
    expect(releaseRefusedMessage(at, { buildId: 'build-20261124-090000-zzzz', published: true }, OVA)).toBe(
      `⚠️ v1.4.0 was already released by \`build-20261124-090000-zzzz\`: ${stays}`,
    );
    expect(releaseRefusedMessage(at, { buildId: 'build-20261124-090000-zzzz', published: false }, OVA)).toBe(
      `⚠️ v1.4.0 is being released by \`build-20261124-090000-zzzz\`: ${stays}`,
    );
  });

  it('shows the holder and the key inert', () => {
    const text = releaseRefusedMessage(at, { buildId: 'build-<!here>`x`', published: true }, 'builds/<@U0TARGET>.ova');
    expect(text).toBe(
      "⚠️ v1.4.0 was already released by `build-&lt;!here&gt;ˋxˋ`: this build's OVA stays at `s3://hedgehog-lab-artifacts/builds/&lt;@U0TARGET&gt;.ova`.",
    );
    for (const live of ['<!here>', '<@U0TARGET>']) expect(text).not.toContain(live);
  });
});

describe('releaseMissingFilesMessage', () => {
  it('lists what is missing, in the singular or the plural', () => {
    expect(releaseMissingFilesMessage(at, ['builds/b/a.sha256'])).toBe(
      '⚠️ v1.4.0 was not released: `s3://hedgehog-lab-artifacts/builds/b/a.sha256` is missing.',
    );
    expect(releaseMissingFilesMessage(at, ['builds/b/a.ova', 'builds/b/a.json'])).toBe(
      '⚠️ v1.4.0 was not released: `s3://hedgehog-lab-artifacts/builds/b/a.ova`, `s3://hedgehog-lab-artifacts/builds/b/a.json` are missing.',
    );
  });

  it('shows each key inert', () => {
    const text = releaseMissingFilesMessage(at, ['builds/<!channel>/`a`.ova']);
    expect(text).toBe('⚠️ v1.4.0 was not released: `s3://hedgehog-lab-artifacts/builds/&lt;!channel&gt;/ˋaˋ.ova` is missing.');
    expect(text).not.toContain('<!channel>');
  });
});

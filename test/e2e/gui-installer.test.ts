/**
 * The graphical installer, end to end (full tier: a live desktop under TCG is slow). Builds
 * imageconfigs/core-efi-gui.json (Installer "graphical"), boots its ISO with a VGA display and a
 * blank disk, reads every Calamares page's title from a QMP screenshot with tesseract, drives the
 * pages with QMP key events (disk, host name, user, password), installs, then boots the installed
 * disk alone and logs in as the user chosen in the GUI. Every page's screenshot is kept in
 * test-output/gui-installer/ (also after a passing run).
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/core/exec.js';
import { buildImage, REPO } from './lib/images.js';
import { ocr, Qmp } from './lib/qmp.js';
import { withGuest } from './lib/qemu.js';
import { e2eWorkDir } from './lib/workdir.js';

const SHOTS = join(REPO, 'test-output', 'gui-installer');
const USER = 'tester';
const PASSWORD = 'tester-Pa55';
const HOSTNAME = 'kiln-gui-box';

/** Screenshot until the OCR'd screen matches `pattern`; the matching screenshot is kept as `<name>.png`. */
async function waitForScreen(qmp: Qmp, name: string, pattern: RegExp, timeoutMs = 300_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const tmp = join(e2eWorkDir(), `screen-${name}.png`);
  let last = '';
  for (;;) {
    await qmp.screendump(tmp);
    last = await ocr(tmp);
    if (pattern.test(last)) {
      copyFileSync(tmp, join(SHOTS, `${name}.png`));
      return last;
    }
    if (Date.now() > deadline) {
      copyFileSync(tmp, join(SHOTS, `${name}-timeout.png`));
      throw new Error(`page "${name}": ${pattern} not on screen after ${timeoutMs / 1000} s; OCR read:\n${last}`);
    }
    await sleep(5000);
  }
}

describe('graphical installer ISO (imageconfigs/core-efi-gui.json)', () => {
  let iso: string;

  beforeAll(async () => {
    const built = await buildImage({ config: 'imageconfigs/core-efi-gui.json' });
    iso = join(built.imageDir, 'core-efi-gui.iso');
    if (!existsSync(iso)) throw new Error(`kiln build made no ISO at ${iso} (log: ${built.log})`);
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
  });

  it('boots with SeaBIOS too: the live system starts and Calamares shows its first page', async () => {
    await withGuest({ name: 'gui-bios', firmware: 'bios', cdrom: iso, memoryMiB: 2048, display: true }, async (g) => {
      await g.waitFor('Kiln installer: starting the graphical live system', 10 * 60_000);
      const qmp = await Qmp.connect(g.qmpSocket);
      try {
        // no disk here: the welcome page's required storage check is not met (only the page is checked)
        await waitForScreen(qmp, '0-welcome-bios', /Welcome/i, 15 * 60_000);
      } finally {
        qmp.close();
      }
    });
  });

  it('boots into Calamares, walks its pages, installs; the GUI-chosen user logs in on the installed disk', async () => {
    const target = join(e2eWorkDir(), 'gui-target.raw');
    rmSync(target, { force: true });
    await run('truncate', ['-s', '3G', target]);
    const started = Date.now();
    await withGuest({ name: 'gui-install', firmware: 'uefi', cdrom: iso, extraDisks: [{ path: target, format: 'raw' }], memoryMiB: 2048, display: true }, async (g) => {
      const qmp = await Qmp.connect(g.qmpSocket);
      try {
        // the requirements are met (a 3 GiB disk for the image): the page's verdict, not a warning
        const welcome = await waitForScreen(qmp, '1-welcome', /ask you some questions/i, 15 * 60_000);
        expect(welcome).not.toMatch(/does not satisfy/i);
        // Qt takes keys only once its window is active, and only a click on a control activated it here
        // (the window manager gives it the X focus, which Qt does not count): Next by the mouse (the
        // full-screen window's button, 1024x768); the pointer then stays in the window, so keys work
        await qmp.pointerTo(879, 750);
        await qmp.click();
        // the disk page: the only disk is offered, shown selected, but Next waits for the user's own
        // choice: click it in the list (first row), then Next
        await waitForScreen(qmp, '2-disk', /will be erased/i); // page content: the sidebar names every page
        await qmp.pointerTo(270, 17);
        await qmp.click();
        await sleep(2000);
        await qmp.pointerTo(879, 750);
        await qmp.click();
        // users: full name (the login name follows it), host name, password twice
        await waitForScreen(qmp, '3-users', /log in|password/i);
        await qmp.type(USER);
        await qmp.keys(['tab']); // login name (filled from the full name)
        await qmp.keys(['tab']); // host name
        await qmp.keys(['ctrl', 'a']);
        await qmp.type(HOSTNAME);
        await qmp.keys(['tab']);
        await qmp.type(PASSWORD);
        await qmp.keys(['tab']);
        await qmp.type(PASSWORD);
        await waitForScreen(qmp, '3-users-filled', new RegExp(HOSTNAME));
        // Next by the mouse: Alt+N from a password field did not reach it
        await qmp.pointerTo(879, 750);
        await qmp.click();
        // Calamares' own summary text (Kiln's pages add no summary lines)
        const summary = await waitForScreen(qmp, '4-summary', /overview of what will happen/i);
        expect(summary).toMatch(/start the install procedure/i);
        await qmp.pointerTo(879, 750); // Install, where Next was
        await qmp.click();
        // the confirmation dialog (a window of its own, which takes no key either): "Install now"
        await waitForScreen(qmp, '5-confirm', /Continue with installation/i, 120_000);
        await qmp.pointerTo(607, 372);
        // one click left the dialog open with its button highlighted (the window manager may take
        // the first click on a new window for the focus): a second one, harmless on the next page
        await qmp.click();
        await sleep(2000);
        await qmp.click();
        await waitForScreen(qmp, '5-install', /Installing core-efi-gui/i, 120_000); // Kiln's slide
        const verdict = await g.waitFor(/KILN-INSTALL-(DONE|FAILED)[^\n]*/, 30 * 60_000);
        if (verdict[1] === 'FAILED') throw new Error(`the install step failed: ${verdict[0]}`);
        await waitForScreen(qmp, '6-finish', /All done|finished|Done/i, 300_000);
      } finally {
        qmp.close();
      }
    });
    const installSeconds = Math.round((Date.now() - started) / 1000);
    process.stdout.write(`graphical install under TCG (ISO boot → finished page): ${installSeconds} s\n`);
    await withGuest({ name: 'gui-installed', firmware: 'uefi', disk: target, writableDisk: true, diskFormat: 'raw' }, async (g) => {
      await g.login(USER, PASSWORD);
      expect(await g.check('hostname')).toBe(HOSTNAME);
      expect(await g.check('id -nG')).toMatch(/\bsudo\b/);
      expect(await g.check('cat /etc/kiln/installed-from-iso.txt')).toContain('Kiln installer ISO');
      expect((await g.exec(`grep -c ${PASSWORD} /var/log/kiln-installer.log`)).output.trim()).toBe('0');
    });
  });
});

/** kiln boot's pure parts: the qemu command line, and the firmware read from a disk's first sectors. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/core/exec.js';
import { firmwareFor, GPT_TYPES, isHybrid, parseDiskHead } from '../../../src/boot-vm/detect.js';
import { formatFromExtension, qemuArgs, varsTemplate } from '../../../src/boot-vm/qemu-args.js';
import { sshCommand } from '../../../src/boot-vm/index.js';

const sock = { serial: { kind: 'socket' as const, socket: '/w/serial.sock', log: '/w/serial.log' }, monitor: '/w/mon.sock', pidFile: '/w/pid', vars: '/w/VARS.fd' };

describe('qemu command line', () => {
  it('UEFI + TCG + a snapshot disk, serial on a logged socket (what the e2e tests had)', () => {
    const a = qemuArgs({ firmware: 'uefi', disks: [{ path: '/i/core.vhdx', snapshot: true }] }, sock);
    expect(a.join(' ')).toContain('-machine q35,accel=tcg -cpu max -smp 1 -m 1024 -nodefaults -display none -vga none');
    expect(a.join(' ')).toContain('-chardev socket,id=ser0,path=/w/serial.sock,server=on,wait=on,logfile=/w/serial.log,logappend=off -serial chardev:ser0');
    expect(a.join(' ')).toContain('-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd -drive if=pflash,format=raw,unit=1,file=/w/VARS.fd');
    expect(a.join(' ')).toContain('-drive file=/i/core.vhdx,format=vhdx,if=none,id=disk0,snapshot=on -device virtio-blk-pci,drive=disk0,bootindex=1');
    expect(a).toContain('-no-reboot');
    expect(a.join(' ')).toContain('-nic user,model=virtio-net-pci');
  });

  it('a graphical guest: a VGA card instead of none, still no window; a QMP socket when given one', () => {
    const gui = qemuArgs({ firmware: 'bios', display: true, disks: [] }, { ...sock, qmp: '/w/qmp.sock' });
    expect(gui.join(' ')).toContain('-nodefaults -display none -device VGA,xres=1024,yres=768');
    expect(gui).not.toContain('-vga');
    expect(gui.join(' ')).toContain('-qmp unix:/w/qmp.sock,server=on,wait=off');
    const headless = qemuArgs({ firmware: 'bios', disks: [] }, sock);
    expect(headless.join(' ')).not.toMatch(/VGA|-qmp/);
  });

  it('SeaBIOS has no pflash; KVM uses the host CPU; Secure Boot adds SMM and the secure flash', () => {
    const bios = qemuArgs({ firmware: 'bios', accel: 'kvm', disks: [{ path: '/i/core.vhd' }] }, sock);
    expect(bios.join(' ')).not.toContain('pflash');
    expect(bios.join(' ')).toContain('-machine q35,accel=kvm -cpu host');
    expect(bios.join(' ')).toContain('format=vpc');
    const sb = qemuArgs({ firmware: 'uefi', secureBoot: 'ms', disks: [{ path: '/i/d.qcow2' }] }, sock);
    expect(sb.join(' ')).toContain('-machine q35,accel=tcg,smm=on -global driver=cfi.pflash01,property=secure,value=on');
    expect(sb.join(' ')).toContain('OVMF_CODE_4M.secboot.fd');
    expect(varsTemplate({ firmware: 'uefi', secureBoot: 'snakeoil' })).toBe('/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd');
    expect(varsTemplate({ firmware: 'bios' })).toBeUndefined();
  });

  it('interactive: the serial console and monitor on stdio; ssh forwarding; an ISO first with a target disk; other buses', () => {
    const a = qemuArgs({ firmware: 'uefi', disks: [{ path: '/t/target.raw', format: 'raw', interface: 'sata' }], cdrom: '/i/x.iso', sshPort: 2222, noReboot: false }, { serial: { kind: 'stdio' }, vars: '/w/V.fd' });
    expect(a.join(' ')).toContain('-chardev stdio,id=ser0,mux=on,signal=off -serial chardev:ser0 -mon chardev=ser0,mode=readline');
    expect(a).not.toContain('-no-reboot');
    expect(a.join(' ')).toContain('-device ide-hd,drive=disk0,bus=ide.0 ');
    expect(a.join(' ')).toContain('-device ide-cd,drive=cd0,bus=ide.1,bootindex=0');
    expect(a.join(' ')).toContain('hostfwd=tcp:127.0.0.1:2222-:22');
    const scsi = qemuArgs({ firmware: 'bios', disks: [{ path: '/a,b.raw', interface: 'scsi' }, { path: '/c.raw', interface: 'scsi' }] }, sock);
    expect(scsi.filter((x) => x === 'virtio-scsi-pci,id=scsi0')).toHaveLength(1);
    expect(scsi.join(' ')).toContain('file=/a,,b.raw'); // commas escaped for qemu
    expect(sshCommand(2222, 'tester')).toBe('ssh -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null tester@127.0.0.1');
    expect(formatFromExtension('x.VHD')).toBe('vpc');
  });
});

describe('firmware from the partition table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bootvm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  async function disk(name: string, script: string, grub = false): Promise<Buffer> {
    const f = join(dir, name);
    await run('truncate', ['-s', '64M', f]);
    await run('sfdisk', ['--quiet', f], { input: script });
    if (grub) {
      const buf = readFileSync(f);
      buf.write('\xeb\x63\x90GRUB', 0, 'latin1');
      writeFileSync(f, buf);
    }
    return readFileSync(f).subarray(0, 1024 * 1024);
  }

  it('GPT with an ESP: UEFI', async () => {
    const head = parseDiskHead(await disk('efi.raw', `label: gpt\nsize=16MiB, type=${GPT_TYPES.esp}\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n`));
    expect(head).toMatchObject({ table: 'gpt', esp: true, biosBootPartition: false, mbrBootCode: false });
    expect(head.types).toEqual([GPT_TYPES.esp, '0FC63DAF-8483-4772-8E79-3D69D8477DE4']);
    expect(firmwareFor(head)).toBe('uefi');
  });

  it('GPT with a BIOS boot partition and grub in the MBR: BIOS; with an ESP too: hybrid, UEFI first', async () => {
    const bios = parseDiskHead(await disk('bios.raw', `label: gpt\nsize=8MiB, type=${GPT_TYPES.biosBoot}\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n`, true));
    expect(bios).toMatchObject({ biosBootPartition: true, mbrBootCode: true, grubInMbr: true });
    expect(firmwareFor(bios)).toBe('bios');
    const both = parseDiskHead(await disk('both.raw', `label: gpt\nsize=8MiB, type=${GPT_TYPES.biosBoot}\nsize=16MiB, type=${GPT_TYPES.esp}\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n`, true));
    expect(firmwareFor(both)).toBe('uefi');
    expect(isHybrid(both)).toBe(true);
  });

  it('MBR: an ef partition means UEFI, boot code means BIOS; a blank disk is neither', async () => {
    expect(firmwareFor(parseDiskHead(await disk('mbr-efi.raw', 'label: dos\nsize=16MiB, type=ef\ntype=83\n')))).toBe('uefi');
    expect(firmwareFor(parseDiskHead(await disk('mbr-bios.raw', 'label: dos\ntype=83, bootable\n', true)))).toBe('bios');
    expect(firmwareFor(parseDiskHead(Buffer.alloc(1024 * 1024)))).toBeUndefined();
  });
});

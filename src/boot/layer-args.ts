/**
 * Kernel options that make the booted system open the root's device layers (pure). One command
 * line convention for every initramfs: systemd's (rd.luks.name=, roothash=,
 * systemd.verity_root_data=/hash=), which dracut's systemd initramfs reads as is and Kiln's
 * initramfs-tools hook (resources/trusted-boot/initramfs-tools) implements for Debian.
 */
import type { LayerBoot } from '../disk/layers/types.js';

export type InitramfsGenerator = 'initramfs-tools' | 'dracut';

export function layerKernelArgs(layers: readonly LayerBoot[], generator: InitramfsGenerator): string[] {
  const args: string[] = [];
  for (const l of layers) {
    if (l.kind === 'luks') {
      // initramfs-tools unlocks from the crypttab copied into the initramfs; systemd's generator from the command line
      if (generator === 'dracut') args.push(`rd.luks.name=${l.uuid}=${l.name}`);
    } else {
      if (!l.rootHash) throw new Error('the verity root hash is not known before the root is sealed');
      args.push(`roothash=${l.rootHash}`, `systemd.verity_root_data=UUID=${l.dataUuid}`, `systemd.verity_root_hash=UUID=${l.hashUuid}`);
      if (l.corruption !== 'error') args.push(`systemd.verity_root_options=${l.corruption}-on-corruption`);
      // the initramfs opened it: the main system's systemd-veritysetup-generator must not set it up again
      if (generator === 'initramfs-tools') args.push('systemd.verity=0');
    }
  }
  return args;
}

/** root= for a partition: its device-mapper node when it has layers, else the given identifier. */
export function rootDeviceSpec(p: { mapperName?: string; partuuid?: string; fsuuid?: string }, by: 'partuuid' | 'uuid'): string {
  if (p.mapperName) return `/dev/mapper/${p.mapperName}`;
  if (by === 'uuid' && p.fsuuid) return `UUID=${p.fsuuid}`;
  return `PARTUUID=${p.partuuid}`;
}

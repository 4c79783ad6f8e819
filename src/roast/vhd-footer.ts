/**
 * The fixed-VHD footer (Microsoft "Virtual Hard Disk Image Format Specification", Hard Disk Footer
 * Format and Appendix "CHS Calculation"). A fixed VHD is the raw disk followed by this 512-byte footer.
 * Azure requires the virtual size to be a whole number of MiB, so the raw part is padded up to one.
 */
export const VHD_FOOTER_SIZE = 512;
const MIB = 1024 * 1024;
/** Seconds between the Unix epoch and the VHD epoch (2000-01-01T00:00:00Z). */
const VHD_EPOCH = 946_684_800;

export interface Geometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** Virtual size Kiln writes: the raw size rounded up to a whole MiB (Azure rejects anything else). */
export function vhdVirtualSize(rawBytes: number): number {
  return Math.max(MIB, Math.ceil(rawBytes / MIB) * MIB);
}

/** CHS geometry exactly as the spec's appendix computes it (integer arithmetic). */
export function chsGeometry(sizeBytes: number): Geometry {
  let totalSectors = Math.floor(sizeBytes / 512);
  if (totalSectors > 65535 * 16 * 255) totalSectors = 65535 * 16 * 255;
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (totalSectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}

/** One's complement of the byte sum, with the checksum field itself counted as zero. */
export function footerChecksum(footer: Buffer): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) if (i < 64 || i >= 68) sum += footer[i]!;
  return ~sum >>> 0;
}

export interface FooterOptions {
  /** 16 random bytes identifying the disk. */
  uniqueId: Buffer;
  /** Creation time; defaults to now. */
  createdAt?: Date;
}

/** Footer of a fixed VHD whose data part is `virtualSize` bytes (already a whole MiB). */
export function fixedVhdFooter(virtualSize: number, opts: FooterOptions): Buffer {
  if (virtualSize % MIB !== 0) throw new Error(`VHD virtual size ${virtualSize} is not a whole MiB`);
  if (opts.uniqueId.length !== 16) throw new Error('VHD unique id must be 16 bytes');
  const f = Buffer.alloc(VHD_FOOTER_SIZE);
  f.write('conectix', 0, 'ascii');
  f.writeUInt32BE(0x00000002, 8); // features: reserved bit, always set
  f.writeUInt32BE(0x00010000, 12); // file format version 1.0
  f.writeBigUInt64BE(0xffffffffffffffffn, 16); // data offset: none for fixed disks
  const seconds = Math.floor((opts.createdAt ?? new Date()).getTime() / 1000) - VHD_EPOCH;
  f.writeUInt32BE(Math.max(0, seconds) >>> 0, 24);
  // Creator "win " = Hyper-V semantics: the size field, not CHS, is the disk's size. Readers decide by
  // this field (qemu reads an unknown creator's disk as CHS-sized, i.e. truncated); Azure and Hyper-V
  // use the size field.
  f.write('win ', 28, 'ascii');
  f.writeUInt32BE(0x000a0000, 32); // creator version 10.0, as Hyper-V writes
  f.write('Wi2k', 36, 'ascii'); // creator host OS (the spec knows only Windows and Macintosh)
  f.writeBigUInt64BE(BigInt(virtualSize), 40); // original size
  f.writeBigUInt64BE(BigInt(virtualSize), 48); // current size
  const g = chsGeometry(virtualSize);
  f.writeUInt16BE(g.cylinders, 56);
  f.writeUInt8(g.heads, 58);
  f.writeUInt8(g.sectorsPerTrack, 59);
  f.writeUInt32BE(2, 60); // disk type: fixed
  opts.uniqueId.copy(f, 68);
  f.writeUInt8(0, 84); // saved state
  f.writeUInt32BE(footerChecksum(f), 64);
  return f;
}

export interface ParsedFooter {
  cookie: string;
  diskType: number;
  currentSize: number;
  originalSize: number;
  geometry: Geometry;
  checksum: number;
  checksumValid: boolean;
}

/** Read back a footer (used by tests and by `kiln roast` to double-check what it wrote). */
export function parseVhdFooter(f: Buffer): ParsedFooter {
  const checksum = f.readUInt32BE(64);
  return {
    cookie: f.toString('ascii', 0, 8),
    diskType: f.readUInt32BE(60),
    originalSize: Number(f.readBigUInt64BE(40)),
    currentSize: Number(f.readBigUInt64BE(48)),
    geometry: { cylinders: f.readUInt16BE(56), heads: f.readUInt8(58), sectorsPerTrack: f.readUInt8(59) },
    checksum,
    checksumValid: checksum === footerChecksum(f),
  };
}

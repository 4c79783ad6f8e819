/**
 * The image-config format as a JSON Schema (TypeBox): the source of truth for the shape of a
 * config. Ajv checks documents against it (config/schema-check.ts), `kiln schema` prints it, and
 * schema/kiln-imageconfig.schema.json is its committed copy (a unit test keeps them equal).
 * model.ts keeps the hand-written interfaces other modules import; the type assertions at the
 * bottom fail compilation if the two ever disagree.
 *
 * Objects are closed for editors (an unknown key is flagged, because a misspelt key silently does
 * nothing), except that keys starting with "_" are comments everywhere, as upstream's KernelOptions
 * allows. The validator reads documents the way upstream's Go parser does (config/decode.ts):
 * unknown keys are dropped there with a warning before this schema sees the document.
 *
 * Constraints are upstream's unless marked with `kiln(...)`: a marked constraint is Kiln's own (the
 * build cannot do what the value asks, or Kiln checks more than upstream's parser), so breaking it
 * is a warning that `kiln build` refuses, not an error: `kiln validate` accepts what upstream accepts.
 */
import { Type, type Static, type TSchema, type TProperties, type ObjectOptions } from '@sinclair/typebox';
import type * as M from './model.js';
import { DISTRO_NAMES } from '../distro/catalog/index.js';
import { ARTIFACT_COMPRESSIONS, ARTIFACT_TYPES } from '../roast/registry.js';

/** The installers an ISO can start (Artifacts[].Installer of an "iso" artifact). */
export const ISO_INSTALLERS = ['terminal', 'graphical'] as const;

/** Values upstream's parser accepts where Kiln's constraint is stricter: 'any', or the upstream list (an enum). */
export type UpstreamAccepts = 'any' | readonly unknown[];
/** Schema nodes carrying a Kiln-only constraint (see the header). */
export const KILN_ONLY = new WeakMap<object, UpstreamAccepts>();
/** Required fields upstream does not require: an absent one reads as its zero value ("" or 0), as in Go. */
export const ZERO_FILL = new WeakSet<object>();
/** Optional strings whose "" is not "absent" (upstream rejects it), so the decoder keeps it. */
export const KEEP_EMPTY = new WeakSet<object>();

function kiln<T extends TSchema>(schema: T, upstream: UpstreamAccepts = 'any'): T {
  KILN_ONLY.set(schema, upstream);
  return schema;
}
function zero<T extends TSchema>(schema: T): T {
  ZERO_FILL.add(schema);
  return schema;
}
function keepEmpty<T extends TSchema>(schema: T): T {
  KEEP_EMPTY.add(schema);
  return schema;
}

/** Closed object that still accepts "_comment"-style keys. */
function Obj<T extends TProperties>(properties: T, options: ObjectOptions = {}) {
  return Type.Object(properties, { additionalProperties: false, patternProperties: { '^_': {} }, ...options });
}
const Enum = <const T extends readonly string[]>(values: T, description: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
const Str = (description: string, options: object = {}) => Type.String({ description, ...options });
const Bool = (description: string) => Type.Boolean({ description });
const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

export const PARTITION_TYPE_UUIDS = {
  linux: '0fc63daf-8483-4772-8e79-3d69d8477de4',
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  xbootldr: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
  'linux-root-amd64': '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
  'linux-swap': '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f',
  'linux-home': '933ac7e1-2eb4-4f13-b844-0e14e2aef915',
  'linux-srv': '3b8f8425-20e0-4f3b-907f-1a25a76f98e8',
  'linux-var': '4d21b016-b534-45c2-a9fb-5c16e091fd2d',
  'linux-tmp': '7ec6f557-3bc5-4aca-b293-16ef5df639d1',
  'linux-lvm': 'e6d6d379-f507-44c2-a23c-238f2a3df928',
  'linux-raid': 'a19d880f-05fc-4d3b-a006-743f0f84911e',
  'linux-luks': 'ca7d7ccb-63ed-4c53-861c-1742536059cc',
  'linux-dm-crypt': '7ffec5c9-2d00-49b7-8941-3ea10a5586b7',
} as const;
const PARTITION_TYPE_NAMES = Object.keys(PARTITION_TYPE_UUIDS) as (keyof typeof PARTITION_TYPE_UUIDS)[];

export const FS_TYPES = ['fat32', 'fat16', 'vfat', 'ext2', 'ext3', 'ext4', 'xfs', 'linux-swap'] as const;
export const FAT_FS_TYPES: readonly string[] = ['fat32', 'fat16', 'vfat'];
/** Upstream's partition flags: "bios-grub" is its legacy spelling of "bios_grub" (the decoder rewrites it). */
export const PARTITION_FLAGS = ['esp', 'grub', 'bios_grub', 'boot', 'dmroot'] as const;
export const NETWORK_BOOT_PROTOS = ['dhcp', 'static'] as const;
/** BootProto values upstream's parser accepts; Kiln configures dhcp and static networks. */
export const UPSTREAM_BOOT_PROTOS = ['dhcp', 'static', 'bootp', 'ibft'] as const;

const Artifact = Obj(
  {
    // the planner's rule (roast/registry.ts artifactNameProblem): a plain file name in the output folder
    Name: Str('Output file name without extension: no "/", not starting with ".".', { minLength: 1, pattern: '^[^/.\\u0000][^/\\u0000]*$' }),
    Type: kiln(Opt(Type.String({ enum: [...ARTIFACT_TYPES], description: 'Output format (what Kiln makes; see `kiln roast --list`). Absent: raw for a disk, a rootfs tarball (Compression) otherwise.' }))),
    Compression: kiln(Opt(Type.String({ enum: [...ARTIFACT_COMPRESSIONS], description: 'Compression of the artifact; tar.* makes a rootfs tarball.' }))),
    Installer: Opt(
      Enum(
        ISO_INSTALLERS,
        'Kiln extension, "iso" artifacts only: the installer the ISO starts. "terminal" (default): questions on the console and serial line. "graphical": a small live desktop that starts straight into Calamares (the terminal installer stays on the second console). See docs/iso.md.',
      ),
    ),
  },
  { description: 'An output image: name, format and optional compression.' },
);

const Partition = Obj(
  {
    ID: zero(kiln(Str('Identifier PartitionSettings refer to.', { minLength: 1 }))),
    Name: Opt(Str('GPT partition name (PARTLABEL); at most 35 ASCII characters.')),
    Start: zero(Type.Integer({ minimum: 0, description: 'Offset from the start of the disk, MiB.' })),
    End: zero(Type.Integer({ minimum: 0, description: "Offset from the start of the disk, MiB. 0: up to the next partition's Start, or MaxSize for the last." })),
    FsType: zero(kiln(Enum(FS_TYPES, 'Filesystem created on the partition.'))),
    Flags: Opt(Type.Array(Enum(PARTITION_FLAGS, 'Partition flag.'))),
    Type: Opt(Type.String({ enum: PARTITION_TYPE_NAMES, description: 'Friendly name of the partition type (instead of TypeUUID).' })),
    TypeUUID: Opt(Str('Partition type GUID.', { pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })),
    Artifacts: Opt(Type.Array(Artifact, { description: 'Per-partition output images.' })),
    Grow: Opt(Bool('Grow to fill the free space (kickstart-style unattended installation only).')),
  },
  { description: 'A partition: position, filesystem, flags and type.' },
);

const TargetDisk = Obj(
  {
    Type: zero(kiln(Enum(['path'] as const, 'Only "path" is supported.'), ['path', 'raid', ''])),
    Value: zero(Str('Device path of the installation target, e.g. /dev/sda.')),
  },
  { description: 'Physical disk an unattended ISO installer installs to.' },
);

const RawBinary = Obj(
  {
    BinPath: zero(kiln(Str('File copied byte-for-byte onto the disk (relative to the config file).', { minLength: 1 }))),
    BlockSize: zero(kiln(Type.Integer({ minimum: 1, description: 'dd block size in bytes.' }))),
    Seek: zero(Type.Integer({ minimum: 0, description: 'Offset in blocks.' })),
  },
  { description: 'A binary written raw onto the disk (e.g. a bootloader).' },
);

const Disk = Obj(
  {
    PartitionTableType: Opt(Enum(['gpt', 'mbr'] as const, 'Partition table type.')),
    MaxSize: Opt(Type.Integer({ minimum: 0, description: 'Disk size in MiB.' })),
    BlockSize: Opt(Type.Integer({ enum: [0, 512, 4096], description: 'Logical sector size; 0 means 512.' })),
    TargetDisk: Opt(TargetDisk),
    Artifacts: Opt(Type.Array(Artifact)),
    Partitions: Opt(Type.Array(Partition)),
    RawBinaries: Opt(Type.Array(RawBinary)),
  },
  { description: 'A disk: size, partition table, partitions and output artifacts.' },
);

const PartitionSetting = Obj(
  {
    ID: zero(kiln(Str('ID of the partition in Disks[].Partitions.', { minLength: 1 }))),
    MountPoint: Opt(Str('Absolute mount point, or "" for an unmounted partition.')),
    MountOptions: Opt(Str('fstab mount options.')),
    MountIdentifier: Opt(Enum(['uuid', 'partuuid', 'partlabel'] as const, 'How fstab names the partition (default partuuid).')),
    RdiffBaseImage: Opt(Str('Base image for an rdiff diff artifact.')),
    OverlayBaseImage: Opt(Str('Base image for an overlay diff artifact.')),
    RemoveDocs: Opt(Bool('Remove documentation from this partition (upstream parser field).')),
  },
  { description: 'Mount information for one partition.' },
);

const FileConfig = Obj(
  {
    Path: Str('Absolute destination path in the image.', { minLength: 1 }),
    Permissions: keepEmpty(Opt(Str('Octal permission bits, at most 777, e.g. "644".', { pattern: '^[0-7]+$' }))),
  },
  { description: 'Destination of an additional file with its options.' },
);
const AdditionalFileTarget = Type.Union([Type.String(), FileConfig, Type.Array(Type.Union([Type.String(), FileConfig]))], {
  description: 'Destination: an absolute path, a FileConfig object, or an array of them.',
});

const Script = Obj(
  {
    Path: zero(kiln(Str('Script path (relative to the config file).', { minLength: 1 }))),
    Args: Opt(Str('Arguments passed to the script.')),
    Network: Opt(Bool("Kiln extension: run the script with the build host's network (default false: loopback only).")),
  },
  { description: 'A customization script.' },
);

const Network = Obj(
  {
    BootProto: kiln(Opt(Enum(NETWORK_BOOT_PROTOS, 'Address configuration.')), UPSTREAM_BOOT_PROTOS),
    GateWay: Opt(Str('Gateway IP address.')),
    Ip: Opt(Str('IP address (static).')),
    NetMask: Opt(Str('Netmask, e.g. 255.255.255.0.')),
    OnBoot: Opt(Bool('Bring the interface up at boot.')),
    NameServers: Opt(Type.Array(Type.String(), { description: 'DNS server addresses.' })),
    Device: Opt(Str('Interface name, e.g. eth0.')),
  },
  { description: 'Network interface configuration (kickstart subset).' },
);

const PackageRepo = Obj(
  {
    Name: Str('Repository name.', { minLength: 1 }),
    BaseUrl: Str('Repository URL.', { minLength: 1 }),
    Install: Opt(Bool('Also install the repository definition into the image.')),
    GPGCheck: Opt(Bool('Check package signatures (default true).')),
    RepoGPGCheck: Opt(Bool('Check repository metadata signature (default true).')),
    GPGKeys: Opt(Str('Space-separated file:/// key URLs (RPM).')),
    Suite: Opt(Str('Kiln extension, Debian repositories: suite, e.g. "bookworm".', { minLength: 1 })),
    Components: Opt(Type.Array(Type.String({ minLength: 1 }), { description: 'Kiln extension, Debian repositories: components (default ["main"]).' })),
    SignedBy: Opt(Str('Kiln extension, Debian repositories: keyring file that signs the repository (relative to the config file).', { minLength: 1 })),
  },
  { description: 'A package repository.' },
);

const Group = Obj(
  {
    Name: zero(kiln(Str('Group name.', { minLength: 1 }))),
    GID: kiln(Opt(Str('Group ID as a string, e.g. "1001".', { pattern: '^[0-9]+$' }))),
  },
  { description: 'A group created in the image.' },
);

const User = Obj(
  {
    Name: Str('User name.', { minLength: 1 }),
    UID: Opt(Str('User ID as a string, 0-60000, e.g. "1001".', { pattern: '^[+-]?[0-9]+$' })),
    PasswordHashed: Opt(Bool('Password is already a crypt(3) hash.')),
    Password: Opt(Str('Password (plain, or a hash when PasswordHashed).')),
    PasswordExpiresDays: Opt(Type.Integer({ minimum: -1, maximum: 99999, description: 'Days until the password expires; -1: never.' })),
    SSHPubKeyPaths: Opt(Type.Array(kiln(Type.String({ minLength: 1 })), { description: 'Public key files (relative to the config file).' })),
    SSHPubKeys: Opt(Type.Array(kiln(Type.String({ minLength: 1 })), { description: 'Public keys, inline.' })),
    PrimaryGroup: Opt(Str('Primary group.')),
    SecondaryGroups: Opt(Type.Array(kiln(Type.String({ minLength: 1 })), { description: 'Supplementary groups.' })),
    StartupCommand: Opt(Str('Login shell / startup command.')),
    HomeDirectory: Opt(Str('Home directory (absolute).')),
  },
  { description: 'A user created in the image.' },
);

const KernelCommandLine = Obj(
  {
    ImaPolicy: Opt(Type.Array(Enum(['tcb', 'appraise_tcb', 'secure_boot'] as const, 'IMA policy.'))),
    EnableFIPS: Opt(Bool('Boot in FIPS mode.')),
    ExtraCommandLine: Opt(Str('Appended to the kernel command line; "`" is not allowed.')),
    SELinux: Opt(Enum(['enforcing', 'permissive', 'force_enforcing', ''] as const, 'SELinux mode ("" or absent: off).')),
    SELinuxPolicy: Opt(Str('SELinux policy package (default: the distribution\'s policy package).')),
    CGroup: Opt(Enum(['version_one', 'version_two', ''] as const, 'cgroup hierarchy version.')),
  },
  { description: 'Kernel command line options.' },
);

const Distro = Obj(
  {
    Name: Type.String({ enum: [...DISTRO_NAMES], description: 'Distribution (Kiln extension).' }),
    Release: Opt(Str('Release, e.g. "bookworm" or "12" for Debian, "3.0" for Azure Linux.', { minLength: 1 })),
    Mirror: Opt(Str('Mirror root replacing the distribution\'s default repositories\' base URL (http, https or file URL); `kiln build --mirror` overrides it.', { minLength: 1 })),
  },
  { description: 'Kiln extension: the distribution this system config builds. Absent: Azure Linux 3.0 (RPM), as upstream.' },
);

const Encryption = Obj(
  {
    Enable: Opt(Bool('Encrypt the root partition (LUKS2, aes-xts-plain64); /boot and the ESP stay clear.')),
    Password: Opt(Str('Passphrase asked for at boot (never logged, never written into the image).')),
  },
  { description: 'Root partition encryption (LUKS2). The root partition needs the "dmroot" flag; with grub, /boot must be its own partition. See docs/trusted-boot.md.' },
);

export const CORRUPTION_ACTIONS = ['error', 'restart', 'panic'] as const;
const Verity = Obj(
  {
    Enable: Opt(Bool('Make the root partition a read-only dm-verity volume.')),
    HashPartition: Opt(Str('ID of the partition that receives the hash tree (no filesystem, no mount point).', { minLength: 1 })),
    CorruptionAction: Opt(Enum(CORRUPTION_ACTIONS, 'What the kernel does on a block that fails verification: "error" (an I/O error, default), "restart" or "panic".')),
    TmpfsOverlays: Opt(Type.Array(Str('Absolute directory.', { pattern: '^/.+' }), { description: 'Directories made writable at boot by an overlay on tmpfs (default ["/var"], none when /var is its own partition). Changes are lost at shutdown.' })),
  },
  { description: 'Kiln extension: a read-only root verified by dm-verity; its root hash is part of the signed UKI. Needs the "dmroot" flag on the root partition and BootLoader "uki" or "systemd-boot". See docs/trusted-boot.md.' },
);

export const BOOT_LOADERS = ['grub', 'systemd-boot', 'uki'] as const;

const SecureBoot = Obj(
  {
    Enable: Opt(Bool('Build a boot chain that boots with UEFI Secure Boot enforced.')),
    SigningKey: Opt(Str('PEM private key Kiln signs its EFI binaries (systemd-boot, the UKI) with (relative to the config file). Absent: the distribution\'s signed shim, grub and kernel.', { minLength: 1 })),
    SigningCertificate: Opt(Str('PEM certificate of SigningKey; the firmware\'s db must trust it (relative to the config file).', { minLength: 1 })),
  },
  { description: 'Kiln extension: UEFI Secure Boot. See docs/trusted-boot.md.' },
);

const SystemConfig = Obj(
  {
    Name: Str('Name of the system configuration.', { minLength: 1, pattern: '\\S' }),
    IsDefault: Opt(Bool('The system configuration built by default.')),
    BootType: Opt(Enum(['efi', 'legacy', 'none', ''] as const, 'Boot firmware type.')),
    Distro: Opt(Distro),
    PartitionSettings: Opt(Type.Array(PartitionSetting)),
    EnableGrubMkconfig: Opt(Bool('Generate grub.cfg with grub-mkconfig (default true).')),
    EnableSystemdFirstboot: Opt(Bool('Run systemd-firstboot on first boot.')),
    Hostname: Opt(Str('Host name (DNS name, no underscores).')),
    PackageLists: Opt(Type.Array(Type.String({ minLength: 1 }), { description: 'Package list JSON files ({"packages": [...]}), relative to the config file.' })),
    Packages: Opt(Type.Array(Type.String({ minLength: 1 }), { description: 'Packages, inline.' })),
    KernelOptions: Opt(Type.Record(Type.String(), Type.String(), { description: '{"default": "<kernel package>"}; keys starting with "_" are comments.' })),
    KernelCommandLine: Opt(KernelCommandLine),
    AdditionalFiles: Opt(Type.Record(Type.String(), AdditionalFileTarget, { description: '"source": destination(s); sources relative to the config file.' })),
    PreInstallScripts: Opt(Type.Array(Script)),
    PostInstallScripts: Opt(Type.Array(Script)),
    FinalizeImageScripts: Opt(Type.Array(Script)),
    Networks: Opt(Type.Array(Network)),
    PackageRepos: Opt(Type.Array(PackageRepo)),
    Groups: Opt(Type.Array(Group)),
    Users: Opt(Type.Array(User)),
    Encryption: Opt(Encryption),
    Verity: Opt(Verity),
    BootLoader: Opt(Enum(BOOT_LOADERS, 'Kiln extension: what the firmware starts. "grub" (default); "uki": a unified kernel image (kernel, initramfs, command line, os-release in one EFI binary) at the removable path EFI/BOOT/BOOTX64.EFI; "systemd-boot": systemd-boot there, the UKI in EFI/Linux/. UEFI only.')),
    SecureBoot: Opt(SecureBoot),
    RemoveRpmDb: Opt(Bool('Remove the RPM database after installation.')),
    RemoveDocs: Opt(Bool('Remove documentation.')),
    PreserveTdnfCache: Opt(Bool('Keep the package cache.')),
    EnableHidepid: Opt(Bool('Mount /proc with hidepid=2.')),
    DisableRpmDocs: Opt(Bool('Do not install documentation.')),
    OverrideRpmLocales: Opt(Str('Locales to install ("NONE" or e.g. "en:fr").')),
    IsKickStartBoot: Opt(Bool('Kickstart-style installation (partitioning from PreInstallScripts).')),
    IsIsoInstall: Opt(Bool('Installed from an ISO.')),
  },
  { description: 'How one system on the image is configured.' },
);

export const ConfigSchema = Obj(
  {
    Disks: Opt(Type.Array(Disk, { description: 'Disks to create. Absent or without Partitions: a rootfs.' })),
    SystemConfigs: Type.Array(SystemConfig, { minItems: 1, description: 'System configurations (at least one).' }),
  },
  {
    title: 'Kiln image configuration',
    description: 'Azure Linux image-config format with Kiln extensions (Distro, Debian PackageRepos, Verity, BootLoader, SecureBoot). See docs/config.md.',
  },
);

/** The schema as written to schema/kiln-imageconfig.schema.json and printed by `kiln schema`. */
export function schemaDocument(): object {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(ConfigSchema)) };
}

// ---- model.ts and the schema must describe the same types (compile-time check) ----
// Mutual assignability plus equal key sets (assignability alone ignores an extra optional field).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
type Assert<T extends true> = T;
export type _ModelMatchesSchema = [
  Assert<Same<Static<typeof Artifact>, M.Artifact>>,
  Assert<Same<Static<typeof Partition>, M.Partition>>,
  Assert<Same<Static<typeof Disk>, M.Disk>>,
  Assert<Same<Static<typeof TargetDisk>, M.TargetDisk>>,
  Assert<Same<Static<typeof RawBinary>, M.RawBinary>>,
  Assert<Same<Static<typeof Script>, M.Script>>,
  Assert<Same<Static<typeof Encryption>, M.Encryption>>,
  Assert<Same<Static<typeof Verity>, M.Verity>>,
  Assert<Same<Static<typeof SecureBoot>, M.SecureBoot>>,
  Assert<Same<Static<typeof PartitionSetting>, M.PartitionSetting>>,
  Assert<Same<Static<typeof FileConfig>, M.FileConfig>>,
  Assert<Same<Static<typeof AdditionalFileTarget>, M.AdditionalFileTarget>>,
  Assert<Same<Static<typeof Network>, M.Network>>,
  Assert<Same<Static<typeof PackageRepo>, M.PackageRepo>>,
  Assert<Same<Static<typeof User>, M.User>>,
  Assert<Same<Static<typeof Group>, M.Group>>,
  Assert<Same<Static<typeof KernelCommandLine>, M.KernelCommandLine>>,
  Assert<Same<Static<typeof Distro>, M.Distro>>,
  Assert<Same<Static<typeof SystemConfig>, M.SystemConfig>>,
  Assert<Same<Static<typeof ConfigSchema>, M.Config>>,
];

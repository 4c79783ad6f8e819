/**
 * The typed image-config model (Azure Linux image-config format + Kiln extensions).
 * Field names are the format's own (PascalCase). The model is canonical: a document is decoded
 * the way upstream's Go parser reads it (config/decode.ts), so whatever the spelling of its keys
 * ("hostname", "HostName"), a field is here under its canonical name, and null values and "" for
 * optional strings are absent. The types are what `kiln build` supports (a config asking for more
 * is refused before the build sees it).
 * After `loadConfig`, every path field is absolute (resolved against the config file's directory
 * or --base-dir) and defaults documented in the spec are NOT filled in: use the accessors in
 * config/defaults.ts so "absent" and "false" stay distinguishable for the validator.
 *
 * NOTE: config/schema.ts (TypeBox) is the source of truth for validation; a unit test keeps these
 * interfaces and the schema in sync.
 */

export type PartitionTableType = 'gpt' | 'mbr';
export type FsType = 'fat32' | 'fat16' | 'vfat' | 'ext2' | 'ext3' | 'ext4' | 'xfs' | 'linux-swap';
export type PartitionFlag = 'esp' | 'grub' | 'bios_grub' | 'boot' | 'dmroot';
export type BootType = 'efi' | 'legacy' | 'none' | '';
export type MountIdentifier = 'uuid' | 'partuuid' | 'partlabel';

export interface Artifact {
  Name: string;
  /** vhd, vhdx, qcow2, vmdk, ova, raw, ext4, diff, rdiff, squashfs, erofs, initrd, iso ... */
  Type?: string;
  /** gz, xz, zst, tar.gz, tar.xz, tar.zst */
  Compression?: string;
  /** Kiln extension, "iso" artifacts only: the installer the ISO starts (default terminal). */
  Installer?: 'terminal' | 'graphical';
}

export interface TargetDisk {
  Type: 'path';
  Value: string;
}

export interface RawBinary {
  BinPath: string;
  BlockSize: number;
  Seek: number;
}

export interface Partition {
  ID: string;
  Name?: string;
  /** MiB from the start of the disk. */
  Start: number;
  /** MiB from the start of the disk; 0 = up to the next partition's Start, or MaxSize for the last. */
  End: number;
  FsType: FsType;
  Flags?: PartitionFlag[];
  Type?: string;
  TypeUUID?: string;
  Artifacts?: Artifact[];
  Grow?: boolean;
}

export interface Disk {
  PartitionTableType?: PartitionTableType;
  /** MiB */
  MaxSize?: number;
  /** Logical sector size: 0 (= 512), 512 or 4096. */
  BlockSize?: number;
  TargetDisk?: TargetDisk;
  Artifacts?: Artifact[];
  Partitions?: Partition[];
  RawBinaries?: RawBinary[];
}

export interface PartitionSetting {
  ID: string;
  MountPoint?: string;
  MountOptions?: string;
  MountIdentifier?: MountIdentifier;
  RdiffBaseImage?: string;
  OverlayBaseImage?: string;
  /** Upstream parser field. */
  RemoveDocs?: boolean;
}

export interface FileConfig {
  Path: string;
  /** Octal string, e.g. "664". */
  Permissions?: string;
}
/** "src": "dst" | FileConfig | (string | FileConfig)[] */
export type AdditionalFileTarget = string | FileConfig | (string | FileConfig)[];

export interface Script {
  Path: string;
  Args?: string;
  /** Kiln extension: the script may use the build host's network (default: no network). */
  Network?: boolean;
}

export interface Network {
  BootProto?: 'dhcp' | 'static';
  GateWay?: string;
  Ip?: string;
  NetMask?: string;
  OnBoot?: boolean;
  NameServers?: string[];
  Device?: string;
}

export interface PackageRepo {
  Name: string;
  BaseUrl: string;
  Install?: boolean;
  GPGCheck?: boolean;
  RepoGPGCheck?: boolean;
  GPGKeys?: string;
  /** Kiln extension (Debian repositories): suite, e.g. "bookworm". */
  Suite?: string;
  /** Kiln extension (Debian repositories): components, e.g. ["main", "contrib"]. */
  Components?: string[];
  /** Kiln extension (Debian repositories): path to the keyring that signs the repository. */
  SignedBy?: string;
}

export interface Group {
  Name: string;
  /** A JSON string upstream (e.g. "1001"). */
  GID?: string;
}

export interface User {
  Name: string;
  /** A JSON string upstream (e.g. "1001"), range 0-60000. */
  UID?: string;
  PasswordHashed?: boolean;
  Password?: string;
  /** 0-99999, or -1 for no expiration. */
  PasswordExpiresDays?: number;
  SSHPubKeyPaths?: string[];
  SSHPubKeys?: string[];
  PrimaryGroup?: string;
  SecondaryGroups?: string[];
  StartupCommand?: string;
  HomeDirectory?: string;
}

export interface KernelCommandLine {
  ImaPolicy?: ('tcb' | 'appraise_tcb' | 'secure_boot')[];
  EnableFIPS?: boolean;
  ExtraCommandLine?: string;
  SELinux?: 'enforcing' | 'permissive' | 'force_enforcing' | '';
  SELinuxPolicy?: string;
  CGroup?: 'version_one' | 'version_two' | '';
}

export interface Encryption {
  Enable?: boolean;
  Password?: string;
}

/** Kiln extension: the root partition as a read-only dm-verity volume (see docs/trusted-boot.md). */
export interface Verity {
  Enable?: boolean;
  /** ID of the partition that receives the hash tree (no filesystem, no mount point). */
  HashPartition?: string;
  /** What the kernel does when a block does not match its hash (default "error": an I/O error). */
  CorruptionAction?: 'error' | 'restart' | 'panic';
  /** Directories given a writable tmpfs overlay at boot (default ["/var"], unless /var is its own partition). */
  TmpfsOverlays?: string[];
}

/** Kiln extension: the program the firmware starts (default "grub"). */
export type BootLoader = 'grub' | 'systemd-boot' | 'uki';

/** Kiln extension: a boot chain that boots with UEFI Secure Boot enforced. */
export interface SecureBoot {
  Enable?: boolean;
  /** PEM private key Kiln signs its EFI binaries with (absent: the distribution's signed shim + grub + kernel). */
  SigningKey?: string;
  /** PEM certificate of SigningKey (what the firmware's db must hold). */
  SigningCertificate?: string;
}

/** Kiln extension: which distribution a SystemConfig builds. Absent = Azure Linux 3.0 (RPM), as upstream. */
export interface Distro {
  /** "debian" | "azurelinux" (the list: distro/catalog/) */
  Name: string;
  /** "bookworm" / "12" for Debian, "3.0" for Azure Linux ... */
  Release?: string;
  /** Mirror root replacing the default repositories' base URL (`kiln build --mirror` wins). */
  Mirror?: string;
}

export interface SystemConfig {
  Name: string;
  IsDefault?: boolean;
  BootType?: BootType;
  Distro?: Distro;
  PartitionSettings?: PartitionSetting[];
  EnableGrubMkconfig?: boolean;
  EnableSystemdFirstboot?: boolean;
  Hostname?: string;
  PackageLists?: string[];
  Packages?: string[];
  /** { "default": "<kernel package>", "_comment": ... } */
  KernelOptions?: Record<string, string>;
  KernelCommandLine?: KernelCommandLine;
  AdditionalFiles?: Record<string, AdditionalFileTarget>;
  PreInstallScripts?: Script[];
  PostInstallScripts?: Script[];
  FinalizeImageScripts?: Script[];
  Networks?: Network[];
  PackageRepos?: PackageRepo[];
  Groups?: Group[];
  Users?: User[];
  Encryption?: Encryption;
  /** Kiln extension. */
  Verity?: Verity;
  /** Kiln extension. */
  BootLoader?: BootLoader;
  /** Kiln extension. */
  SecureBoot?: SecureBoot;
  RemoveRpmDb?: boolean;
  RemoveDocs?: boolean;
  PreserveTdnfCache?: boolean;
  EnableHidepid?: boolean;
  DisableRpmDocs?: boolean;
  OverrideRpmLocales?: string;
  IsKickStartBoot?: boolean;
  IsIsoInstall?: boolean;
}

export interface Config {
  Disks?: Disk[];
  SystemConfigs: SystemConfig[];
}

/** What `loadConfig` returns: the parsed config with absolute paths, and where it came from. */
export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Directory relative paths were resolved against. */
  baseDir: string;
  /** Config name used for output folders: the file name without extension (core-efi.json → core-efi). */
  name: string;
  config: Config;
  /** --allow-outside-config-dir: referenced files may lie outside baseDir (see config/containment.ts). */
  allowOutsideConfigDir?: boolean;
}

/** One AdditionalFiles entry, flattened: copy `source` to `destination` with optional `permissions`. */
export interface AdditionalFile {
  source: string;
  destination: string;
  /** Parsed octal permissions, e.g. 0o664. */
  permissions?: number;
}

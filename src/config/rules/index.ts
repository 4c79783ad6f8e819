/** The semantic rules, in the order their findings are most useful to read. */
import { checkAccounts } from './accounts.js';
import type { Rule } from './context.js';
import { checkArtifacts } from './artifacts.js';
import { checkDisks } from './disks.js';
import { checkDistroKeys } from './distro-keys.js';
import { checkFiles } from './files.js';
import { checkNetworkAndRepos } from './network.js';
import { checkPackages } from './packages.js';
import { checkReferencedFiles } from './references.js';
import { checkSystemConfigs } from './system.js';
import { checkUnsupported } from './unsupported.js';
import { checkCommandText, checkControlCharacters } from './text.js';
import { checkTrustedBoot } from './trusted-boot.js';

export const RULES: readonly Rule[] = [
  checkDisks,
  checkArtifacts,
  checkSystemConfigs,
  checkAccounts,
  checkFiles,
  checkReferencedFiles,
  checkPackages,
  checkNetworkAndRepos,
  checkDistroKeys,
  checkTrustedBoot,
  checkControlCharacters,
  checkCommandText,
  checkUnsupported,
];
export type { FileKind, RuleContext } from './context.js';

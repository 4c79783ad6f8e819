/**
 * The secrets a config holds, registered with core/credentials so that no log line or message
 * can show them even by accident (they are never put on a command line or in the log on purpose:
 * passwords go to chpasswd on stdin, repository credentials into a root-only auth file).
 */
import type { Config } from '../config/model.js';
import { registerSecret, splitCredentials } from '../core/credentials.js';

export function registerConfigSecrets(config: Config): void {
  for (const sc of config.SystemConfigs) {
    for (const u of sc.Users ?? []) if (u.Password && !u.PasswordHashed) registerSecret(u.Password);
    registerSecret(sc.Encryption?.Password);
    for (const url of [...(sc.PackageRepos ?? []).map((r) => r.BaseUrl), ...(sc.Distro?.Mirror ? [sc.Distro.Mirror] : [])]) {
      const { username, password } = splitCredentials(url);
      registerSecret(password);
      if (password) registerSecret(username);
    }
  }
}

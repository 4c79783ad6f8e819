/**
 * Package counts from the package manager's transaction output. dnf prints
 * "  Installing       : bash-5.2.15-1.azl3.x86_64        3/120" (then "Verifying" with the same
 * counts, which are not progress); tdnf prints "Installing/Updating: bash-5.2.15-1.azl3.x86_64".
 */
export class RpmProgress {
  done = 0;
  total = 0;
  private tdnfPlanned = 0;

  feed(line: string): boolean {
    const dnf = /^\s*(Installing|Upgrading|Reinstalling|Downgrading)\s*:\s*\S+\s+(\d+)\/(\d+)\s*$/.exec(line);
    if (dnf) {
      this.done = Number(dnf[2]);
      this.total = Number(dnf[3]);
      return true;
    }
    const planned = /^Total installed size:|^\s*(\d+) packages? to install/i.exec(line);
    if (planned?.[1]) this.tdnfPlanned = Number(planned[1]);
    if (/^Installing\/Updating:\s*\S+/.test(line)) {
      this.done++;
      this.total = Math.max(this.tdnfPlanned, this.done);
      return true;
    }
    return false;
  }
}

/** What went wrong, read from dnf's or tdnf's messages. */
export interface RpmFailure {
  missing: string[];
  unsigned: string[];
  /** Repositories whose metadata signature is missing or does not verify. */
  unsignedMetadata: string[];
  unreachable: string[];
}

export function rpmFailure(lines: readonly string[]): RpmFailure {
  const missing = new Set<string>();
  const unsigned = new Set<string>();
  const unreachable = new Set<string>();
  const unsignedMetadata = new Set<string>();
  for (const line of lines) {
    const meta = /Failed to download metadata for repo '([^']+)':.*(GPG signature is not available|GPG verification|signature verification)/i.exec(line);
    if (meta?.[1]) {
      unsignedMetadata.add(meta[1]);
      continue;
    }
    let m = /No match for argument:\s*(\S+)/.exec(line) ?? /Unable to find a match:\s*(.+)$/.exec(line) ?? /No package (\S+) available/.exec(line);
    if (m?.[1]) m[1].split(/\s+/).forEach((p) => missing.add(p));
    m = /Package (\S+?)(?:\.rpm)? is not signed/.exec(line) ?? /(\S+?\.rpm): (?:Header V\d .*NOKEY|signature is not)/.exec(line);
    if (m?.[1]) unsigned.add(m[1]);
    m = /Failed to download metadata for repo '([^']+)'/.exec(line) ?? /Failed to (?:synchronize cache|get repo metadata) for repo '([^']+)'/.exec(line);
    if (m?.[1]) unreachable.add(m[1]);
  }
  return { missing: [...missing], unsigned: [...unsigned], unsignedMetadata: [...unsignedMetadata], unreachable: [...unreachable] };
}

/**
 * Package progress from mmdebstrap's verbose output: dpkg prints "Setting up NAME (VERSION) ..."
 * once per package, in both the essential phase (dpkg --install) and the apt phase. The total is
 * known in parts: the essential set is counted from its "Unpacking" lines, the rest from apt's
 * "N newly installed" summary.
 */
export class PackageProgress {
  private essentialUnpacked = 0;
  private aptNew = 0;
  private inAptPhase = false;
  done = 0;

  /** Feed one output line; returns true when the counts changed. */
  feed(line: string): boolean {
    if (/^I: installing remaining packages inside the chroot/.test(line)) {
      this.inAptPhase = true;
      return false;
    }
    const summary = /^\d+ upgraded, (\d+) newly installed/.exec(line);
    if (summary && this.inAptPhase) {
      this.aptNew = Number(summary[1]);
      return true;
    }
    if (!this.inAptPhase && /^Unpacking \S+ /.test(line)) {
      // counted towards the total, not reported: a total that is still growing ("0/1") says nothing
      this.essentialUnpacked++;
      return false;
    }
    if (/^Setting up \S+ \(/.test(line)) {
      this.done++;
      return true;
    }
    return false;
  }

  /** The total is final once apt's summary is read (before that it only grows). */
  get totalKnown(): boolean {
    return this.aptNew > 0;
  }

  /** Best known total (grows as phases reveal their sizes); never below `done`. */
  get total(): number {
    return Math.max(this.done, this.essentialUnpacked + this.aptNew);
  }
}

/** Package names apt could not find, from its error lines. */
export function missingPackages(lines: readonly string[]): string[] {
  const found = new Set<string>();
  for (const l of lines) {
    const m =
      /E: Unable to locate package (\S+)/.exec(l) ??
      /E: Package '([^']+)' has no installation candidate/.exec(l) ??
      /E: Couldn't find any package by (?:glob|regex) '([^']+)'/.exec(l) ??
      /E: Version '[^']+' for '([^']+)' was not found/.exec(l);
    if (m?.[1]) found.add(m[1]);
  }
  return [...found];
}

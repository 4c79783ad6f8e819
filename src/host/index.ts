export { ensureHostTools, findMissing, aptHost, aptInstall } from './check.js';
export { ALL_PACKAGES, TOOL_PACKAGES, FILE_PACKAGES, packagesFor } from './packages.js';

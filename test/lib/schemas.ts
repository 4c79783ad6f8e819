/** Validators shared by the unit and end-to-end tiers: console events, CycloneDX and SPDX documents. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { Ajv } from 'ajv';
import formatsPlugin from 'ajv-formats';

const addFormats = formatsPlugin as unknown as (ajv: Ajv) => Ajv;
export const REPO = resolve(import.meta.dirname, '../..');

/** schema/kiln-events.schema.json as a function: undefined when valid, else ajv's message. */
export function eventValidator(): (line: unknown) => string | undefined {
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(REPO, 'schema/kiln-events.schema.json'), 'utf8')));
  return (line) => (validate(line) ? undefined : ajv.errorsText(validate.errors));
}

/** The CycloneDX library's own strict JSON validator (null when valid). */
export async function validateCycloneDx(json: string): Promise<unknown> {
  return await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
}

/** Kiln's schema of the SPDX 2.3 fields it writes, plus the official schema when KILN_SPDX_SCHEMA names that file. */
export function spdxValidators(): { name: string; validate: (d: unknown) => string | undefined }[] {
  const out = [];
  const schemas = [join(REPO, 'test/fixtures/sbom/spdx-2.3-kiln-subset.schema.json'), ...(process.env.KILN_SPDX_SCHEMA ? [process.env.KILN_SPDX_SCHEMA] : [])];
  for (const file of schemas) {
    if (!existsSync(file)) continue;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const v = ajv.compile(JSON.parse(readFileSync(file, 'utf8')));
    out.push({ name: file, validate: (d: unknown) => (v(d) ? undefined : ajv.errorsText(v.errors)) });
  }
  return out;
}

/** SPDX rules a schema cannot state: identifiers unique, relationships point at elements that exist. */
export function spdxReferencesResolve(doc: { packages: { SPDXID: string }[]; files?: { SPDXID: string }[]; relationships: { spdxElementId: string; relatedSpdxElement: string }[]; documentDescribes?: string[] }): string[] {
  const ids = ['SPDXRef-DOCUMENT', ...doc.packages.map((p) => p.SPDXID), ...(doc.files ?? []).map((f) => f.SPDXID)];
  const problems: string[] = [];
  if (new Set(ids).size !== ids.length) problems.push('duplicate SPDXID');
  for (const r of doc.relationships) for (const id of [r.spdxElementId, r.relatedSpdxElement]) if (!ids.includes(id)) problems.push(`relationship to unknown ${id}`);
  for (const id of doc.documentDescribes ?? []) if (!ids.includes(id)) problems.push(`documentDescribes unknown ${id}`);
  return problems;
}

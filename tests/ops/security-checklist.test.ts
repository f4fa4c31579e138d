import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './cli-support.js';

/**
 * docs/SECURITY_CHECKLIST.md cites its proof as `tests/<file>` › <test name>.
 * Every cited file must exist and hold a test of exactly that name, and every
 * cited code path must exist, so the checklist cannot point at tests or code
 * that were renamed or removed.
 */

const checklist = readFileSync(path.join(ROOT, 'docs/SECURITY_CHECKLIST.md'), 'utf8');

/** Test names declared in a suite file: s('...'), test("..."), ... */
function testNames(file: string): Set<string> {
  const src = readFileSync(path.join(ROOT, file), 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/^\s*[A-Za-z]+(?:\.only)?\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1\s*,/gm)) {
    names.add(m[2]!.replace(/\\(.)/g, '$1'));
  }
  return names;
}

/** [file, test name] pairs cited in the table cells. */
function citations(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of checklist.split('\n')) {
    if (!line.startsWith('|')) continue;
    const proof =
      line
        .split(' | ')
        .at(-1)
        ?.replace(/\s*\|\s*$/, '') ?? '';
    let file: string | undefined;
    for (const part of proof.split(' · ')) {
      const m = /^(?:`(tests\/[^`]+\.test\.ts)`)?\s*(?:› (.+))?$/.exec(part.trim());
      if (!m) continue;
      if (m[1]) file = m[1];
      if (m[2] && file) out.push([file, m[2].trim()]);
    }
  }
  return out;
}

const s = suite('security checklist');

s('every cited test exists under that exact name', () => {
  const cited = citations();
  assert.ok(cited.length >= 60, `citations parsed: ${cited.length}`);
  const missing: string[] = [];
  const cache = new Map<string, Set<string>>();
  for (const [file, name] of cited) {
    if (!existsSync(path.join(ROOT, file))) {
      missing.push(`${file} (no such file)`);
      continue;
    }
    if (!cache.has(file)) cache.set(file, testNames(file));
    if (!cache.get(file)!.has(name)) missing.push(`${file} › ${name}`);
  }
  assert.equal(missing, [], `cited but not found:\n${missing.join('\n')}`);
});

s('every cited test file and code path exists', () => {
  const paths = new Set(
    [
      ...checklist.matchAll(
        /`((?:server|shared|otel|tests|migrations|docs)\/[^`\s]*|Dockerfile|\.dockerignore|\.env\.example)`/g,
      ),
    ].map((m) => m[1]!),
  );
  assert.ok(paths.size >= 40, `paths parsed: ${paths.size}`);
  const missing = [...paths].filter((p) => !existsSync(path.join(ROOT, p.replace(/\/$/, ''))));
  assert.equal(missing, [], `missing: ${missing.join(', ')}`);
});

s.run();

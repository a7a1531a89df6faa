import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import en from './en.ts';
import zhCN from './zh-CN.ts';

type Tree = { [key: string]: string | Tree };

function leafKeys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [`${prefix}${key}`] : leafKeys(value, `${prefix}${key}.`),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const srcDir = join(import.meta.dirname, '..');
const zhKeys = new Set(leafKeys(zhCN));

describe('console translations', () => {
  test('zh-CN and en have exactly the same keys', () => {
    expect(leafKeys(en).sort()).toEqual([...zhKeys].sort());
  });

  test('no English text is left empty or copied untranslated from Chinese', () => {
    const enLeaves = leafKeys(en);
    const lookup = (tree: Tree, key: string) => key.split('.').reduce<string | Tree>((node, part) => (node as Tree)[part], tree);
    const untranslated = enLeaves.filter((key) => {
      const text = lookup(en, key) as string;
      return text.trim() === '' || /[\u4e00-\u9fff]/.test(text);
    });
    expect(untranslated).toEqual([]);
  });

  // Every literal key passed to t() must exist, in the namespace given or one the file asks useTranslation for.
  test.each(sourceFiles(srcDir).map((file) => [file.slice(srcDir.length + 1), file]))('keys used in %s exist', (_, file) => {
    const code = readFileSync(file, 'utf8');
    const namespaces = ['common', ...[...code.matchAll(/useTranslation\('(\w+)'\)/g)].map((m) => m[1]!)];
    const missing: string[] = [];
    for (const match of code.matchAll(/\bt\(\s*['`]([\w.:-]+)['`]/g)) {
      const key = match[1]!;
      const candidates = key.includes(':') ? [key.replace(':', '.')] : namespaces.map((ns) => `${ns}.${key}`);
      if (!candidates.some((candidate) => zhKeys.has(candidate))) missing.push(key);
    }
    expect(missing).toEqual([]);
  });
});

// Builds the web console before `npm start` when its sources are newer than the last build (or it was never built),
// so a fresh clone needs only `npm install` and `npm start`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const web = join(import.meta.dirname, '..', 'web');
const built = join(web, 'dist', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (existsSync(join(web, 'index.html'))) {
  if (!existsSync(built) || newest(web) > statSync(built).mtimeMs) {
    process.stdout.write('building the web console…\n');
    const r = spawnSync('npm', ['run', 'build:web', '--silent'], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

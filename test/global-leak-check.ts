// Suite-level leak check: anything the tests made (names start with the test
// prefix, or nsnet's own prefixes) must be gone when the run ends.
import { execFileSync } from 'node:child_process';

const OURS = /^(nt|nsn|br-|nsnet)/;

function snapshot(): { netns: string[]; links: string[] } {
  const netns = (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as { name: string }[]).map((n) => n.name);
  const links = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }) || '[]') as { ifname: string }[]).map((l) => l.ifname);
  return { netns, links };
}

let before: ReturnType<typeof snapshot>;

export function setup(): void {
  before = snapshot();
}

export async function teardown(): Promise<void> {
  // Deferred link deletions may still be completing in the kernel.
  let leaked: string[] = [];
  for (let i = 0; i < 50; i++) {
    const after = snapshot();
    leaked = [
      ...after.netns.filter((n) => OURS.test(n) && !before.netns.includes(n)).map((n) => `netns ${n}`),
      ...after.links.filter((l) => OURS.test(l) && !before.links.includes(l)).map((l) => `link ${l}`),
    ];
    if (!leaked.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kernel objects left behind by the tests: ${leaked.join(', ')}`);
}

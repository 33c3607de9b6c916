// Suite-level leak check: anything the tests made (names start with the test
// prefix, or nsnet's own prefixes) must be gone when the run ends.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const OURS = /^(nt|nsn|br-|vx-|nsnet)/;

function nftTables(): string[] {
  try {
    return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(' ').pop() ?? '').filter((t) => t.startsWith('nsnet'));
  } catch {
    return [];
  }
}

function snapshot(): { netns: string[]; links: string[]; tables: string[]; forward: string } {
  const netns = (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as { name: string }[]).map((n) => n.name);
  const links = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }) || '[]') as { ifname: string }[]).map((l) => l.ifname);
  const forward = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'].map((f) => readFileSync(f, 'utf8').trim()).join('/');
  return { netns, links, tables: nftTables(), forward };
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
      ...after.tables.filter((t) => !before.tables.includes(t)).map((t) => `nftables table ${t}`),
      ...(after.forward !== before.forward ? [`forwarding (v4/v6) changed from ${before.forward} to ${after.forward}`] : []),
    ];
    if (!leaked.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Vitest reports a teardown error but keeps its exit status: set it ourselves.
  process.exitCode = 1;
  console.error(`\nLEAK CHECK FAILED: kernel objects left behind by the tests: ${leaked.join(', ')}`);
  throw new Error(`kernel objects left behind by the tests: ${leaked.join(', ')}`);
}

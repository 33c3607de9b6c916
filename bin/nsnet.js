#!/usr/bin/env node
// The nsnet command: compiled code only (`npm run build` makes dist/).
process.env.NSNET_CLI_MAIN = '1';
await import('../dist/cli/main.js');

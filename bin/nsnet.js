#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (no build step to forget).
import { register } from 'tsx/esm/api';

register();
process.env.NSNET_CLI_MAIN = '1';
await import('../src/cli/main.ts');

#!/usr/bin/env node
// The installed entry point: the compiled CLI lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the prepare script).
import { main } from '../dist/cli/main.js';

main(process.argv).catch(() => {
  process.exitCode = 1;
});

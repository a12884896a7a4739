#!/usr/bin/env node
// The terminal entry: the bundled action, so `npx karpenter-action` runs exactly what the action ships.
if (process.argv.length <= 2) process.argv.push('--help');
await import('../dist/index.js');

#!/usr/bin/env node
// The terminal entry: the bundled CLI, so `npx karpenter-action` runs exactly what the action ships.
await import('../dist/cli/index.js');

#!/usr/bin/env node
// The terminal entry: the bundled action, so `npx karpenter-action` runs exactly what the action ships.
// The bundle needs the Node.js of package.json's "engines". This file checks for it first, in syntax
// that older Nodes still parse, so they print one line instead of the bundle's stack trace.
var NEEDED_MAJOR = 24;
var running = process.versions.node;
if (Number(running.split('.')[0]) < NEEDED_MAJOR) {
  process.stderr.write(
    'karpenter-action needs Node.js ' + NEEDED_MAJOR + ' or newer; this is Node.js ' + running + '\n',
  );
  process.exit(1);
}
if (process.argv.length <= 2) process.argv.push('--help');
import('../dist/index.js');

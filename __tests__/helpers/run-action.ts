export { parseOutputs, runAction, type ActionRun } from '../../sandbox/lib/action-run.ts';

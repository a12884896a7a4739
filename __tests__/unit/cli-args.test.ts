import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { checkCommandLine, flagsToInputs, UsageError } from '../../src/cli-args.ts';
import { INPUT_NAMES } from '../../src/inputs.ts';

const refusal = (command: string, args: string[]): string => {
  try {
    checkCommandLine(command, flagsToInputs(args));
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${command} ${args.join(' ')} was accepted`);
};

test("the CLI's flags for the action's commands are exactly action.yml's inputs", () => {
  const action = parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'action.yml'), 'utf8')) as {
    inputs: Record<string, unknown>;
  };
  expect([...INPUT_NAMES].sort()).toEqual(Object.keys(action.inputs).sort());
});

test('a mistyped flag is refused with the likely flag and the valid ones, before anything runs', () => {
  const msg = refusal('apply', ['--stagez', 'pools']);
  expect(msg.split('\n')[0]).toBe('unknown flag --stagez for "apply"; did you mean --stages?');
  expect(msg).toContain('flags of apply: --config, --cluster, --stages,');
  expect(msg).not.toContain('--command');
});

test('each tool takes only its own flags', () => {
  expect(refusal('iam-policy', ['--bogus', '1']).split('\n')[0]).toBe(
    'unknown flag --bogus for "iam-policy"',
  );
  expect(refusal('iam-policy', ['--acount-id', '123456789012']).split('\n')[0]).toBe(
    'unknown flag --acount-id for "iam-policy"; did you mean --account-id?',
  );
  expect(refusal('token', ['--stages', 'pools']).split('\n')[0]).toBe('unknown flag --stages for "token"');
  expect(refusal('convert', ['--wirte']).split('\n')[0]).toBe(
    'unknown flag --wirte for "convert"; did you mean --write?',
  );
  expect(() =>
    checkCommandLine('iam-policy', flagsToInputs(['--role', 'plan', '--format=json'])),
  ).not.toThrow();
  expect(() =>
    checkCommandLine('plan', flagsToInputs(['--stages', 'pools', '--aws-region', 'eu-west-1'])),
  ).not.toThrow();
});

test('an unknown command is refused with the likely one; a bare word is not taken for a flag value', () => {
  expect(refusal('aply', []).split('\n')[0]).toBe('unknown command "aply"; did you mean "apply"?');
  expect(refusal('frobnicate', []).split('\n')[0]).toBe('unknown command "frobnicate"');
  expect(refusal('plan', ['pools']).split('\n')[0]).toBe('unexpected argument "pools"');
});

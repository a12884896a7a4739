export const id = 27;
export const ids = [27];
export const modules = {

/***/ 7027:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  flagsToInputs: () => (/* binding */ flagsToInputs)
});

// EXTERNAL MODULE: ./src/adapters/eks-token.ts
var eks_token = __webpack_require__(8018);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/config/load.ts
var load = __webpack_require__(1413);
// EXTERNAL MODULE: ./src/config/manifests.ts
var manifests = __webpack_require__(3635);
// EXTERNAL MODULE: ./src/config/issues.ts
var issues = __webpack_require__(1185);
// EXTERNAL MODULE: ./src/errors.ts
var src_errors = __webpack_require__(3919);
// EXTERNAL MODULE: ./src/manifests/v1beta1.ts
var v1beta1 = __webpack_require__(9441);
;// CONCATENATED MODULE: ./src/commands/convert.ts







/**
 * Converts the config's v1beta1 manifests to v1, file by file (placeholders kept as written). With
 * `write`, the files are replaced; comments in them are not carried over, which the report says.
 */
function runConvert(opts) {
    const loaded = (0,load/* loadConfig */.Z9)(opts.config, opts.workspace);
    if (!loaded.config)
        throw new src_errors/* Refusal */.P_(`invalid config ${opts.config}`, loaded.issues.map(issues/* renderIssue */.y));
    const cluster = (0,load/* selectCluster */.Nu)(loaded.config, opts.cluster);
    const m = (0,manifests/* loadManifests */.DD)(loaded.config, cluster, opts.workspace);
    if (m.issues.length > 0)
        throw new src_errors/* Refusal */.P_(`invalid manifests for ${cluster.cluster}`, m.issues.map(issues/* renderIssue */.y));
    const conv = (0,v1beta1/* convertV1beta1 */.E)(m.objects);
    const report = [
        ...conv.changes.map((c) => `${c.file}:${c.line}: ${c.ref} ${c.path}: ${c.message}`),
        ...conv.findings.map((f) => `${f.file}:${f.line}: ${f.level}: ${f.message} (${f.fix})`),
    ];
    const files = new Map();
    const legacyFiles = new Set(m.objects.filter((o) => o.legacy).map((o) => o.file));
    for (const file of legacyFiles) {
        files.set(file, (0,v1beta1/* renderV1Yaml */.J)(conv.converted.filter((o) => o.file === file)));
    }
    const errors = conv.findings.filter((f) => f.level === 'error').length;
    if (opts.write && errors === 0) {
        for (const [file, text] of files)
            (0,external_node_fs_.writeFileSync)((0,external_node_path_.resolve)(opts.workspace, file), text);
        if (files.size > 0)
            report.push(`wrote ${[...files.keys()].join(', ')} (comments in those files are not kept)`);
    }
    return { files, report, errors };
}

// EXTERNAL MODULE: ../../work/main/node_modules/@aws-sdk/client-sts/dist-cjs/index.js
var dist_cjs = __webpack_require__(8975);
;// CONCATENATED MODULE: ./src/adapters/aws-credentials.ts

/** The default AWS credential chain (environment, shared files, web identity, instance roles), as the SDK resolves it. */
function defaultCredentials(region) {
    const sts = new dist_cjs/* STSClient */.iM({ region });
    return async () => {
        const c = await sts.config.credentials();
        return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
    };
}

// EXTERNAL MODULE: ./src/main.ts + 946 modules
var main = __webpack_require__(6849);
// EXTERNAL MODULE: ./src/inputs.ts
var inputs = __webpack_require__(5433);
;// CONCATENATED MODULE: ./src/cli.ts





const USAGE = `usage: karpenter-action <command> [flags]

commands:
  plan | apply | drift | verify   the action's commands; flags are the action's inputs (--config, --cluster,
                                  --stages, --fingerprint, --aws-region, --kubeconfig, --comment, ...)
  convert [--config <path>] [--cluster <name>] [--write]
                                  show (or write) the v1 form of v1beta1 NodePools and EC2NodeClasses
  token --cluster <name> [--region <region>]
                                  print an EKS token as a kubectl ExecCredential (like aws eks get-token)
`;
/** Turns `--name value` / `--name=value` flags into the action's INPUT_* form, so both entries share one parser. */
function flagsToInputs(args) {
    const out = {};
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith('--'))
            throw new Error(`unexpected argument "${a}"\n\n${USAGE}`);
        const eq = a.indexOf('=');
        if (eq > 0) {
            out[a.slice(2, eq)] = a.slice(eq + 1);
        }
        else {
            const next = args[i + 1];
            if (next === undefined || next.startsWith('--'))
                out[a.slice(2)] = 'true';
            else {
                out[a.slice(2)] = next;
                i++;
            }
        }
    }
    return out;
}
async function cli_main(argv) {
    const [command, ...rest] = argv;
    if (!command || command === '--help' || command === '-h' || command === 'help') {
        process.stdout.write(USAGE);
        return command ? 0 : 2;
    }
    const flags = flagsToInputs(rest);
    if (command === 'token') {
        const cluster = flags.cluster;
        const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
        if (!cluster || !region)
            throw new Error('token needs --cluster and --region (or AWS_REGION)');
        const t = await (0,eks_token/* buildEksToken */.z)({
            clusterName: cluster,
            region,
            credentials: await defaultCredentials(region)(),
        });
        process.stdout.write(`${JSON.stringify({
            kind: 'ExecCredential',
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            spec: {},
            status: { expirationTimestamp: t.expiresAt.toISOString(), token: t.token },
        })}\n`);
        return 0;
    }
    if (command === 'convert') {
        const r = runConvert({
            config: flags.config ?? '.github/karpenter.yaml',
            cluster: flags.cluster,
            workspace: process.cwd(),
            write: flags.write === 'true',
        });
        for (const line of r.report)
            process.stderr.write(`${line}\n`);
        if (r.files.size === 0)
            process.stderr.write('no v1beta1 manifests found\n');
        if (flags.write !== 'true')
            for (const [file, text] of r.files)
                process.stdout.write(`# ${file}\n${text}`);
        return r.errors > 0 ? 1 : 0;
    }
    if (!inputs/* COMMANDS */.Lo.includes(command)) {
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
    for (const [k, v] of Object.entries(flags))
        process.env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
    process.env.INPUT_COMMAND = command;
    await (0,main/* run */.eF)(main/* COMMAND_RUNNERS */.Q_, (0,main/* cliEnv */.KE)());
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
}
cli_main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
}, (err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
});


/***/ })

};

#!/usr/bin/env node
// The raftbench command line: one entry point, one subcommand per job. Each subcommand parses its
// own options (with --help) and returns the process exit code.

const USAGE = `raftbench — a Raft-replicated KV store whose optimisations are switches, and the harness that measures them.

Usage: raftbench <command> [options]

Commands:
  start      the default comparison: baseline vs each switch vs all-on, about two minutes (npm start)
  run        the benchmark matrix: profiles × workloads × repetitions (raftbench run --help)
  sim        run the deterministic cluster simulation over many seeds (raftbench sim --help)
  report     report run files: every profile against the baseline (raftbench report --help)
  compare    compare run files: each profile across files, old → new (raftbench compare --help)
  profile    one profile × workload under clinic or --cpu-prof: reports and the top hotspots (npm run profile)
  node       run one node process of a cluster over TCP (raftbench node --help)
  cluster    start N node processes on 127.0.0.1 and wait for a leader (raftbench cluster --help)
  gate       the regression gate: exact counters vs the baseline, timing A/B vs --base (raftbench gate --help)
  help       show this text

Run 'raftbench <command> --help' for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./run-command.js')).startCommand,
  run: async () => (await import('./run-command.js')).runCommand,
  sim: async () => (await import('../sim/cli.js')).simCommand,
  report: async () => (await import('./report-command.js')).reportCommand,
  compare: async () => (await import('./compare-command.js')).compareCommand,
  profile: async () => (await import('./profile-command.js')).profileCommand,
  node: async () => (await import('./node-command.js')).nodeCommand,
  cluster: async () => (await import('./cluster-command.js')).clusterCommand,
  gate: async () => (await import('../bench/gate/command.js')).gateCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(`raftbench: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);

// A small script language for cluster scenarios, in the spirit of etcd's datadriven tests: each
// line is one step or one expectation, so a scenario reads as the protocol's behaviour rather
// than as test code. Lines:
//   cluster <n> [key=value …]      start n nodes (keys: preVote, checkQuorum, inflightMax, …)
//   campaign <id>                  let <id> time out and campaign, then settle
//   tick <id|all> [times]          tick one node (its messages settle) or all nodes
//   propose <id> <text>            propose on <id> (must be leader), then settle
//   refuse <id> <text> <reason>    the proposal is refused with this reason
//   isolate <id> | cut <a> <b> | heal
//   restart <id>                   replace the node by one restored from its disk
//   transfer <from> <to>           start a leadership transfer, then settle
//   compact <id> <index>           the host snapshots <id> at <index>
//   expect <id> key=value …        status fields: role, term, leader, commit, applied, lastIndex, snapshotIndex, vote
//   applied <id> <text,text,…|->   the non-empty entries <id> has applied, in order
//   leaders <id,…|->               exactly these nodes believe they lead
// '#' starts a comment.

import assert from 'node:assert/strict';
import { TestCluster, bytes, type ConfigOverrides } from './cluster.js';
import type { ProposeResult, RaftStatus } from '../../src/raft/types.js';

function parseOverrides(pairs: string[]): ConfigOverrides {
  const overrides: Record<string, number | boolean> = {};
  for (const pair of pairs) {
    const [key, value] = pair.split('=');
    if (key === undefined || value === undefined) throw new Error(`bad option '${pair}'`);
    overrides[key] = value === 'true' ? true : value === 'false' ? false : Number(value);
  }
  return overrides as ConfigOverrides;
}

function list(text: string): string[] {
  return text === '-' ? [] : text.split(',');
}

export function runScript(script: string): void {
  let cluster: TestCluster | null = null;
  const lines = script.split('\n');
  for (let lineNumber = 1; lineNumber <= lines.length; lineNumber++) {
    const line = lines[lineNumber - 1]!.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [command, ...args] = line.split(/\s+/);
    const where = `script line ${lineNumber}: ${line}`;
    if (command === 'cluster') {
      cluster = new TestCluster(Number(args[0]), parseOverrides(args.slice(1)));
      continue;
    }
    if (cluster === null) throw new Error(`${where}: no cluster yet`);
    const id = Number(args[0]);
    switch (command) {
      case 'campaign':
        cluster.campaign(id);
        break;
      case 'tick':
        if (args[0] === 'all') cluster.tickAll(Number(args[1] ?? 1));
        else {
          cluster.tick(id, Number(args[1] ?? 1));
          cluster.stabilize();
        }
        break;
      case 'propose':
        cluster.propose(id, args[1]!);
        cluster.stabilize();
        break;
      case 'refuse': {
        const result: ProposeResult = cluster.node(id).propose([bytes(args[1]!)]);
        assert.equal(result.ok ? 'accepted' : result.reason, args[2], where);
        break;
      }
      case 'isolate':
        cluster.isolate(id);
        break;
      case 'cut':
        cluster.cut(id, Number(args[1]));
        break;
      case 'heal':
        cluster.heal();
        break;
      case 'restart':
        cluster.restart(id);
        cluster.stabilize();
        break;
      case 'transfer':
        assert.deepEqual(cluster.node(id).transferLeadership(Number(args[1])), { ok: true }, where);
        cluster.stabilize();
        break;
      case 'compact': {
        const index = Number(args[1]);
        cluster.node(id).compact({ index, term: cluster.node(id).termAt(index)!, config: { voters: cluster.ids } });
        break;
      }
      case 'expect': {
        const status: RaftStatus = cluster.node(id).status();
        for (const pair of args.slice(1)) {
          const [key, value] = pair.split('=') as [keyof RaftStatus, string];
          assert.equal(String(status[key]), value, `${where}: ${String(key)}`);
        }
        break;
      }
      case 'applied':
        assert.deepEqual(cluster.appliedTexts(id), list(args[1]!), where);
        break;
      case 'leaders':
        assert.deepEqual(cluster.leaders(), list(args[0]!).map(Number), where);
        break;
      default:
        throw new Error(`${where}: unknown command`);
    }
  }
}

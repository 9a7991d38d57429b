// Cluster scenarios as scripts (see script.ts for the language).
import { test } from 'node:test';
import { runScript } from './script.js';

test('scenario: a partitioned minority leader cannot commit; the majority moves on; it rejoins and is overwritten', () => {
  runScript(`
    cluster 5
    campaign 1
    propose 1 a
    tick all 1
    applied 5 a
    # Leader 1 and node 2 are cut off from 3, 4, 5.
    cut 1 3
    cut 1 4
    cut 1 5
    cut 2 3
    cut 2 4
    cut 2 5
    propose 1 lost          # on 1 and 2 only: 2 of 5 is no quorum
    expect 1 role=leader commit=2 lastIndex=3
    campaign 3
    expect 3 role=leader term=2
    propose 3 b
    tick all 1
    applied 4 a,b
    heal
    tick all 2
    leaders 3
    expect 1 role=follower term=2 leader=3 commit=4 lastIndex=4   # its index 3 ("lost") was replaced
    applied 1 a,b
    applied 2 a,b
  `);
});

test('scenario: pre-vote and check-quorum keep a flapping node from disturbing a healthy leader', () => {
  runScript(`
    cluster 3 preVote=true checkQuorum=true
    campaign 1
    isolate 3
    tick 3 50              # node 3 alone: pre-votes go nowhere, its term stays
    expect 3 term=1 role=pre-candidate
    heal
    tick all 3
    leaders 1
    expect 1 term=1
    expect 3 role=follower leader=1 term=1
  `);
});

test('scenario: without pre-vote the same flapping node deposes the leader on return', () => {
  runScript(`
    cluster 3
    campaign 1
    isolate 3
    tick 3 50
    expect 3 role=candidate
    heal
    tick all 30
    expect 1 role=follower
  `);
});

test('scenario: a restarted leader comes back as a follower with its durable log and vote', () => {
  runScript(`
    cluster 3
    campaign 1
    propose 1 a
    propose 1 b
    tick all 1
    restart 1
    expect 1 role=follower term=1 vote=1 lastIndex=3 applied=3
    campaign 2
    leaders 2
    propose 2 c
    tick all 1
    applied 1 a,b,c
    applied 3 a,b,c
  `);
});

test('scenario: transfer under load, then a compacted leader brings a returning node back by snapshot', () => {
  runScript(`
    cluster 3 preVote=true checkQuorum=true
    campaign 1
    propose 1 a
    transfer 1 2
    leaders 2
    refuse 1 x not-leader
    isolate 3
    propose 2 b
    propose 2 c
    tick 2 1
    compact 2 4
    expect 2 snapshotIndex=4 commit=5
    heal
    tick all 3
    expect 3 snapshotIndex=4 commit=5 lastIndex=5 leader=2
    applied 3 a,c          # 'b' came inside the snapshot, which the host restores
  `);
});

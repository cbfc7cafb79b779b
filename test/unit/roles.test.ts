import { describe, expect, it } from 'vitest';
import {
  describeLeader,
  findLeader,
  isElectingRole,
  isLeadingRole,
  isProbingRole,
  isSuccessfulWrite,
  longestRole,
  onMajoritySide,
  roleKind,
  termOf,
  type RoleNode,
  type RoleVocabulary,
} from '../../src/lib/roles.js';
import { custom_system_view } from '../../src/registry.js';

/** Raft's and Zab's words together: what a node of no known system is judged by. */
const v = custom_system_view.roles;
const node = (id: string, status: RoleNode['status'], state: Record<string, unknown>, role_stale = false): RoleNode => ({ id, status, state, role_stale });

describe('the role vocabulary', () => {
  it("sorts Raft's and Zab's words into leading, electing and following, whatever their case", () => {
    expect(['leader', 'LEADING', 'candidate', 'pre_candidate', 'looking', 'follower', 'following', 'observing', 'serving'].map((r) => roleKind(v, r.toLowerCase()))).toEqual([
      'leading',
      'leading',
      'electing',
      'electing',
      'electing',
      'following',
      'following',
      'other',
      null,
    ]);
    expect(isLeadingRole(v, { role: 'Leader' })).toBe(true);
    expect(isLeadingRole(v, { role: 'follower' })).toBe(false);
    expect(isLeadingRole(v, {})).toBe(false);
    expect(isElectingRole(v, { role: 'pre_candidate' })).toBe(true);
    expect(isProbingRole(v, { role: 'pre_candidate' })).toBe(true);
    expect(isProbingRole(v, { role: 'candidate' })).toBe(false);
  });

  it('reads the term, or else the epoch, and only as a number', () => {
    expect(termOf(v, { term: 4, epoch: 9 })).toBe(4);
    expect(termOf(v, { epoch: 9 })).toBe(9);
    expect(termOf(v, { term: '4' })).toBeNull();
    expect(termOf(v, {})).toBeNull();
  });

  it('takes the vocabulary as data: another system brings its own words and term field', () => {
    const locks: RoleVocabulary = { leading: ['holding'], electing: ['waiting'], probing: [], following: [], other: [], term_fields: ['token'], write_requests: ['acquire'] };
    expect(findLeader(locks, [node('n1', 'up', { role: 'waiting', token: 3 }), node('n2', 'up', { role: 'holding', token: 4 })])).toEqual({ id: 'n2', term: 4, inferred: false });
    expect(findLeader(locks, [node('n1', 'up', { role: 'leader', term: 3 })])).toBeNull();
    expect(longestRole(locks)).toBe('holding'.length);
    expect(longestRole(v)).toBe('pre_candidate'.length);
  });
});

describe('findLeader', () => {
  it('is the live node in a leading role, the highest term winning', () => {
    const nodes = [node('n1', 'up', { role: 'leader', term: 2 }), node('n2', 'up', { role: 'leader', term: 3 }), node('n3', 'up', { role: 'follower', term: 3 })];
    expect(findLeader(v, nodes)).toEqual({ id: 'n2', term: 3, inferred: false });
  });

  it('never names a killed, paused or starting node, whatever it last reported', () => {
    for (const status of ['down', 'paused', 'starting'] as const) {
      expect(findLeader(v, [node('n1', status, { role: 'leader', term: 5 }), node('n2', 'up', { role: 'follower', term: 5 })])).toBeNull();
    }
    expect(findLeader(v, [node('n1', 'paused', { role: 'leader', term: 5 }), node('n2', 'up', { role: 'leader', term: 4 })])?.id).toBe('n2');
  });

  it('ignores a role left over from before a restart until the new process reports one', () => {
    expect(findLeader(v, [node('n1', 'up', { role: 'leader', term: 5 }, true)])).toBeNull();
    expect(findLeader(v, [node('n1', 'up', { role: 'leader', term: 5 }, false)])?.id).toBe('n1');
  });

  it('falls back to the inferred node only when no node leads, and only if it is live and reports no role', () => {
    const silent = [node('n1', 'up', {}), node('n2', 'up', {}), node('n3', 'up', {})];
    expect(findLeader(v, silent, 'n3')).toEqual({ id: 'n3', term: null, inferred: true });
    expect(findLeader(v, silent, null)).toBeNull();
    expect(findLeader(v, [node('n1', 'up', {}), node('n3', 'paused', {})], 'n3')).toBeNull();
    expect(findLeader(v, [node('n1', 'up', {}), node('n3', 'down', {})], 'n3')).toBeNull();
    // A node that reports its role is believed over the guess, both for itself and for others.
    expect(findLeader(v, [node('n1', 'up', {}), node('n3', 'up', { role: 'follower' })], 'n3')).toBeNull();
    expect(findLeader(v, [node('n1', 'up', { role: 'leader', term: 1 }), node('n3', 'up', {})], 'n3')).toEqual({ id: 'n1', term: 1, inferred: false });
  });
});

describe('inference helpers', () => {
  it('counts only a successful answer to a write-like request', () => {
    expect(isSuccessfulWrite(v, { type: 'write' }, { type: 'write_ok' })).toBe(true);
    expect(isSuccessfulWrite(v, { type: 'cas' }, { type: 'cas_ok' })).toBe(true);
    expect(isSuccessfulWrite(v, { type: 'write' }, { type: 'error' })).toBe(false);
    expect(isSuccessfulWrite(v, { type: 'read' }, { type: 'read_ok' })).toBe(false);
    expect(isSuccessfulWrite(v, { type: 'echo' }, { type: 'echo_ok' })).toBe(false);
  });

  it('keeps a guess only on a side holding a majority of the nodes', () => {
    expect(onMajoritySide('n3', null, 5)).toBe(true);
    expect(onMajoritySide('n3', [['n3'], ['n1', 'n2', 'n4', 'n5']], 5)).toBe(false);
    expect(onMajoritySide('n4', [['n1', 'n2'], ['n3', 'n4', 'n5']], 5)).toBe(true);
    expect(onMajoritySide('n1', [['n1', 'n2'], ['n3', 'n4']], 4)).toBe(false);
  });

  it('says when the leader is a guess', () => {
    expect(describeLeader('n3', true)).toBe('n3 (inferred from client replies)');
    expect(describeLeader('n3', false)).toBe('n3');
    expect(describeLeader(null, false)).toBe('-');
  });
});

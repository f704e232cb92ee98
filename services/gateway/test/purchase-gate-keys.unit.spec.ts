import { describe, expect, it } from 'vitest';
import { isPurchaseGateError } from '../src/domain/purchase-gate-error.js';
import { hashTagOf, purchaseGateKeys } from '../src/adapters/redis/purchase-gate-keys.js';
import { parseAdmitReply, toPurchaseRecord } from '../src/adapters/redis/redis-purchase-gate.js';

describe('purchase gate keys', () => {
  const keys = purchaseGateKeys('bn:');

  it('puts every key one script touches in the slot of its item', () => {
    const itemKeys = [
      keys.gate('42'),
      keys.buyers('42'),
      keys.admitted('42'),
      keys.idempotency('42', 'buyer-{1}', 'key-{with}-braces'),
      keys.purchase('42', 'p-1'),
    ];
    expect(new Set(itemKeys.map(hashTagOf))).toEqual(new Set(['item:42']));
    expect(hashTagOf(keys.gate('43'))).toBe('item:43');
  });

  it('names each key of each buyer apart, whatever the buyer and key contain', () => {
    expect(keys.idempotency('42', 'a:b', 'c')).not.toBe(keys.idempotency('42', 'a', 'b:c'));
    expect(keys.idempotency('42', 'a', 'k')).not.toBe(keys.idempotency('42', 'b', 'k'));
  });

  it('starts every key with the prefix', () => {
    for (const key of [keys.gate('1'), keys.purchaseItem('p'), keys.items(), keys.epoch()]) {
      expect(key.startsWith('bn:')).toBe(true);
    }
  });

  it('refuses a prefix with braces, which would move the hash tag', () => {
    expect(() => purchaseGateKeys('bn:{x}:')).toThrow(
      expect.objectContaining({ code: 'GATE_INVALID_OPTIONS', canRetry: false }),
    );
  });

  it('reads a hash tag the way Redis Cluster does', () => {
    expect(hashTagOf('a{b}c')).toBe('b');
    expect(hashTagOf('a{}c')).toBe('a{}c');
    expect(hashTagOf('abc')).toBe('abc');
    expect(hashTagOf('a{b')).toBe('a{b');
  });
});

describe('admit reply', () => {
  it('reads each shape the script returns', () => {
    expect(parseAdmitReply(['admitted', 7, 93, 1_796_680_000_123])).toEqual({
      kind: 'admitted',
      admissionSeq: 7,
      available: 93,
      admittedAt: 1_796_680_000_123,
    });
    expect(parseAdmitReply(['replay', 'p-1'])).toEqual({ kind: 'replay', purchaseId: 'p-1' });
    expect(parseAdmitReply(['conflict', 'p-1'])).toEqual({ kind: 'idempotency-conflict', purchaseId: 'p-1' });
    expect(parseAdmitReply(['unknown-item'])).toEqual({ kind: 'unknown-item' });
    expect(parseAdmitReply(['rejected', 'SOLD_OUT', 0, 2, ''])).toEqual({
      kind: 'rejected',
      reason: 'SOLD_OUT',
      available: 0,
      perBuyerLimit: 2,
    });
    expect(parseAdmitReply(['rejected', 'NOT_STARTED', 5, 1, '1700000000000'])).toEqual({
      kind: 'rejected',
      reason: 'NOT_STARTED',
      available: 5,
      perBuyerLimit: 1,
      startsAt: 1_700_000_000_000,
    });
  });

  it('fails loudly on a reply it does not know', () => {
    for (const reply of [
      null,
      'admitted',
      ['admitted', 'x', 1],
      ['rejected', 'MAYBE', 0, 1, ''],
      ['other'],
    ]) {
      let caught: unknown;
      try {
        parseAdmitReply(reply);
      } catch (error) {
        caught = error;
      }
      expect(isPurchaseGateError(caught, 'GATE_SCRIPT_FAILED')).toBe(true);
    }
    let taken: unknown;
    try {
      parseAdmitReply(['purchase-id-taken']);
    } catch (error) {
      taken = error;
    }
    expect(isPurchaseGateError(taken, 'GATE_PURCHASE_ID_TAKEN')).toBe(true);
  });
});

describe('purchase record', () => {
  it('is null for an absent hash and keeps unknown fields null', () => {
    expect(toPurchaseRecord({})).toBeNull();
    expect(
      toPurchaseRecord({
        purchaseId: 'p',
        itemId: 'i',
        buyerId: 'b',
        quantity: '2',
        status: 'rejected',
        reason: 'SOLD_OUT',
        admittedAt: '',
        admissionSeq: '',
        idempotencyKey: '',
      }),
    ).toEqual({
      purchaseId: 'p',
      itemId: 'i',
      buyerId: 'b',
      quantity: 2,
      status: 'rejected',
      reason: 'SOLD_OUT',
      admittedAt: null,
      admissionSeq: null,
      idempotencyKey: null,
    });
  });
});

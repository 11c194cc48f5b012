import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeThrottled, isUnderVoltageLine, parseThrottled, powerCondition, powerKnown, type ThrottledBits } from '../../src/metrics/power.js';

const NAMES: readonly [keyof ThrottledBits, number][] = [
  ['underVoltageNow', 0], ['frequencyCappedNow', 1], ['throttledNow', 2], ['softTempLimitNow', 3],
  ['underVoltageSinceBoot', 16], ['frequencyCappedSinceBoot', 17], ['throttledSinceBoot', 18], ['softTempLimitSinceBoot', 19],
];

describe('power: the firmware\'s throttled word', () => {
  it('decodes every combination of the eight bits, from sysfs text and vcgencmd text alike', () => {
    for (let combo = 0; combo < 256; combo++) {
      let word = 0;
      NAMES.forEach(([, bit], i) => {
        if ((combo >> i) & 1) word |= 1 << bit;
      });
      const expected = Object.fromEntries(NAMES.map(([name], i) => [name, ((combo >> i) & 1) === 1]));
      const hex = word.toString(16);
      assert.deepEqual(decodeThrottled(word), expected, `0x${hex}`);
      assert.deepEqual(parseThrottled(`${hex}\n`), expected, `sysfs ${hex}`);
      assert.deepEqual(parseThrottled(`throttled=0x${hex}\n`), expected, `vcgencmd 0x${hex}`);
      const condition = powerCondition({ firmware: expected as unknown as ThrottledBits });
      const want = expected.underVoltageNow ? 'undervoltage' : expected.throttledNow || expected.frequencyCappedNow ? 'throttled' : 'ok';
      assert.equal(condition, want, `0x${hex}`);
    }
  });

  it('reads values recorded on boards', () => {
    // A Pi 4 on a weak supply: under-voltage now and since boot, throttled now and since boot.
    assert.equal(powerCondition({ firmware: parseThrottled('50005')! }), 'undervoltage');
    // After the supply recovered: only the sticky bits remain.
    const recovered = parseThrottled('throttled=0x50000')!;
    assert.equal(powerCondition({ firmware: recovered }), 'ok');
    assert.equal(recovered.underVoltageSinceBoot, true);
    // Hot, soft limit and a frequency cap, no under-voltage.
    assert.equal(powerCondition({ firmware: parseThrottled('0xa000a')! }), 'throttled');
    assert.deepEqual(parseThrottled('0'), decodeThrottled(0));
  });

  it('refuses text that is not a throttled word', () => {
    for (const text of ['', 'error=1', 'throttled=', '0x123456789', 'zz', 'throttled=0xg']) assert.equal(parseThrottled(text), undefined, text);
  });
});

describe('power: kernel lines and what the board says', () => {
  it('finds the kernel\'s under-voltage lines, and only those', () => {
    assert.equal(isUnderVoltageLine('Under-voltage detected! (0x00050005)'), true);
    assert.equal(isUnderVoltageLine('hwmon hwmon1: Undervoltage detected!'), true);
    assert.equal(isUnderVoltageLine('Voltage normalised (0x00000000)'), false);
    assert.equal(isUnderVoltageLine('usb 1-1: new high-speed USB device'), false);
  });

  it('a board with neither firmware bits nor kernel events says nothing', () => {
    assert.equal(powerKnown({}), false);
    assert.equal(powerKnown({ underVoltageEvents: 0 }), false);
    assert.equal(powerKnown({ underVoltageEvents: 2 }), true);
    assert.equal(powerKnown({ firmware: decodeThrottled(0) }), true);
    assert.equal(powerCondition({ underVoltageEvents: 5 }), 'ok');
  });
});

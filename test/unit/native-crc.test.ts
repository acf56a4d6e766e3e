// Goal: the native CRC kernels match the published check values and combine
// correctly, since S3 checksums and on-media integrity both depend on them.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { native } from '../../src/backends/native.js';

const checkInput = Buffer.from('123456789');

t.test('check values', async (t) => {
  t.equal(native.crc32(checkInput, 0), 0xcbf43926);
  t.equal(native.crc32c(checkInput, 0), 0xe3069283);
  t.equal(native.crc64nvme(checkInput, 0n), 0xae8b14860a799888n);
});

t.test('streaming equals one-shot, for every split point', async (t) => {
  const data = randomBytes(300);
  const whole32c = native.crc32c(data, 0);
  const whole64 = native.crc64nvme(data, 0n);
  for (let split = 0; split <= data.length; split += 7) {
    const a = data.subarray(0, split);
    const b = data.subarray(split);
    t.equal(native.crc32c(b, native.crc32c(a, 0)), whole32c);
    t.equal(native.crc64nvme(b, native.crc64nvme(a, 0n)), whole64);
  }
  t.equal(native.crc32(data, 0), zlibCrc32(data));
});

t.test('combine matches the CRC of the concatenation', async (t) => {
  for (const lengthB of [0, 1, 5, 64, 1000, 65537]) {
    const a = randomBytes(97);
    const b = randomBytes(lengthB);
    const ab = Buffer.concat([a, b]);
    t.equal(
      native.crcCombine(0, BigInt(native.crc32(a, 0)), BigInt(native.crc32(b, 0)), BigInt(lengthB)),
      BigInt(native.crc32(ab, 0)),
    );
    t.equal(
      native.crcCombine(1, BigInt(native.crc32c(a, 0)), BigInt(native.crc32c(b, 0)), BigInt(lengthB)),
      BigInt(native.crc32c(ab, 0)),
    );
    t.equal(
      native.crcCombine(2, native.crc64nvme(a, 0n), native.crc64nvme(b, 0n), BigInt(lengthB)),
      native.crc64nvme(ab, 0n),
    );
  }
});

t.test('wrong argument types throw instead of crashing', async (t) => {
  t.throws(() => (native.crc32c as unknown as (x: unknown) => number)('nope'));
  t.throws(() => (native.crcCombine as unknown as (...x: unknown[]) => bigint)(7, 0n, 0n, 0n));
});

// Goal: listing pages over the real metadata store match a naive model of S3
// listing (prefix, delimiter, markers, max-keys) for random key sets, page by
// page, so pagination neither skips nor repeats keys or common prefixes.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../src/object/meta-store.js';
import { objectKey } from '../../src/object/keys.js';
import { listPage } from '../../src/object/listing.js';
import type { ObjectRecord } from '../../src/object/records.js';

function model(keys: string[], prefix: string, delimiter: string | undefined): string[] {
  const out: string[] = [];
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const index = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const item = index >= 0 ? key.slice(0, index + delimiter!.length) : key;
    if (out[out.length - 1] !== item) out.push(item);
  }
  return out;
}

function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

t.test('pages agree with the model', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'strata-listing-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const store = new MetaStore(directory);
  t.teardown(() => store.close());
  const random = seeded(7);
  const alphabet = ['a', 'b', '/', '-', 'é', '~', 'z'];
  const keys = new Set<string>();
  while (keys.size < 400) {
    const length = 1 + Math.floor(random() * 8);
    keys.add(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
  }
  const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  await store.transaction(() => {
    for (const key of sorted) {
      const record = { v: 1, key, sizeBytes: 0, etag: '', lastModifiedMs: 0, headers: {}, userMeta: {}, blobs: [], storageClass: 'STANDARD', owner: 'o' } as ObjectRecord;
      store.objects.putSync(objectKey('bucket', key), record);
      store.objects.putSync(objectKey('bucket-other', key), record);
    }
  });
  let checks = 0;
  for (const prefix of ['', 'a', 'a/', 'é', 'z~', 'nothing']) {
    for (const delimiter of [undefined, '/', '-', 'a/']) {
      const expected = model(sorted, prefix, delimiter);
      for (const maxKeys of [1, 3, 7, 1000]) {
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 1000; pages++) {
          const page = listPage(store.objects, { bucket: 'bucket', prefix, ...(delimiter ? { delimiter } : {}), ...(after !== undefined ? { after } : {}), maxKeys });
          const items = [...page.entries.map((e) => e.key), ...page.commonPrefixes].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
          seen.push(...items);
          if (!page.isTruncated) break;
          after = page.lastReturned;
        }
        t.same(seen, expected, `prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)} maxKeys=${maxKeys}`);
        checks++;
      }
    }
  }
  t.equal(checks, 96);
  const empty = listPage(store.objects, { bucket: 'bucket', prefix: '', maxKeys: 0 });
  t.same([empty.entries.length, empty.isTruncated], [0, false]);
});

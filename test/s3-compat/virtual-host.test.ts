// Goal: with --domain, virtual-host-style requests (bucket in the Host header)
// reach the same buckets and objects as path-style ones, signed as clients sign them.
import t from 'tap';
import { startStrata } from '../helpers/server-process.js';
import { rawRequest } from '../helpers/raw-s3.js';

t.test('virtual-host-style addressing', async (t) => {
  const server = await startStrata(t, { args: ['--domain', 's3.localhost'] });
  const vhost = (bucket: string) => ({ host: `${bucket}.s3.localhost:${server.port}` });
  t.equal((await rawRequest(server, { method: 'PUT', path: '/', headers: vhost('vhost-bucket') })).status, 200, 'CreateBucket via Host');
  const put = await rawRequest(server, { method: 'PUT', path: '/dir/obj%20one', headers: vhost('vhost-bucket'), body: 'virtual' });
  t.equal(put.status, 200);
  const pathStyle = await rawRequest(server, { method: 'GET', path: '/vhost-bucket/dir/obj%20one' });
  t.equal(pathStyle.text, 'virtual', 'path-style sees the object written virtual-host style');
  const list = await rawRequest(server, { method: 'GET', path: '/', query: { 'list-type': '2' }, headers: vhost('vhost-bucket') });
  t.match(list.text, /<Key>dir\/obj one<\/Key>/);
  const listBuckets = await rawRequest(server, { method: 'GET', path: '/', headers: { host: `s3.localhost:${server.port}` } });
  t.match(listBuckets.text, /<Name>vhost-bucket<\/Name>/, 'the bare domain is the service endpoint');
  const missing = await rawRequest(server, { method: 'GET', path: '/x', headers: vhost('no-such-bucket') });
  t.equal(missing.code, 'NoSuchBucket');
});

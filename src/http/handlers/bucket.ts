// Service- and bucket-level operations: ListBuckets, CreateBucket, HeadBucket,
// DeleteBucket, GetBucketLocation, GetBucketVersioning.
import { childText } from '../xml/parse.js';
import { bucketOf, type S3Context, type S3Handler } from '../context.js';
import { isoDate, sendXml } from '../response.js';
import { readXmlBody } from '../request-input.js';
import { checkAclHeaders } from './acl.js';
import { S3Error } from '../s3-errors.js';
import { integerParam, ownerFields } from './common.js';

const MAX_CONFIGURATION_BYTES = 64 * 1024;

export const listBuckets: S3Handler = async (context) => {
  const query = context.s3.query;
  const token = query.get('continuation-token');
  const prefix = query.get('prefix') ?? undefined;
  const limit = integerParam(context, 'max-buckets', { fallback: 10_000, min: 1, max: 10_000 });
  const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
  const { buckets, isTruncated } = await context.services.objects.listBuckets(context.auth.credentials.ownerId, {
    ...(after !== undefined ? { after } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    limit,
  });
  const last = buckets[buckets.length - 1];
  sendXml(context.reply, 'ListAllMyBucketsResult', {
    Owner: ownerFields(context),
    Buckets: { Bucket: buckets.map((bucket) => ({ Name: bucket.name, CreationDate: isoDate(bucket.createdMs), BucketRegion: bucket.region })) },
    ContinuationToken: isTruncated && last ? Buffer.from(last.name).toString('base64url') : undefined,
    Prefix: prefix,
  });
};

export const createBucket: S3Handler = async (context: S3Context) => {
  const bucket = bucketOf(context);
  checkAclHeaders(context);
  let region = context.services.region;
  const configuration = await readXmlBody(context, MAX_CONFIGURATION_BYTES);
  if (configuration) {
    if (configuration.name !== 'CreateBucketConfiguration') {
      throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const constraint = childText(configuration, 'LocationConstraint')?.trim();
    if (constraint) region = constraint;
  }
  await context.services.objects.createBucket(bucket, { region, owner: context.auth.credentials.ownerId });
  context.reply.status(200).header('location', `/${bucket}`).header('content-length', 0).send();
};

export const headBucket: S3Handler = async (context) => {
  const bucket = await context.services.objects.getBucket(bucketOf(context));
  context.reply.status(200).header('x-amz-bucket-region', bucket.region).header('content-length', 0).send();
};

export const deleteBucket: S3Handler = async (context) => {
  await context.services.objects.deleteBucket(bucketOf(context));
  context.reply.status(204).send();
};

export const getBucketLocation: S3Handler = async (context) => {
  const bucket = await context.services.objects.getBucket(bucketOf(context));
  // us-east-1 is reported as an empty LocationConstraint, as AWS does.
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    (bucket.region === 'us-east-1'
      ? '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
      : `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${bucket.region}</LocationConstraint>`);
  context.reply.status(200).header('content-type', 'application/xml').send(body);
};

export const getBucketVersioning: S3Handler = async (context) => {
  await context.services.objects.getBucket(bucketOf(context));
  // Versioning has never been enabled on any Strata bucket: no Status element.
  sendXml(context.reply, 'VersioningConfiguration', {});
};

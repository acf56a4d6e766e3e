// ACLs as AWS serves them with Object Ownership "BucketOwnerEnforced" (the
// default for new buckets since 2023): ACLs are disabled, the bucket owner owns
// and fully controls everything. Reading an ACL answers exactly that; setting
// one is accepted only when it grants nothing more (private /
// bucket-owner-full-control, or a policy granting the owner FULL_CONTROL),
// otherwise AccessControlListNotSupported.
import { escapeXml } from '../xml/build.js';
import { bucketOf, header, keyOf, type S3Context, type S3Handler } from '../context.js';
import { readXmlBody } from '../request-input.js';
import { S3Error } from '../s3-errors.js';
import { children, child, childText } from '../xml/parse.js';
import { checkVersionId } from './common.js';
import { sendXml } from '../response.js';

const ACCEPTED_CANNED = new Set(['private', 'bucket-owner-full-control']);
const MAX_ACL_BODY_BYTES = 64 * 1024;

function notSupported(): S3Error {
  return new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs');
}

/** Validates an x-amz-acl / x-amz-grant-* request header set on a write. */
export function checkAclHeaders(context: S3Context): void {
  const canned = header(context, 'x-amz-acl');
  if (canned !== undefined && !ACCEPTED_CANNED.has(canned.trim())) throw notSupported();
  for (const name of ['x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp']) {
    if (header(context, name) !== undefined) throw notSupported();
  }
  const fullControl = header(context, 'x-amz-grant-full-control');
  if (fullControl !== undefined && fullControl.trim() !== `id="${context.auth.credentials.ownerId}"` && fullControl.trim() !== `id=${context.auth.credentials.ownerId}`) {
    throw notSupported();
  }
}

function ownerOnlyPolicy(context: S3Context): string {
  const { ownerId, ownerDisplayName } = context.auth.credentials;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Owner><ID>${escapeXml(ownerId)}</ID><DisplayName>${escapeXml(ownerDisplayName)}</DisplayName></Owner>` +
    '<AccessControlList><Grant>' +
    '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">' +
    `<ID>${escapeXml(ownerId)}</ID><DisplayName>${escapeXml(ownerDisplayName)}</DisplayName></Grantee>` +
    '<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>'
  );
}

function sendPolicy(context: S3Context): void {
  const body = ownerOnlyPolicy(context);
  context.reply.status(200).header('content-type', 'application/xml').header('content-length', Buffer.byteLength(body)).send(body);
}

async function checkAclRequest(context: S3Context): Promise<void> {
  checkAclHeaders(context);
  const policy = await readXmlBody(context, MAX_ACL_BODY_BYTES);
  if (!policy) return;
  if (policy.name !== 'AccessControlPolicy') {
    throw new S3Error('MalformedACLError', 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  const list = child(policy, 'AccessControlList');
  const grants = list ? children(list, 'Grant') : [];
  const ownerOnly = grants.every((grant) => {
    const grantee = child(grant, 'Grantee');
    return (
      childText(grant, 'Permission')?.trim() === 'FULL_CONTROL' &&
      grantee !== undefined &&
      childText(grantee, 'ID')?.trim() === context.auth.credentials.ownerId
    );
  });
  if (!ownerOnly) throw notSupported();
}

export const getBucketAcl: S3Handler = async (context) => {
  await context.services.objects.getBucket(bucketOf(context));
  sendPolicy(context);
};

export const putBucketAcl: S3Handler = async (context) => {
  await context.services.objects.getBucket(bucketOf(context));
  await checkAclRequest(context);
  context.reply.status(200).header('content-length', 0).send();
};

export const getObjectAcl: S3Handler = async (context) => {
  checkVersionId(context);
  await context.services.objects.getObject({ bucket: bucketOf(context), key: keyOf(context), headOnly: true });
  sendPolicy(context);
};

export const putObjectAcl: S3Handler = async (context) => {
  checkVersionId(context);
  await context.services.objects.getObject({ bucket: bucketOf(context), key: keyOf(context), headOnly: true });
  await checkAclRequest(context);
  context.reply.status(200).header('content-length', 0).send();
};

export const getBucketOwnershipControls: S3Handler = async (context) => {
  await context.services.objects.getBucket(bucketOf(context));
  sendXml(context.reply, 'OwnershipControls', { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } });
};

// PutObject: stream the (decoded, verified) body into the object layer.
import { bucketOf, keyOf, type S3Handler } from '../context.js';
import { checksumHeaders, quoteEtag } from '../response.js';
import {
  openRequestBody,
  parseContentHeaders,
  parseStorageClass,
  parseUserMetadata,
  parseWritePrecondition,
} from '../request-input.js';
import { checkAclHeaders } from './acl.js';
import { MAX_OBJECT_SIZE_BYTES } from '../limits.js';

export const putObject: S3Handler = async (context) => {
  checkAclHeaders(context);
  const userMeta = parseUserMetadata(context);
  const headers = parseContentHeaders(context);
  const storageClass = parseStorageClass(context);
  const precondition = parseWritePrecondition(context);
  const body = openRequestBody(context, { maxSizeBytes: MAX_OBJECT_SIZE_BYTES });
  const object = await context.services.objects.putObject({
    bucket: bucketOf(context),
    key: keyOf(context),
    body: body.stream,
    ...(body.sizeBytes === undefined ? {} : { sizeBytes: body.sizeBytes }),
    headers,
    userMeta,
    integrity: body.integrity,
    ...(precondition ? { precondition } : {}),
    ...(storageClass ? { storageClass } : {}),
    owner: context.auth.credentials.ownerId,
  });
  context.reply
    .status(200)
    .headers({ etag: quoteEtag(object.etag), ...checksumHeaders(object.checksum) })
    .header('content-length', 0)
    .send();
};

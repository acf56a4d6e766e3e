// CopyObject: server-side copy with COPY/REPLACE metadata directives.
import { parseChecksumAlgorithm } from '../../object/checksums.js';
import { bucketOf, header, keyOf, type S3Handler } from '../context.js';
import { checksumFields, isoDate, quoteEtag, sendXml } from '../response.js';
import {
  parseContentHeaders,
  parseStorageClass,
  parseUserMetadata,
  parseWritePrecondition,
} from '../request-input.js';
import { checkAclHeaders } from './acl.js';
import { S3Error } from '../s3-errors.js';
import { parseCopySource } from './copy-source.js';

export const copyObject: S3Handler = async (context) => {
  const directive = (header(context, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive' });
  }
  checkAclHeaders(context);
  const source = parseCopySource(context, { allowRange: false });
  const checksumAlgorithm = parseChecksumAlgorithm(header(context, 'x-amz-checksum-algorithm'));
  const storageClass = parseStorageClass(context);
  const precondition = parseWritePrecondition(context);
  const { object } = await context.services.objects.copyObject({
    source,
    bucket: bucketOf(context),
    key: keyOf(context),
    metadataDirective: directive,
    headers: parseContentHeaders(context),
    userMeta: parseUserMetadata(context),
    ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
    ...(storageClass ? { storageClass } : {}),
    ...(precondition ? { precondition } : {}),
    owner: context.auth.credentials.ownerId,
  });
  sendXml(context.reply, 'CopyObjectResult', {
    ETag: quoteEtag(object.etag),
    LastModified: isoDate(object.lastModifiedMs),
    ...checksumFields(object.checksum),
  });
};

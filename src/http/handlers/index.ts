// The handler table: one entry per S3 operation the router can produce. The
// Record type makes a missing handler a compile error.
import type { S3HandlerTable } from '../context.js';
import { getBucketAcl, getBucketOwnershipControls, getObjectAcl, putBucketAcl, putObjectAcl } from './acl.js';
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './bucket.js';
import { copyObject } from './copy-object.js';
import { deleteObject, deleteObjects } from './delete-object.js';
import { getObject, getObjectAttributes, headObject } from './get-object.js';
import { listObjects, listObjectsV2, listObjectVersions } from './list-objects.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from './multipart.js';
import { putObject } from './put-object.js';

export const handlers: S3HandlerTable = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  ListObjectVersions: listObjectVersions,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  CopyObject: copyObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  GetObjectAttributes: getObjectAttributes,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  GetBucketAcl: getBucketAcl,
  PutBucketAcl: putBucketAcl,
  GetObjectAcl: getObjectAcl,
  PutObjectAcl: putObjectAcl,
  GetBucketOwnershipControls: getBucketOwnershipControls,
};

// Request limits of the HTTP layer, all in one place.
export const MAX_OBJECT_SIZE_BYTES = 5 * 1024 ** 3;
export const MAX_PART_SIZE_BYTES = 5 * 1024 ** 3;
/** CompleteMultipartUpload with 10,000 parts, each with a checksum, fits in 2 MiB. */
export const MAX_COMPLETE_BODY_BYTES = 2 * 1024 * 1024;
/** DeleteObjects with 1,000 keys of 1,024 bytes (escaped) fits in 2 MiB. */
export const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;
export const MAX_DELETE_KEYS = 1000;
/** Node's limit on the size of all request headers together. */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_URL_BYTES = 8 * 1024;

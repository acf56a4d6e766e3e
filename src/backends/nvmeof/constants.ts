// Wire constants of the NVMe/TCP transport binding and the NVMe / NVMe-oF command
// subset Strata speaks (see docs/nvmeof.md and the transport digest it cites).
// Everything on the wire is little-endian; "0's based" values are N-1.

/** PDU types (common header byte 0). 0x08 is unused by the binding. */
export const PduType = {
  ICReq: 0x00,
  ICResp: 0x01,
  H2CTermReq: 0x02,
  C2HTermReq: 0x03,
  CapsuleCmd: 0x04,
  CapsuleResp: 0x05,
  H2CData: 0x06,
  C2HData: 0x07,
  R2T: 0x09,
} as const;
export type PduTypeCode = (typeof PduType)[keyof typeof PduType];

/** Common-header FLAGS bits. */
export const PduFlag = {
  HDGST: 0x01,
  DDGST: 0x02,
  LAST_PDU: 0x04,
  SUCCESS: 0x08,
} as const;

/** Fixed header length (HLEN, without header digest) per PDU type. */
export const HEADER_LENGTH_BYTES: Record<PduTypeCode, number> = {
  [PduType.ICReq]: 128,
  [PduType.ICResp]: 128,
  [PduType.H2CTermReq]: 24,
  [PduType.C2HTermReq]: 24,
  [PduType.CapsuleCmd]: 72,
  [PduType.CapsuleResp]: 24,
  [PduType.H2CData]: 24,
  [PduType.C2HData]: 24,
  [PduType.R2T]: 24,
};

/** Which PDU types carry a header / data digest once negotiated (SPDK's tables; the binding agrees). */
export const HEADER_DIGEST_ALLOWED = new Set<number>([
  PduType.CapsuleCmd,
  PduType.CapsuleResp,
  PduType.H2CData,
  PduType.C2HData,
  PduType.R2T,
]);
export const DATA_DIGEST_ALLOWED = new Set<number>([PduType.CapsuleCmd, PduType.H2CData, PduType.C2HData]);

export const COMMON_HEADER_BYTES = 8;
export const DIGEST_BYTES = 4;
export const SQE_BYTES = 64;
export const CQE_BYTES = 16;
/** A TermReq carries at most 128 bytes of the offending header. */
export const TERM_REQ_MAX_DATA_BYTES = 128;
/** The binding's floor for MAXH2CDATA. */
export const MAXH2CDATA_MIN_BYTES = 4096;

/** Fatal error status (FES) of a TermReq. */
export const Fes = {
  InvalidHeaderField: 1,
  PduSequenceError: 2,
  HeaderDigestError: 3,
  DataOutOfRange: 4,
  DataLimitExceeded: 5,
  UnsupportedParameter: 6,
} as const;

/** SGL descriptor identifiers (type << 4 | subtype) used by NVMe/TCP. */
export const SglId = {
  /** Data Block, subtype Offset: data is in the capsule. */
  InCapsule: 0x01,
  /** Transport Data Block: data moves in R2T/H2CData or C2HData PDUs. */
  TransportDataBlock: 0x5a,
} as const;

/** SQE byte 1: PSDT = 01b (SGL for data), FUSE = 0. */
export const SQE_FLAGS_SGL = 0x40;

export const AdminOpcode = {
  GetLogPage: 0x02,
  Identify: 0x06,
  Abort: 0x08,
  SetFeatures: 0x09,
  GetFeatures: 0x0a,
  AsyncEventRequest: 0x0c,
  KeepAlive: 0x18,
  Fabrics: 0x7f,
} as const;

export const IoOpcode = {
  Flush: 0x00,
  Write: 0x01,
  Read: 0x02,
} as const;

/** Fabrics command type (SQE byte 4 of opcode 0x7F). */
export const FabricsType = {
  PropertySet: 0x00,
  Connect: 0x01,
  PropertyGet: 0x04,
  AuthenticationSend: 0x05,
  AuthenticationReceive: 0x06,
} as const;

/** Controller property offsets (the registers that Property Get/Set replace). */
export const Property = {
  CAP: 0x00,
  VS: 0x08,
  CC: 0x14,
  CSTS: 0x1c,
  NSSR: 0x20,
} as const;

export const IdentifyCns = {
  Namespace: 0x00,
  Controller: 0x01,
  ActiveNamespaceList: 0x02,
  NamespaceDescriptorList: 0x03,
  IoCommandSetController: 0x06,
} as const;

export const FeatureId = {
  Arbitration: 0x01,
  PowerManagement: 0x02,
  TemperatureThreshold: 0x04,
  ErrorRecovery: 0x05,
  VolatileWriteCache: 0x06,
  NumberOfQueues: 0x07,
  InterruptCoalescing: 0x08,
  AsyncEventConfiguration: 0x0b,
  KeepAliveTimer: 0x0f,
} as const;

export const LogPageId = {
  ErrorInformation: 0x01,
  SmartHealth: 0x02,
  FirmwareSlot: 0x03,
  ChangedNamespaceList: 0x04,
  CommandsSupportedEffects: 0x05,
  Discovery: 0x70,
} as const;

/** Status code types (CQE status bits 11:9). */
export const Sct = {
  Generic: 0,
  CommandSpecific: 1,
  MediaError: 2,
  Path: 3,
} as const;

/** Generic command status codes (SCT 0). */
export const GenericStatus = {
  Success: 0x00,
  InvalidOpcode: 0x01,
  InvalidField: 0x02,
  CommandIdConflict: 0x03,
  DataTransferError: 0x04,
  InternalError: 0x06,
  AbortedByRequest: 0x07,
  AbortedSqDeletion: 0x08,
  InvalidNamespaceOrFormat: 0x0b,
  CommandSequenceError: 0x0c,
  InvalidSglSegmentDescriptor: 0x0d,
  DataSglLengthInvalid: 0x0f,
  SglDescriptorTypeInvalid: 0x11,
  InvalidSglOffset: 0x16,
  KeepAliveExpired: 0x19,
  TransientTransportError: 0x22,
  LbaOutOfRange: 0x80,
  CapacityExceeded: 0x81,
  NamespaceNotReady: 0x82,
} as const;

/** Fabrics command-specific status codes (SCT 1). */
export const FabricsStatus = {
  IncompatibleFormat: 0x80,
  ControllerBusy: 0x81,
  ConnectInvalidParameters: 0x82,
  RestartDiscovery: 0x83,
  ConnectInvalidHost: 0x84,
} as const;

/** Well-known NQN of a discovery subsystem. */
export const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';
/** Connect CNTLID asking for a dynamic controller. */
export const CNTLID_DYNAMIC = 0xffff;
/** Conventional ports. */
export const NVME_TCP_PORT_DEFAULT = 4420;
export const NVME_DISCOVERY_PORT_DEFAULT = 8009;

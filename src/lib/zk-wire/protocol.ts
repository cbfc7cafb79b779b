// ZooKeeper's client protocol numbers, as ZooKeeper 3.8 defines them: operation codes, error codes,
// the reserved xids, watch event types and states, create modes and watcher types.

/** Request types (ZooDefs.OpCode). */
export const op_codes = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** Error codes (KeeperException.Code). */
export const err_codes = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  Throttled: -127,
} as const;

export type ErrName = keyof typeof err_codes;

/** The xids a client reserves: the server's notifications, pings, auth and the watches set after a reconnect. */
export const special_xids = { notification: -1, ping: -2, auth: -4, set_watches: -8 } as const;

/** Watch event types (Watcher.Event.EventType). */
export const event_types = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;

/** Connection states (Watcher.Event.KeeperState) a notification carries. */
export const keeper_states = { Disconnected: 0, SyncConnected: 3, AuthFailed: 4, ConnectedReadOnly: 5, Expired: -112, Closed: 7 } as const;

/** The flags of a create (CreateMode). */
export const create_modes = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
  container: 4,
  persistent_with_ttl: 5,
  persistent_sequential_with_ttl: 6,
} as const;

/** What a removeWatches or checkWatches names (WatcherType). */
export const watcher_types = { children: 1, data: 2, any: 3 } as const;

/** Permissions of an ACL entry: read 1, write 2, create 4, delete 8, admin 16; all 31. */
export const perms_all = 31;

/** ZooKeeper's jute.maxbuffer default: the largest frame a server reads (0xfffff bytes). */
export const frame_bytes_max = 0xfffff;

/** The version this protocol's handshake carries. */
export const protocol_version = 0;

/** A session password's length, as ZooKeeper's are. */
export const session_password_bytes = 16;

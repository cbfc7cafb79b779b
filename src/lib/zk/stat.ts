// A znode's stat, the one shape the Zab tree (src/systems/zab/core/tree.ts) keeps and the client
// (client.ts) receives: only how a zxid is written differs, so the fields are written once here.

/** A znode's stat, under ZooKeeper's field names; ZxidForm is how a zxid is written (the tree's pair, or the wire's "epoch:counter" text). */
export interface ZnodeStat<ZxidForm> {
  /** The zxid of the txn that created the znode. */
  czxid: ZxidForm;
  /** The zxid of the txn that last set its data (czxid until then). */
  mzxid: ZxidForm;
  /** The zxid of the txn that last created or deleted one of its children. */
  pzxid: ZxidForm;
  /** Leader time (ms) of the create and of the last set_data. */
  ctime: number;
  mtime: number;
  /** Changes to the data. */
  version: number;
  /** Changes to the ACL (ZooKeeper's aversion): each set_acl adds one, even one that sets the ACL the znode has. */
  aversion: number;
  /** In the tree: children ever created under this znode, which is also the next sequential suffix
   * under it (so a suffix only grows). Clients are shown creates plus deletes, as ZooKeeper reports it. */
  cversion: number;
  /** The session that owns an ephemeral znode; null for a persistent one. */
  ephemeralOwner: string | null;
  dataLength: number;
  numChildren: number;
  /** Present (true) on a container znode only, whose ephemeralOwner is null (ZooKeeper 3.6+ reports a
   * container's ephemeralOwner as 0x8000000000000000: a wire translator maps this flag onto that). */
  container?: true;
}

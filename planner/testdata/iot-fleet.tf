# MemoryDB db.t4g.medium × 2 shard(s) × 2 node(s)/shard = 4 nodes, $200/month (estimated price), bound by cpu
resource "aws_memorydb_cluster" "iot-fleet" {
  name                     = "iot-fleet"
  node_type                = "db.t4g.medium"
  num_shards               = 2
  num_replicas_per_shard   = 1
  engine                   = "valkey"
  tls_enabled              = true
  acl_name                 = "open-access"
  snapshot_retention_limit = 7
  data_tiering             = false
}

# MemoryDB db.t4g.medium × 5 shard(s) × 2 node(s)/shard = 10 nodes, $501/month (estimated price), bound by cpu
resource "aws_memorydb_cluster" "iot-fleet" {
  name                     = "iot-fleet"
  node_type                = "db.t4g.medium"
  num_shards               = 5
  num_replicas_per_shard   = 1
  engine                   = "valkey"
  tls_enabled              = true
  acl_name                 = "open-access"
  snapshot_retention_limit = 7
  data_tiering             = false
}

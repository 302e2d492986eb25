package loadgen

import "github.com/kvlab/kvlab/cluster"

// SlotCount is the number of hash slots of a Redis cluster.
const SlotCount = cluster.SlotCount

// Slot returns the cluster hash slot of key exactly as Redis's keyHashSlot computes it: CRC16-XMODEM mod
// 16384 of the whole key, or of the hash tag when the key holds one (package cluster, which has no
// dependency on kvlab's server, so the generator stays a plain RESP client).
func Slot(key []byte) int { return cluster.KeySlot(key) }

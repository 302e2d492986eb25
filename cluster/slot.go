// Package cluster holds what kvlab's Redis Cluster mode needs that is not the server itself: the hash slot
// of a key (CRC16-XMODEM mod 16384 with {hash tags}, exactly Redis's keyHashSlot) and the cluster topology
// (nodes, roles, slot ranges, epoch), kept in a JSON file that every node of a local cluster watches.
//
// The topology file plays the part of MemoryDB's managed control plane: `kvlab cluster up` writes it, nodes
// load it at start and reload it when it changes, and a failover or a reshard rewrites it under a file
// lock with a higher epoch. Nodes therefore share one host (or one file system); there is no gossip bus.
package cluster

// SlotCount is the number of hash slots of a Redis cluster.
const SlotCount = 16384

var crcTable [256]uint16

func init() {
	for i := range crcTable {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		crcTable[i] = crc
	}
}

// CRC16 is CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
func CRC16(b []byte) uint16 { return crc16(b) }

func crc16[K string | []byte](b K) uint16 {
	var crc uint16
	for i := 0; i < len(b); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^b[i]]
	}
	return crc
}

// KeySlot returns the hash slot of key: CRC16 of the key mod 16384, or of its hash tag when the key holds
// a non-empty {tag} (the bytes between the first '{' and the first '}' after it).
func KeySlot(key []byte) int { return keySlot(key) }

// KeySlotString is KeySlot for a string key (no conversion, no allocation).
func KeySlotString(key string) int { return keySlot(key) }

func keySlot[K string | []byte](key K) int {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j > i+1 {
					key = key[i+1 : j]
				}
				return int(crc16(key)) & (SlotCount - 1)
			}
		}
		break
	}
	return int(crc16(key)) & (SlotCount - 1)
}

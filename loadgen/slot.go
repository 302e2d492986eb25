package loadgen

// SlotCount is the number of hash slots of a Redis cluster.
const SlotCount = 16384

// crc16tab is the CRC16-XMODEM (CCITT, polynomial 0x1021, initial value 0) table Redis Cluster uses.
var crc16tab = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crc16tab[byte(c>>8)^x]
	}
	return c
}

// Slot returns the cluster hash slot of key exactly as Redis's keyHashSlot computes it: CRC16-XMODEM mod
// 16384 of the whole key, or of the hash tag when the key holds one (the bytes between the first '{' and
// the first '}' after it, when there is at least one byte between them).
func Slot(key []byte) int {
	for s := 0; s < len(key); s++ {
		if key[s] != '{' {
			continue
		}
		for e := s + 1; e < len(key); e++ {
			if key[e] == '}' {
				if e == s+1 {
					break // "{}": no tag, hash the whole key
				}
				return int(crc16(key[s+1:e]) & (SlotCount - 1))
			}
		}
		break
	}
	return int(crc16(key) & (SlotCount - 1))
}

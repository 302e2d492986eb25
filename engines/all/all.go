// Package all registers every storage engine; import it for its side effect.
package all

import (
	// Each engine registers itself by name in its init.
	_ "github.com/kvlab/kvlab/engines/memory"
	_ "github.com/kvlab/kvlab/engines/tiered"
	_ "github.com/kvlab/kvlab/engines/wal"
)

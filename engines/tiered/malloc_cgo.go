//go:build linux && cgo

package tiered

// Pebble allocates its block cache and memtables with C malloc, outside the Go heap (see tierCache): a
// 16 KB block for every cold read, freed when the cache drops it. glibc gives each thread that allocates an
// arena of its own, up to eight per core, and an arena keeps what is freed into it; Go runs goroutines on
// whichever thread is free, so over time every thread reads cold values and most arenas hold a few megabytes
// of blocks Pebble has already freed. In the tiering benchmark (12 MB of Pebble memory) glibc's arenas held
// 47-76 MiB of RSS, and more the longer the server ran; with one arena they hold 19-22 MiB, and the server's
// RSS was 578 MiB against 618-622 MiB at the same GET/s (three rounds of each, side by side). One arena has
// one lock, which a few thousand allocations a second share without measurable cost.
//
// The limit must be set before the Go runtime starts its threads, or the arenas they took first stay:
// set from a package initializer, after the runtime had started, it still left five arenas and 39 MiB in
// them. So a constructor sets it when the program is loaded, as MALLOC_ARENA_MAX=1 in the environment
// would. It applies to the whole process, whatever kvlab command runs (the rest of kvlab allocates almost
// nothing with malloc), and it leaves malloc alone when the operator sets MALLOC_ARENA_MAX or
// GLIBC_TUNABLES: their settings are glibc's to apply.

/*
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void kvlab_tiered_one_malloc_arena(void) {
	if (getenv("MALLOC_ARENA_MAX") == NULL && getenv("GLIBC_TUNABLES") == NULL) {
		mallopt(M_ARENA_MAX, 1);
	}
}

// kvlab_tiered_malloc_info returns malloc_info's XML report (one <heap> element per arena) in a buffer
// the caller frees, or NULL.
static char *kvlab_tiered_malloc_info(void) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return NULL;
	}
	int err = malloc_info(0, f);
	if (fclose(f) != 0 || err != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
*/
import "C"

import (
	"errors"
	"strings"
	"unsafe"
)

// mallocArenas returns how many arenas glibc's malloc has in this process, its main one included, as
// malloc_info reports them (one <heap> element each). TestOneMallocArena uses it to check that the
// constructor above ran.
func mallocArenas() (int, error) {
	p := C.kvlab_tiered_malloc_info()
	if p == nil {
		return 0, errors.New("tiered: malloc_info failed")
	}
	defer C.free(unsafe.Pointer(p))
	return strings.Count(C.GoString(p), "<heap nr="), nil
}

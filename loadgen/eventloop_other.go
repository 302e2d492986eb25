//go:build !linux

package loadgen

import (
	"context"
	"math/rand/v2"
)

// eventLoopOS reports whether this platform has the event-loop I/O mode (epoll): not this one.
const eventLoopOS = false

func (r *run) eventLoop(context.Context, *recorder, []*client, []int, *rand.Rand) {
	panic("loadgen: no event loop on this platform")
}

func (r *run) openEventLoop(context.Context, *recorder, []*client, []int, *rand.Rand) {
	panic("loadgen: no event loop on this platform")
}

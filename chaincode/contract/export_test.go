package contract

import "time"

// SetPeerClock replaces the endorsing peer's clock for a test; it returns the restore function.
func SetPeerClock(clock func() time.Time) func() {
	previous := peerClock
	peerClock = clock
	return func() { peerClock = previous }
}

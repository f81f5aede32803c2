package launch

import "runtime"

// SetRuntime gives Go's runtime the settings of a long-lived, mostly idle
// supervisor; run calls it first thing. docs/performance.md gives the
// measurements behind each setting and behind the defaults kept.
func SetRuntime() {
	// run has one goroutine forwarding the chaincode's output and one
	// waiting for the chaincode or a signal: one P is all it uses, and
	// every further P (one per CPU of the host by default) holds caches of
	// its own.
	runtime.GOMAXPROCS(1)
}

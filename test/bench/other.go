//go:build !linux

// Command bench needs Linux: it reads peak memory from /proc and times the
// programs as a Linux peer runs them.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: make bench runs on Linux only (it reads /proc and uses ptrace)")
	os.Exit(1)
}

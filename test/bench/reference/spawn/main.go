// Command spawn is the floor of the bench's start-up figure: a static Go
// program that starts its arguments as a process sharing its stderr and
// waits for it. Its exec to the child's exec is the least a Go launcher
// costs on this machine.
package main

import (
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stderr = os.Stderr
	if cmd.Run() != nil {
		os.Exit(1)
	}
}

// Command relay is the floor of the bench's log-forwarding figure: a
// static Go program that starts its arguments as a process writing into a
// pipe, as run starts the chaincode, and copies that pipe to its stderr in
// 64 KiB reads, with no line handling. It is the least a Go supervisor
// costs between the chaincode and the peer.
package main

import (
	"os"
	"os/exec"
)

func main() {
	pr, pw, err := os.Pipe()
	if err != nil {
		os.Exit(1)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = pw, pw
	if cmd.Start() != nil {
		os.Exit(1)
	}
	pw.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := pr.Read(buf)
		if n > 0 {
			os.Stderr.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	if cmd.Wait() != nil {
		os.Exit(1)
	}
}

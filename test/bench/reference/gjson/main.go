// Command gjson is a bench floor for detect: the least a Go program can do
// to read METADATA_DIR/metadata.json with gjson. It reads the file with bare
// system calls and checks no more than that "type" is there.
package main

import (
	"os"
	"syscall"

	"github.com/tidwall/gjson"
)

func main() {
	fd, err := syscall.Open(os.Args[2]+"/metadata.json", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Exit(1)
	}
	var buf [4096]byte
	n, err := syscall.Read(fd, buf[:])
	if err != nil || !gjson.GetBytes(buf[:n], "type").Exists() {
		os.Exit(1)
	}
}

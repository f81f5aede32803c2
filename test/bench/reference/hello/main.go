// Command hello is the chaincode of the bench's start-up figure: a static
// Go binary that writes one line to stderr and exits. The time from its
// exec to that line is the same whoever starts it, so the bench subtracts
// it out.
package main

import "os"

func main() { os.Stderr.Write([]byte("up\n")) }

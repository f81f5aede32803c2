// Command os is a bench floor: a Go program that imports os, as every
// program that reads a file does, and does nothing else.
package main

import "os"

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
}

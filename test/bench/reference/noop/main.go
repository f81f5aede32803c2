// Command noop is the bench's yardstick: a static Go binary that does
// nothing. Every timing is a ratio to it.
package main

func main() {}

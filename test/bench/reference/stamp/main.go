// Command stamp is the chaincode of the sandbox start-up figure: it prints
// the time it started running, "stamp <Unix nanoseconds>", on stderr and
// exits. Go's runtime start before main costs the same with and without
// the sandbox, so it drops out of the difference the bench reports.
package main

import (
	"os"
	"strconv"
	"time"
)

func main() {
	now := time.Now().UnixNano()
	os.Stderr.WriteString("stamp " + strconv.FormatInt(now, 10) + "\n")
}

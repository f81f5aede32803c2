// Command skips runs `go test -json` with the given arguments, prints what
// a plain `go test` prints, then lists every skipped test with its reason,
// so that a CI log shows what did not run. It exits non-zero when go test
// does or when any test or build failed. `make test` runs it.
//
//	go run ./test/skips -count=1 ./...
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	_, failed, sumErr := summarize(out, os.Stdout)
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code := exit.ExitCode()
		if code <= 0 { // killed by a signal
			code = 1
		}
		os.Exit(code)
	case err != nil:
		fail(err)
	case sumErr != nil:
		fail(sumErr)
	case failed:
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "skips:", err)
	os.Exit(1)
}

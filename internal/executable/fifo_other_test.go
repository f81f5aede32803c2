//go:build !unix

package executable

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs on this system") }

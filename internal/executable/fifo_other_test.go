//go:build !unix

package executable

import "errors"

func mkfifo(string) error    { return errors.New("no FIFOs on this system") }
func mknodNull(string) error { return errors.New("no devices on this system") }
func mksocket(string) error  { return errors.New("no unix sockets on this system") }

//go:build !linux

package sandbox

import (
	"errors"
	"os"
	"syscall"
)

// Landlock and the step exist on Linux only; run supports Linux only.

var errLinux = errors.New("the sandbox needs Linux")

type StartError struct{ Reason string }

func (e *StartError) Error() string { return "cannot be started: " + e.Reason }

type Step struct{ Pid int }

func ABI() int                                                          { return 0 }
func IsStep(args []string) bool                                         { return false }
func StepMain()                                                         { os.Exit(2) }
func Spawn(out *os.File) (*Step, error)                                 { return nil, errLinux }
func (s *Step) Start(p *Policy, cgroup string) error                    { return errLinux }
func (s *Step) Abort()                                                  {}
func (s *Step) Signal(sig syscall.Signal)                               {}
func (s *Step) Done() <-chan syscall.WaitStatus                         { return nil }
func BecomeSubreaper() error                                            { return errLinux }
func KillOrphans()                                                      {}
func IsCgroup2(dir string) bool                                         { return false }
func NewCgroup(parent, name string, memory, pids int64) (string, error) { return "", errLinux }
func JoinCgroup(dir string, pid int) error                              { return errLinux }
func RemoveCgroup(dir string) error                                     { return errLinux }
func SeccompSupported() bool                                            { return false }

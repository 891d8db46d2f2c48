//go:build windows

package ledger

import "syscall"

func childAsNobody() *syscall.SysProcAttr { return nil }

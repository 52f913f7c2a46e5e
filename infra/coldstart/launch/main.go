// Command launch is the bootstrap command the cold start harness gives the
// Runtime Interface Emulator: launch STAMP PROXY BOOTSTRAP writes the wall
// clock to STAMP, points the runtime API at PROXY and execs BOOTSTRAP. The
// init phase is then timed from the exec of the bootstrap itself (the
// emulator's own set-up and this program's start come before the stamp)
// to its first /next, which the harness's proxy sees.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: launch STAMP PROXY BOOTSTRAP")
		os.Exit(2)
	}
	stamp, proxy, bootstrap := os.Args[1], os.Args[2], os.Args[3]
	env := []string{"AWS_LAMBDA_RUNTIME_API=" + proxy}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_LAMBDA_RUNTIME_API=") {
			env = append(env, kv)
		}
	}
	// Opened first so that only one small write lies between the stamp and
	// the exec.
	f, err := os.OpenFile(stamp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fail(err)
	}
	if _, err := f.WriteString(strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
	fail(syscall.Exec(bootstrap, []string{bootstrap}, env))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "launch:", err)
	os.Exit(1)
}

// Package npm installs the Node packages that a folder of this repository
// pins (its package.json and package-lock.json) on first use, so that tests
// need no setup step beyond Node.js itself.
package npm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// ErrNoNPM is returned by CI when npm is not on PATH; callers say what to
// install, or what to use instead.
var ErrNoNPM = errors.New("npm is not on PATH")

// CI runs `npm ci` in dir unless dir/want (a path relative to dir, e.g. a
// file under node_modules) already exists. Concurrent callers, such as test
// binaries run in parallel, wait for one another on a lock file in dir, so
// only the first one installs.
func CI(dir, want string) error {
	want = filepath.Join(dir, want)
	if fileExists(want) {
		return nil
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if fileExists(want) { // another process installed it while we waited
		return nil
	}
	bin, err := exec.LookPath("npm")
	if err != nil {
		return ErrNoNPM
	}
	// --ignore-scripts: nothing pinned here needs an install script, and
	// none should run.
	cmd := exec.Command(bin, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	if !fileExists(want) {
		return fmt.Errorf("npm ci in %s did not install %s", dir, want)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Package chaos runs the operator against a misbehaving cloud while it is killed and restarted,
// and checks that nothing is lost and nothing is created twice.
package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	root     string
	operator string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("EVS_CHAOS") == "0" {
		fmt.Println("chaos: skipped, EVS_CHAOS=0")
		return 0
	}
	var err error
	if root, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "evs-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// A fresh build: the suite must never test a stale bin/evs-operator.
	operator = filepath.Join(dir, "evs-operator")
	build := exec.Command("go", "build", "-o", operator, ".")
	build.Dir, build.Stdout, build.Stderr = root, os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building the operator: %v\n", err)
		return 1
	}
	return m.Run()
}

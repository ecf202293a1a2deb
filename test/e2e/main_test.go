// Package e2e drives the operator as a user does: it starts the local stack (hack/local/up.sh, as
// `make local-up` does) with freshly built binaries in a temporary directory, uses it through the
// project's kubectl, and stops it again. Set EVS_E2E=0 to skip it.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bounds on the slow parts, so that a stuck step fails the test instead of the test binary's
// timeout killing it with the stack still running.
const (
	buildTimeout   = 5 * time.Minute
	stackTimeout   = 3 * time.Minute
	kubectlTimeout = 2 * time.Minute
)

var stack *localStack

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("EVS_E2E") == "0" {
		fmt.Println("e2e: skipped, EVS_E2E=0")
		return 0
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "e2e: KUBEBUILDER_ASSETS is not set: run 'make test' (or set EVS_E2E=0 to skip)")
		return 1
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// A directory of its own, so that a developer's stack in bin/local is left alone.
	dir, err := os.MkdirTemp("", "evs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	stack = &localStack{root: root, dir: dir, assets: assets}

	code := stack.run(m)
	if code == 0 {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: the stack's logs are kept in %s\n", dir)
	}
	return code
}

// localStack is the local stack the test runs in dir.
type localStack struct {
	root, dir, assets string
	simulatorURL      string
}

// run builds the binaries, starts the stack, runs the tests and stops the stack, and reports
// failure when any process of the stack is left.
func (s *localStack) run(m *testing.M) int {
	if err := s.build(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := 1
	if err := s.up(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	started := s.processes()
	if err := s.down(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = 1
	}
	if left := stillRunning(started); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: local-down left processes of the stack running: %v\n", left)
		code = 1
	}
	return code
}

// build compiles the operator and the simulator from this checkout, so the test never runs stale
// binaries from bin/.
func (s *localStack) build() error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	for bin, pkg := range map[string]string{"evs-operator": ".", "evs-simulator": "./hack/evs-simulator"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(s.dir, "bin", bin), pkg)
		cmd.Dir = s.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w\n%s", bin, err, out)
		}
	}
	return nil
}

// script runs one of the hack/local scripts against this stack.
func (s *localStack) script(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), stackTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "hack", "local", name))
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(),
		"LOCAL_DIR="+s.dir,
		"KUBEBUILDER_ASSETS_DIR="+s.assets,
		"OPERATOR_BIN="+filepath.Join(s.dir, "bin", "evs-operator"),
		"SIMULATOR_BIN="+filepath.Join(s.dir, "bin", "evs-simulator"),
	)
	// The stack's processes inherit no pipe from here, so the script's end is the output's end.
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("hack/local/%s: %w\n%s", name, err, out)
	}
	return nil
}

func (s *localStack) up() error {
	if err := s.script("up.sh"); err != nil {
		return err
	}
	env, err := readEnvFile(filepath.Join(s.dir, "env.sh"))
	if err != nil {
		return err
	}
	if s.simulatorURL = env["EVS_SIMULATOR_URL"]; s.simulatorURL == "" {
		return errors.New("env.sh exports no EVS_SIMULATOR_URL")
	}
	if env["KUBECONFIG"] != s.kubeconfig() {
		return fmt.Errorf("env.sh exports KUBECONFIG=%q, want %q", env["KUBECONFIG"], s.kubeconfig())
	}
	return nil
}

func (s *localStack) down() error { return s.script("down.sh") }

func (s *localStack) kubeconfig() string { return filepath.Join(s.dir, "kubeconfig") }

// process is one process of the stack as its pid file records it.
type process struct {
	name, exe string
	pid       string
}

// processes reads the pid files the scripts wrote.
func (s *localStack) processes() []process {
	var out []process
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.pid"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)
		if len(lines) == 2 {
			name := strings.TrimSuffix(filepath.Base(f), ".pid")
			out = append(out, process{name: name, pid: lines[0], exe: lines[1]})
		}
	}
	return out
}

// stillRunning returns the processes that still run the program they were started as (a zombie
// has exited and does not count).
func stillRunning(ps []process) []string {
	var left []string
	for _, p := range ps {
		out, err := exec.Command("ps", "-ww", "-o", "stat=,args=", "-p", p.pid).Output()
		if err != nil {
			continue // no such process
		}
		stat, args, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		if strings.HasPrefix(stat, "Z") || !strings.HasPrefix(strings.TrimSpace(args), p.exe) {
			continue
		}
		left = append(left, fmt.Sprintf("%s (pid %s)", p.name, p.pid))
	}
	return left
}

// readEnvFile reads the `export NAME=value` lines of env.sh.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		env[name] = strings.Trim(value, `"`)
	}
	return env, sc.Err()
}

// kubectl runs the project's kubectl against the stack, bounded by kubectlTimeout.
func kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(stack.assets, "kubectl"),
		append([]string{"--kubeconfig", stack.kubeconfig()}, args...)...)
	cmd.Dir = stack.root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestReadmeUsage runs every sh block of the README's "Using it" section, in order, against the
// local stack, so the README never tells a command that does not work.
func TestReadmeUsage(t *testing.T) {
	g := NewWithT(t)
	readme, err := os.ReadFile(filepath.Join(stack.root, "README.md"))
	g.Expect(err).NotTo(HaveOccurred())
	blocks := usageBlocks(string(readme))
	g.Expect(len(blocks)).To(BeNumerically(">=", 5), "sh blocks in the README's Using it section")

	for i, block := range blocks {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		script := "set -euo pipefail\nsource " + filepath.Join(stack.dir, "env.sh") + "\n" + block
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir = stack.root
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("README block %d failed: %v\n--- block\n%s\n--- output\n%s", i+1, err, block, out)
		}
		t.Logf("README block %d:\n%s", i+1, out)
	}
}

// usageBlocks returns the bodies of the ```sh blocks between "## Using it" and the next
// second-level heading.
func usageBlocks(readme string) []string {
	_, section, ok := strings.Cut(readme, "\n## Using it\n")
	if !ok {
		return nil
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "\n```sh\n")
		if !ok {
			return blocks
		}
		body, after, ok := strings.Cut(rest, "\n```\n")
		if !ok {
			return blocks
		}
		blocks = append(blocks, body)
		section = after
	}
}

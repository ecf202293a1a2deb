package v1alpha1

import (
	"fmt"
	"os"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// TestReadmeStateTableMatches keeps the README's copy of the state table true to the Go value.
func TestReadmeStateTableMatches(t *testing.T) {
	g := NewWithT(t)
	readme, err := os.ReadFile("../../README.md")
	g.Expect(err).NotTo(HaveOccurred())

	var want []string
	for _, r := range SnapshotStateTable {
		ops := make([]string, len(r.Allowed))
		for i, op := range r.Allowed {
			ops[i] = fmt.Sprintf("`%s`", op)
		}
		allowed := strings.Join(ops, ", ")
		if allowed == "" {
			allowed = "none"
		}
		want = append(want, fmt.Sprintf("| `%s` | `%s` | %s | %s |", r.Phase, r.CloudStatus, r.Meaning, allowed))
	}
	var got []string
	for line := range strings.SplitSeq(string(readme), "\n") {
		if strings.HasPrefix(line, "| `") && strings.Count(line, "|") == 5 {
			got = append(got, line)
		}
	}
	g.Expect(got).To(Equal(want))
}

// Package docblock keeps a generated block of a document (a README table
// made from the code) equal to what the code makes, for tests.
package docblock

import (
	"os"
	"strings"
	"testing"
)

// Check compares the block of the file at path between the lines
// "<!-- name:begin -->" and "<!-- name:end -->" with want. When they
// differ it rewrites the block if the environment variable env is set, and
// otherwise fails the test saying how to regenerate it (rerun names the
// command).
func Check(t testing.TB, path, name, want, env, rerun string) {
	t.Helper()
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q block", path, strings.TrimSpace(begin), end)
	}
	if doc[i+len(begin):j] == want {
		return
	}
	if os.Getenv(env) != "" {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the %s block differs from what the code makes: run %s=1 %s", path, name, env, rerun)
}
